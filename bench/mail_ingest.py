"""Inbound mail at volume: receive → parse → ticket, one mail after the other.

Generates MAILS varied mails with Python's ``email`` package (plain text, HTML with a text
part, bodies in many charsets, attachments and inline images, replies threading onto earlier
tickets by Message-ID or by our reply address, the same mail delivered twice, out-of-office
answers, bounces) and, for each, times

- receiving: ``store_inbound`` as the SMTP and IMAP receivers call it (the raw mail stored and
  committed, the processing task queued), and
- processing: that task as a Huey worker runs it (parse, thread, contact, ticket, files).

The queue is in memory and the bench is its worker, so queued tasks never reach the
installation's Huey storage. Prints mails per second and p50/p95 per mail in milliseconds for
receiving, processing (per kind of mail too) and both, and parsing alone. Generating a mail is
not timed.

Uses its own throw-away database: an SQLite file in a temporary folder by default, a
PostgreSQL database ``test_saruna_mail_bench`` (created and dropped) when DATABASE_URL is set.

    python bench/mail_ingest.py [--mails N] [--profile [SORT]]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saruna python bench/mail_ingest.py

A Huey worker closes its database connection after each task unless connections are kept
(``SARUNA_DB_CONN_MAX_AGE`` seconds); compare both.
"""

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saruna.settings")
VAR = tempfile.mkdtemp(prefix="saruna-bench-")
os.environ["SARUNA_VAR_DIR"] = VAR
if os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/saruna_mail_bench"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402
from huey.contrib.djhuey import HUEY  # noqa: E402
from huey.storage import MemoryStorage  # noqa: E402

from saruna.accounts.models import User  # noqa: E402
from saruna.core.models import Account, Plan  # noqa: E402
from saruna.mail import tokens  # noqa: E402
from saruna.mail.models import InboundMail, Mailbox  # noqa: E402
from saruna.mail.parser import parse  # noqa: E402
from saruna.mail.receive import store_inbound  # noqa: E402
from saruna.tickets.actions import save_department  # noqa: E402
from saruna.tickets.models import MessageGroup, StoredFile, Ticket  # noqa: E402

WARM_UP = 20
CUSTOMERS = 1500
# Kind of mail → weight; replies need earlier tickets, duplicates earlier mails.
KINDS = {
    "plain": 30, "html": 22, "charset": 12, "attachment": 8, "inline image": 4,
    "reply by message-id": 10, "reply by token": 6, "duplicate": 4, "out of office": 2,
    "bounce": 2,
}
# A line in the charset, so the body really is in it, not ASCII labelled as such.
CHARSETS = {
    "iso-8859-1": "Grüße aus München, der Drucker ist kaputt. Ça ne marche pas.",
    "iso-8859-2": "Dzień dobry, proszę o fakturę. Děkuji, že jste odpověděli.",
    "windows-1257": "Labdien, rēķins vēl nav pienācis. Paldies, Jānis Bērziņš.",
    "windows-1251": "Здравствуйте, счёт ещё не пришёл. Спасибо.",
    "koi8-r": "Принтер не печатает после обновления.",
    "iso-2022-jp": "プリンターが動きません。よろしくお願いします。",
    "gb18030": "打印机坏了，请尽快帮忙处理。谢谢。",  # noqa: RUF001 (Chinese punctuation)
    "utf-8": "Sveiki 👋 — ūdens, žogs, šķērēs; naïve café.",
}
WORDS = str.split(
    "invoice payment refund card subscription upgrade delivery parcel tracking damaged return "
    "warranty printer router password login account export report integration access please "
    "thanks hello could you help urgent today yesterday still again after update error slow"
)
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * share) - 1)]


