"""Visitor tracking throughput: page views from K simulated visitors against a running server.

Starts, one after the other on loopback, each server under test in a process of its own:

- ``hello``: a bare WSGI hello-world (the baseline) answering the same requests without
  reading them, served by uvicorn's WSGI interface;
- ``django``: Django's own ASGI handler without the tracking fast path (to show what the
  fast path saves);
- ``asgi``: Saruna as ``saruna serve`` runs it (uvicorn, ``saruna.asgi``), where
  ``saruna.visitors.fastpath`` answers beats before Django's request machinery;
- ``wsgi``: Saruna's WSGI application (``saruna.wsgi``, as production serves plain HTTP, with
  the same fast path), on the same uvicorn WSGI interface as the baseline, so the ratio
  compares like with like.

Beside the Saruna servers runs a Huey worker (``saruna run_huey``, 2 threads, as ``saruna
serve`` starts one and production runs them): the web process only answers and queues beats,
and hands each second's batch to the worker, which writes it.

Each run replays beats from K visitors (a page view, then heartbeats and further page views)
over CONNECTIONS keep-alive connections for SECONDS, and prints accepted events per second
and the p50/p99 latency. After each server stops, it waits for the worker to write what was
handed over and checks that every page view answered reached the database (and none that
was not sent). A single server process is stopped right after the load, so the check covers
the queue it hands over as it stops; with ``--workers N`` the bench first waits out a flush
interval, because uvicorn's worker processes end without handing their queues over.

Uses a throw-away SQLite database and var folder; with REDIS_URL set, the cache (the live
view) and Huey's queue are Redis as in production, else files and SQLite as ``saruna serve``
has them.

The load comes from ``wrk`` when it is installed (``apt-get install wrk``: a C load generator
that leaves the cores to the server), else from this script's own asyncio client, which
spends about as much CPU per request as the server it measures. ``--workers N`` serves with
N processes (uvicorn's ``--workers``), as a box with N cores would.

    python bench/tracking.py [--visitors 2000] [--connections 32] [--seconds 8] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = "bench.test"


def hello(environ, start_response):  # the baseline: nothing but an answer
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


WORKER_THREADS = 2  # as `saruna serve` starts its worker
DRAIN_SECONDS = 60  # the longest wait for the worker to write the last batches
FLUSH_SECONDS = 1  # SARUNA_TRACKING_FLUSH_SECONDS, the default the servers run with


def server_env(var: str) -> dict[str, str]:
    return {**os.environ, "SARUNA_VAR_DIR": var, "SARUNA_BASE_DOMAIN": BASE,
            "SARUNA_TRUST_X_FORWARDED_FOR": "1", "DJANGO_SETTINGS_MODULE": "saruna.settings",
            "PYTHONPATH": str(ROOT)}


def start_worker(var: str) -> subprocess.Popen:
    """The Huey consumer that writes the batches, with the settings `saruna serve` gives it."""
    command = [sys.executable, "-m", "saruna", "run_huey", "--workers", str(WORKER_THREADS),
               "--worker-type", "thread", "--quiet"]
    env = {**server_env(var), "SARUNA_DB_CONN_MAX_AGE": "60"}
    return subprocess.Popen(command, env=env, cwd=ROOT)


def start(kind: str, port: int, var: str, workers: int) -> subprocess.Popen:
    bench = ["--app-dir", str(ROOT / "bench")]
    target = {"hello": ["--interface", "wsgi", *bench, "tracking:hello"],
              "django": ["saruna.asgi:django_http"],
              "asgi": ["saruna.asgi:application"],
              "wsgi": ["--interface", "wsgi", "saruna.wsgi:application"]}[kind]
    command = [sys.executable, "-m", "uvicorn", *target, "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--lifespan", "off",
               "--no-access-log", "--workers", str(workers)]
    process = subprocess.Popen(command, env=server_env(var), cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{kind} server did not start")


class Beat:
    """One request: method, path, headers and body."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: str = "",
                 *, is_view: bool = False) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.is_view = is_view

    def raw(self) -> bytes:
        body = self.body.encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
        length = f"Content-Length: {len(body)}\r\n" if body else ""
        return f"{self.method} {self.path} HTTP/1.1\r\n{head}{length}\r\n".encode() + body


