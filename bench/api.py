"""The REST API at scale: ``GET /api/v3/tickets`` on an account with many tickets.

Seeds TICKETS tickets (100k by default) into one account, plus a tenth as many into a second
account (so every query has to keep to its tenant), with departments, agents, tags, contacts
and each ticket's first history period. Rows are bulk-inserted; tickets get no messages (the
list does not read them). Then, through the whole stack (middleware, key check, rate limit,
ninja, serializing) with Django's test client and an ``apikey`` header, each request is
repeated and its p50/p95 printed in milliseconds:

- ``GET /api/v3/tickets?_perPage=100`` (LiveAgent's default order, ``date_created`` ascending),
  page 1 and a deep page;
- ``_filters`` queries: status and a date range, newest change first; tags (``CY``); a subject
  pattern (``LIKE``);
- ``GET /api/v3/tickets/history`` with a cursor, 100 rows a page.

Uses its own throw-away database: an SQLite file in a temporary folder by default, a
PostgreSQL database ``test_saruna_bench`` (created and dropped) when DATABASE_URL is set.

    python bench/api.py [--tickets N] [--repeat N]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saruna python bench/api.py
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saruna.settings")
VAR = tempfile.mkdtemp(prefix="saruna-bench-")
os.environ["SARUNA_VAR_DIR"] = VAR
if os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/saruna_bench"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from saruna.accounts.models import User  # noqa: E402
from saruna.api.actions import create_api_key  # noqa: E402
from saruna.api.v3.tickets import TICKET_ROW  # noqa: E402
from saruna.contacts.models import Contact, ContactEmail  # noqa: E402
from saruna.core.heap import freeze_startup_objects  # noqa: E402
from saruna.core.ids import new_id  # noqa: E402
from saruna.core.models import Account, Plan  # noqa: E402
from saruna.tickets.models import Department, Status, Tag, Ticket, TicketHistory  # noqa: E402

BATCH = 5000
DEPARTMENTS, AGENTS, TAGS = 6, 24, 12
TOPICS = ("invoice", "refund", "login", "password", "delivery", "printer", "router", "export")
STATUSES = [Status.NEW, Status.OPEN, Status.ANSWERED, Status.RESOLVED, Status.CLOSED,
            Status.POSTPONED, Status.DELETED, Status.SPAM]
STATUS_WEIGHTS = [8, 10, 25, 30, 20, 3, 3, 1]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def timed(label: str, repeat: int, call) -> tuple[float, float]:
    call(0)  # warm
    samples, cpu, database = [], [], []
    in_queries = [0.0]

    def clocked(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_queries[0] += time.perf_counter() - started

    for i in range(repeat):
        in_queries[0] = 0.0
        start, start_cpu = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(clocked):
            call(i)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        database.append(in_queries[0] * 1000)
    p50, p95 = statistics.median(samples), percentile(samples, 0.95)
    # Where the time goes: this process's CPU, and waiting for the database's answers. On a
    # busy machine the wall clock also counts the waits for a core: the load average (one
    # minute) at the end of the measurement tells how busy it was.
    print(f"{label:<60} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   "
          f"(CPU p50 {statistics.median(cpu):6.2f} ms, in queries p50 "
          f"{statistics.median(database):6.2f} ms, load {os.getloadavg()[0]:.2f})", flush=True)
    return p50, p95


def seed_account(account: Account, count: int, rng: random.Random, now: datetime) -> None:
    started = time.perf_counter()
    User.objects.create_user(f"owner@{account.slug}.test", "pw", account=account,
                             full_name="Olga Owner", role="owner")
    agents = [
        User.objects.create_user(f"agent{i}@{account.slug}.test", "pw", account=account,
                                 full_name=f"Agent {i}", role="agent")
        for i in range(AGENTS)
    ]
    departments = Department.objects.bulk_create(
        Department(account=account, public_id="default" if i == 0 else new_id(),
                   name=f"Department {i}")
        for i in range(DEPARTMENTS)
    )
    tags = Tag.objects.bulk_create(
        Tag(account=account, public_id=new_id(4), name=f"tag-{i}") for i in range(TAGS)
    )
    contacts = Contact.objects.bulk_create(
        (Contact(account=account, public_id=new_id(), firstname=f"First{i}",
                 lastname=f"Last{i}", system_name=f"First{i} Last{i}")
         for i in range(max(10, count // 4))),
        batch_size=BATCH,
    )
    ContactEmail.objects.bulk_create(
        (ContactEmail(account=account, contact=c, email=f"c{c.pk}@example.com",
                      normalized=f"c{c.pk}@example.com") for c in contacts),
        batch_size=BATCH,
    )
    codes: set[str] = set()
    for start in range(0, count, BATCH):
        tickets = []
        for _i in range(start, min(count, start + BATCH)):
            created = now - timedelta(minutes=rng.randint(60, 60 * 24 * 730))
            changed = created + timedelta(minutes=rng.randint(5, 6000))
            while (code := new_id(9).upper()) in codes:
                pass
            codes.add(code)
            tickets.append(Ticket(
                account=account, public_id=new_id(), code=f"{code[:3]}-{code[3:6]}-{code[6:]}",
                subject=f"Question about {rng.choice(TOPICS)} {rng.randint(1, 99999)}",
                owner=rng.choice(contacts), department=rng.choice(departments),
                agent=rng.choice(agents) if rng.random() < 0.6 else None,
                status=rng.choices(STATUSES, STATUS_WEIGHTS)[0], date_created=created,
                date_changed=min(changed, now), last_activity=min(changed, now),
                last_activity_public=min(changed, now),
            ))
        with transaction.atomic():
            tickets = Ticket.objects.bulk_create(tickets)
            Ticket.tags.through.objects.bulk_create(
                Ticket.tags.through(ticket_id=t.pk, tag_id=tag.pk)
                for t in tickets for tag in rng.sample(tags, rng.randint(0, 2))
            )
            TicketHistory.objects.bulk_create(
                TicketHistory(account=account, ticket=t, department=t.department, agent=t.agent,
                              status=t.status, date_from=t.date_created)
                for t in tickets
            )
    print(f"  {account.slug}: {count} tickets seeded in {time.perf_counter() - started:.0f} s",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SARUNA_API_RATE_LIMIT = 10**9  # measuring the API, not its limit
    if connection.vendor == "sqlite":  # a file, as in production, not an in-memory database
        settings.DATABASES["default"]["TEST"]["NAME"] = str(Path(VAR) / "bench.sqlite3")
    db_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    rng = random.Random(options.seed)
    print(f"database: {connection.vendor} ({db_name}); seeding {options.tickets} tickets",
          flush=True)
    try:
        now = datetime.now(UTC)
        with scopes_disabled():
            plan = Plan.objects.create(code="bench", name="Bench", max_agents=1000)
            big = Account.objects.create(slug="big", name="Big", status="active", plan=plan)
            other = Account.objects.create(slug="other", name="Other", status="active",
                                           plan=plan)
            seed_account(big, options.tickets, rng, now)
            seed_account(other, options.tickets // 10, rng, now)
        with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum keeps
            cursor.execute("ANALYZE")
        measure(big, options.repeat)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)


def measure(big: Account, repeat: int) -> None:
    freeze_startup_objects()  # as the server's entry points do (saruna/core/heap.py)
    with scope(account=big):
        owner = User.objects.get(role="owner")
        _key, secret = create_api_key(big, name="Bench", user=owner)
        tag_ids = list(Tag.objects.values_list("public_id", flat=True)[:3])
        total = Ticket.objects.count()
    client = Client(HTTP_HOST=big.host, HTTP_APIKEY=secret)
    month_ago = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")
    print(f"account {big.slug}: {total} tickets\n")
    if connection.vendor == "postgresql" and os.environ.get("SARUNA_BENCH_EXPLAIN"):
        with scope(account=big):  # the list's query: the page chosen, then its rows read
            first_page = Ticket.objects.order_by("date_created", "pk")[:100].values("pk")
            plan = (Ticket.objects.filter(pk__in=first_page).order_by("date_created", "pk")
                    .values(*TICKET_ROW).explain(analyze=True))
        print(plan, "\n")

    def get(params_of, rows: int | None = None):
        def run(i: int) -> None:
            response = client.get("/api/v3/tickets", params_of(i))
            assert response.status_code == 200, response.content[:200]
            if rows is not None:
                assert len(response.json()) == rows
        return run

    timed("GET /tickets?_perPage=100", repeat, get(lambda i: {"_perPage": 100}, 100))
    if os.environ.get("SARUNA_BENCH_PROFILE"):
        import cProfile

        cProfile.runctx("for i in range(20): run(i)", {"run": get(lambda i: {"_perPage": 100})},
                        {}, sort="cumulative")
    middle = max(1, total // 200)
    timed(f"GET /tickets?_perPage=100&_page={middle} (half-way)", repeat,
          get(lambda i: {"_perPage": 100, "_page": middle}, 100))
    status_and_date = json.dumps([["status", "IN", "N,C,A"], ["date_changed", ">=", month_ago]])
    timed("_filters status IN N,C,A + date_changed >= (30 days), DESC", repeat,
          get(lambda i: {"_perPage": 100, "_filters": status_and_date,
                         "_sortField": "date_changed", "_sortDir": "DESC"}))
    timed("_filters tags CY (one of 3 tags), 100 rows", repeat,
          get(lambda i: {"_perPage": 100,
                         "_filters": json.dumps([["tags", "CY", ",".join(tag_ids)]])}, 100))
    timed("_filters subject LIKE %refund%, 100 rows", repeat,
          get(lambda i: {"_perPage": 100,
                         "_filters": json.dumps([["subject", "LIKE", "%refund%"]])}, 100))

    cursors: list[str | None] = [None]

    def history(i: int) -> None:
        params = {"_perPage": 100}
        if cursors[-1]:
            params["_cursor"] = cursors[-1]
        response = client.get("/api/v3/tickets/history", params)
        assert response.status_code == 200, response.content[:200]
        cursors.append(response.get("next_page_cursor"))

    timed("GET /tickets/history, 100 rows, following the cursor", repeat, history)


if __name__ == "__main__":
    main()