class Mails:
    """Makes the next mail of a random kind, remembering what later mails can refer to."""

    def __init__(self, account: Account, rng: random.Random) -> None:
        self.account, self.rng = account, rng
        self.to = f"support@{tokens.mail_domain(account)}"
        self.sent: list[tuple[str, str, str]] = []  # (sender, Message-ID, subject)
        self.raws: list[bytes] = []

    def sentence(self, low: int = 8, high: int = 40) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(low, high))).capitalize()

    def base(self, sender: str, subject: str, text: str, *, charset: str = "utf-8",
             message_id: str = "") -> EmailMessage:
        message = EmailMessage()
        message["From"] = f"Customer {sender.split('@')[0]} <{sender}>"
        message["To"] = self.to
        message["Subject"] = subject
        message["Date"] = format_datetime(django.utils.timezone.now())
        message["Message-ID"] = message_id or make_msgid(domain=sender.split("@")[1])
        message.set_content(text, charset=charset,
                            cte=self.rng.choice(["quoted-printable", "base64"])
                            if charset not in ("utf-8", "iso-2022-jp") else None)
        return message

    def next(self, kind: str) -> bytes:
        rng = self.rng
        sender = f"c{rng.randrange(CUSTOMERS)}@example{rng.randrange(50)}.com"
        subject = f"{rng.choice(WORDS).capitalize()} {self.sentence(2, 5).lower()}"
        text = f"Hello,\n\n{self.sentence()}.\n\n{self.sentence(4, 20)}.\n\nRegards\n"
        if kind == "duplicate":
            raw = rng.choice(self.raws)
            return raw if rng.random() < 0.6 else b"Received: by mx2.example.net\r\n" + raw
        if kind == "reply by message-id":
            sender, answered, earlier_subject = rng.choice(self.sent)
            message = self.base(sender, f"Re: {earlier_subject}", f"{text}\nOn Monday you "
                                f"wrote:\n> {self.sentence()}\n> {self.sentence()}\n")
            message["In-Reply-To"] = answered
            message["References"] = answered
        elif kind == "reply by token":
            ticket = Ticket.objects.order_by("?").values_list("public_id", "subject").first()
            assert ticket is not None
            message = self.base(sender, f"Re: {ticket[1]}", text)
            del message["To"]
            message["To"] = tokens.reply_address(self.account, ticket[0])
            message["In-Reply-To"] = tokens.new_message_id(self.account, ticket[0])
        elif kind == "charset":
            charset = rng.choice(list(CHARSETS))
            message = self.base(sender, subject, f"{CHARSETS[charset]}\n{text}",
                                charset=charset)
        elif kind == "out of office":
            message = self.base(sender, f"Out of office: {subject}",
                                "I am away until Monday with limited access to e-mail.")
            message["Auto-Submitted"] = "auto-replied"
        elif kind == "bounce":
            return self.bounce()
        else:
            message = self.base(sender, subject, text)
            if kind in ("html", "inline image"):
                paragraphs = "".join(f"<p>{self.sentence()}.</p>" for _ in range(3))
                message.add_alternative(
                    f"<html><body><div style='font-family: Arial'>{paragraphs}"
                    + ('<img src="cid:shot@bench">' if kind == "inline image" else "")
                    + "<script>alert(1)</script></div></body></html>", subtype="html")
                if kind == "inline image":
                    html_part = message.get_body(preferencelist=("html",))
                    assert html_part is not None
                    html_part.add_related(PNG, maintype="image", subtype="png",
                                          cid="<shot@bench>", filename="screenshot.png")
            if kind == "attachment":
                size = rng.randint(2_000, 40_000)
                message.add_attachment(rng.randbytes(size), maintype="application",
                                       subtype="pdf", filename=f"invoice-{size}.pdf")
        raw = message.as_bytes()
        if kind not in ("duplicate", "out of office"):
            self.sent.append((sender, str(message["Message-ID"]), str(message["Subject"])))
        self.raws.append(raw)
        return raw

    def bounce(self) -> bytes:
        ticket = Ticket.objects.order_by("?").values_list("public_id", flat=True).first()
        assert ticket is not None
        returned_id = tokens.new_message_id(self.account, ticket)
        return (
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
            f"To: {self.to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: {make_msgid(domain='mx.example.org')}\r\n"
            "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
            "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.org\r\n\r\n"
            "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
            "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: {self.to}\r\nTo: gone@example.org\r\nMessage-ID: {returned_id}\r\n"
            "Subject: Re: your question\r\n\r\n--B--\r\n"
        ).encode()


def setup_account() -> tuple[Account, Mailbox]:
    with scopes_disabled():
        plan = Plan.objects.create(code="bench", name="Bench", max_agents=100)
        account = Account.objects.create(slug="bench", name="Bench", status="active", plan=plan)
        User.objects.create_user("owner@bench.test", "pw", account=account, role="owner",
                                 full_name="Olga Owner")
    with scope(account=account):
        department = save_department(account, name="Support")
        mailbox = Mailbox.objects.create(account=account, name="Support", department=department,
                                         email="support@bench.test", forward_local_part="support")
    return account, mailbox