def requests_for(tokens: list[str], host: str) -> list[Beat]:
    """The beats in order: each visitor views a page, beats, views the next. Every server
    gets the same requests; the hello-world answers them without looking."""
    built = []
    for number, token in enumerate(tokens):
        ip = f"81.198.{number % 250}.{number % 200 + 1}"
        for step, event in enumerate(("view", "ping", "view", "ping")):
            body = json.dumps({
                "token": token, "event": event, "title": "Product",
                "url": f"https://shop.example/p/{number % 40}/{step // 2}?utm_source=news"
                       "&utm_medium=email",
                "referrer": "https://www.google.com/", "screen": "1920x1080", "lang": "lv",
                "tz": "Europe/Riga", "consent": {"tracking": True}})
            built.append(Beat("POST", "/widget/track/", {
                "Host": host, "Content-Type": "text/plain", "X-Forwarded-For": ip}, body,
                is_view=event == "view"))
    return built


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII is a valid Lua string


class Replayed:
    """What a replay did: answers, latency, and bounds on the page views the server took
    (those answered ≤ taken ≤ those sent: a request in flight at the end may have been)."""

    def __init__(self, accepted: int, refused: int, p50: float, p99: float,
                 views_answered: int, views_sent: int) -> None:
        self.accepted, self.refused, self.p50, self.p99 = accepted, refused, p50, p99
        self.views_answered, self.views_sent = views_answered, views_sent


def replay_wrk(port: int, beats: list[Beat], connections: int, seconds: float) -> Replayed:
    """The beats round-robin through wrk, which counts the requests and page views it sent."""
    lines = ["local beats = {"]
    for beat in beats:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}"
                            for k, v in beat.headers.items())
        view = "true" if beat.is_view else "false"
        lines.append(f"  {{{lua_string(beat.method)}, {lua_string(beat.path)}, {{{headers}}}, "
                     f"{lua_string(beat.body)}, {view}}},")
    lines += [
        "}",
        "local next_beat = 0",
        "local threads = {}",
        "function setup(thread)",
        "  thread:set('offset', math.random(#beats))",
        "  table.insert(threads, thread)",
        "end",
        "function init() next_beat = offset; sent = 0; views = 0 end",
        "function request()",
        "  next_beat = next_beat % #beats + 1",
        "  local b = beats[next_beat]",
        "  sent = sent + 1",
        "  if b[5] then views = views + 1 end",
        "  return wrk.format(b[1], b[2], b[3], b[4] ~= '' and b[4] or nil)",
        "end",
        "function done()",
        "  local total_sent, total_views = 0, 0",
        "  for _, thread in ipairs(threads) do",
        "    total_sent = total_sent + thread:get('sent')",
        "    total_views = total_views + thread:get('views')",
        "  end",
        "  io.write(string.format('sent %d views %d\\n', total_sent, total_views))",
        "end",
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines))
    threads = min(2, connections)
    result = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:.0f}s",
         "--latency", "-s", script.name, f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True)
    os.unlink(script.name)
    out = result.stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    total = int(re.search(r"(\d+) requests in", out).group(1))
    refused_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    refused = int(refused_match.group(1)) if refused_match else 0
    sent, views_sent = map(int, re.search(r"^sent (\d+) views (\d+)$", out, re.M).groups())
    # The answered requests that were page views: all sent but those still in flight.
    views_answered = views_sent - (sent - total)
    return Replayed(total - refused, refused, millis("50%"), millis("99%"), views_answered,
                    views_sent)


def replay(port: int, beats: list[Beat], connections: int, seconds: float) -> Replayed:
    """Sends the beats round-robin over keep-alive connections until ``seconds`` pass (with
    wrk when there is one)."""
    if shutil.which("wrk"):
        return replay_wrk(port, beats, connections, seconds)
    accepted, refused, views, latencies = asyncio.run(
        replay_asyncio(port, beats, connections, seconds))
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0
    return Replayed(accepted, refused, statistics.median(latencies) if latencies else 0, p99,
                    views, views)