class Worker:
    """Receives mails and works off the queue in memory, timing both."""

    def __init__(self, account: Account, mailbox: Mailbox, profiler: cProfile.Profile | None):
        self.account, self.mailbox, self.profiler = account, mailbox, profiler
        self.cpu_seconds = 0.0  # of this process only, not the database server's
        HUEY.storage = MemoryStorage(HUEY.name)

    def receive(self, raw: bytes) -> float:
        started = time.perf_counter()
        store_inbound(self.account, raw, source=InboundMail.Source.SMTP, mailbox=self.mailbox,
                      envelope_to=[f"support@{tokens.mail_domain(self.account)}"])
        return time.perf_counter() - started

    def process(self) -> float:
        task = HUEY.dequeue()
        assert task is not None and HUEY.dequeue() is None
        started, cpu_started = time.perf_counter(), time.process_time()
        if self.profiler is not None:
            self.profiler.enable()
        HUEY.execute(task)
        # The worker closes its connection after a task unless connections are kept; the
        # next task opens one. Counted here, not in the next receive (another process).
        connection.ensure_connection()
        if self.profiler is not None:
            self.profiler.disable()
        self.cpu_seconds += time.process_time() - cpu_started
        return time.perf_counter() - started


def run(account: Account, mailbox: Mailbox, count: int, rng: random.Random,
        profiler: cProfile.Profile | None) -> None:
    mails, worker = Mails(account, rng), Worker(account, mailbox, None)
    kinds, weights = list(KINDS), list(KINDS.values())
    with scope(account=account):
        for _ in range(WARM_UP):  # imports, first queries, regex compilation
            worker.receive(mails.next("plain"))
            worker.process()
        worker.profiler, worker.cpu_seconds = profiler, 0.0
        received: list[float] = []
        processed: dict[str, list[float]] = defaultdict(list)
        raws: list[bytes] = []
        for _ in range(count):
            kind = rng.choices(kinds, weights)[0]
            raws.append(mails.next(kind))
            received.append(worker.receive(raws[-1]))
            processed[kind].append(worker.process())
        every = [t for times in processed.values() for t in times]
        print()
        line("receive (store + queue)", received)
        line("process (parse → ticket)", every)
        line("both", [a + b for a, b in zip(received, every, strict=True)])
        for kind, times in sorted(processed.items(), key=lambda item: -len(item[1])):
            line(f"  process: {kind}", times)
        print(f"{'process: CPU of this process':<34} {count / worker.cpu_seconds:7.0f} mails/s"
              "   (other work on the machine does not slow this one)")
        parse_rate = timed_parse(raws)
        receive_and_parse = 1 / (statistics.mean(received) + 1 / parse_rate)
        print(f"receive + parse: {receive_and_parse:.0f} mails/s")
        outcome(account)


def line(label: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(f"{label:<34} {len(ms) / sum(seconds):7.0f} mails/s   p50 {statistics.median(ms):6.2f} ms"
          f"   p95 {percentile(ms, 0.95):6.2f} ms   ({len(ms)} mails)")


def timed_parse(raws: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in raws:
        parse(raw)
    rate = len(raws) / (time.perf_counter() - started)
    print(f"{'parse alone':<34} {rate:7.0f} mails/s")
    return rate


def outcome(account: Account) -> None:
    states = Counter(InboundMail.objects.filter(account=account).values_list("state", flat=True))
    print(f"outcome: {dict(states)}; {Ticket.objects.count()} tickets, "
          f"{MessageGroup.objects.count()} message groups, {StoredFile.objects.count()} files")
    for error in InboundMail.objects.filter(state=InboundMail.State.FAILED).values_list(
        "error", flat=True
    )[:5]:
        print(f"  failed: {error.splitlines()[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", nargs="?", const="cumulative", metavar="SORT",
                        help="profile processing; print its 40 costliest functions by SORT")
    options = parser.parse_args()
    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = Path(VAR) / "files"
    if connection.vendor == "sqlite":  # a file, as in production, not an in-memory database
        settings.DATABASES["default"]["TEST"]["NAME"] = str(Path(VAR) / "bench.sqlite3")
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"database: {connection.vendor} ({db_name}), connections kept "
          f"{connection.settings_dict['CONN_MAX_AGE']} s (SARUNA_DB_CONN_MAX_AGE); cache: "
          f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; {options.mails} mails",
          flush=True)
    profiler = cProfile.Profile() if options.profile else None
    try:
        account, mailbox = setup_account()
        run(account, mailbox, options.mails, random.Random(options.seed), profiler)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)
    if profiler is not None:
        pstats.Stats(profiler).sort_stats(options.profile).print_stats(40)


if __name__ == "__main__":
    main()