async def replay_asyncio(port: int, beats: list[Beat], connections: int, seconds: float
                         ) -> tuple[int, int, int, list[float]]:
    requests = [(b.raw(), b.is_view) for b in beats]
    accepted = refused = views = 0
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    order = iter(range(10**9))

    async def connection() -> None:
        nonlocal accepted, refused, views
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < deadline:
                request, is_view = requests[next(order) % len(requests)]
                started = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                latencies.append((time.perf_counter() - started) * 1000)
                if status_line.split(b" ")[1] in (b"200", b"204"):
                    accepted += 1
                    views += is_view
                else:
                    refused += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return accepted, refused, views, latencies


def prepare(var: str, visitors: int) -> tuple[str, list[str]]:
    """Migrates the throw-away database and makes the account and the visitors' tokens."""
    os.environ.update(server_env(var))
    import django

    django.setup()
    from django.core.management import call_command
    from django_scopes import scopes_disabled

    from saruna.core.models import Account, Plan
    from saruna.visitors.identity import issue_visitor_token

    call_command("migrate", verbosity=0)
    with scopes_disabled():
        plan = Plan.objects.create(code="bench", name="Bench", max_agents=10)
        account = Account.objects.create(name="Shop", slug="shop", plan=plan,
                                         status=Account.Status.ACTIVE)
    return account.host, [issue_visitor_token(account) for _ in range(visitors)]


def stored_page_visits() -> int:
    from django_scopes import scopes_disabled

    from saruna.visitors.models import PageVisit

    with scopes_disabled():
        return PageVisit.objects.count()


def written_after_drain(before: int, at_least: int) -> int:
    """Page visits written since ``before`` once the worker is done with the batches handed
    over: at least ``at_least`` and unchanged for a second, or after DRAIN_SECONDS."""
    deadline = time.monotonic() + DRAIN_SECONDS
    written, steady_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = stored_page_visits() - before
        if now != written:
            written, steady_since = now, time.monotonic()
        elif written >= at_least and time.monotonic() - steady_since >= 1:
            break
        time.sleep(0.2)
    return written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--workers", type=int, default=1, help="web server processes")
    options = parser.parse_args()
    var = tempfile.mkdtemp(prefix="saruna-bench-")
    host, tokens = prepare(var, options.visitors)
    print(f"{options.visitors} visitors, {options.connections} connections, "
          f"{options.seconds:.0f} s per server, {options.workers} web process(es) and a Huey "
          f"worker ({WORKER_THREADS} threads) writing the batches; load from "
          f"{'wrk' if shutil.which('wrk') else 'asyncio'}; cache and queue: "
          f"{'Redis' if os.environ.get('REDIS_URL') else 'files and SQLite (saruna serve default)'}"
          f"; load average {os.getloadavg()[0]:.2f}")
    rates = {}
    kinds = ("hello", "django", "asgi", "wsgi")
    worker = start_worker(var)
    missing = False
    try:
        for kind in kinds:
            port = free_port()
            before = stored_page_visits()
            server = start(kind, port, var, options.workers)
            try:
                beats = requests_for(tokens, host)
                warm = replay(port, beats[:200], 4, 1)
                run = replay(port, beats, options.connections, options.seconds)
                if options.workers > 1:
                    # uvicorn ends its worker processes with a SIGTERM that skips what
                    # would hand their queues over (docs/visitors.md): let the flushers do it.
                    time.sleep(FLUSH_SECONDS + 0.5)
            finally:
                server.terminate()  # one process hands its queued beats over as it stops
                server.wait(timeout=10)
            rates[kind] = run.accepted / options.seconds
            note = ""
            if kind != "hello":
                least = warm.views_answered + run.views_answered
                most = warm.views_sent + run.views_sent
                written = written_after_drain(before, least)
                complete = least <= written <= most
                missing |= not complete
                note = (f"  page views written: {written} (answered {least}, sent {most}: "
                        f"{'all there' if complete else 'MISSING'})")
            print(f"{kind:<9} {rates[kind]:8.0f} events/s  p50 {run.p50:6.2f} ms"
                  f"  p99 {run.p99:6.2f} ms  refused {run.refused}{note}", flush=True)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=30)
    for kind in kinds[1:]:
        print(f"{kind} / hello-world: {rates[kind] / rates['hello']:.2f}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    if missing:
        sys.exit("Some page views did not reach the database.")


if __name__ == "__main__":
    main()
