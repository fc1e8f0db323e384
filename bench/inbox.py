"""The agent's main screen at scale: inbox list, ticket view and search.

Seeds TICKETS tickets with about ten messages each (100k / 1M by default) over several
accounts, one of them holding most of the data, with departments, agents, tags, contacts
and companies, subjects and bodies drawn from a word list. Rows are bulk-inserted (no
actions, no events), then the search index is built in bulk, then each measurement is
repeated and its p50/p95 printed in milliseconds:

- inbox list: the first 50 tickets an agent sees, newest activity first
  (``saruna.tickets.queries.visible_tickets``), and ``GET /inbox/`` through the test client;
- ticket view: ``queries.conversation`` of a ticket with 20 messages, and
  ``GET /tickets/<id>/``;
- search: ``saruna.search.search_tickets`` for several queries, as that agent and as the
  owner, and ``GET /inbox/?q=...``.

Uses its own throw-away database: an SQLite file in a temporary folder by default, a
PostgreSQL database ``test_saruna_bench`` (created and dropped) when DATABASE_URL is set.

    python bench/inbox.py [--tickets N] [--repeat N]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saruna python bench/inbox.py
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

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
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from saruna.accounts.models import User  # noqa: E402
from saruna.contacts.models import Company, Contact, ContactEmail  # noqa: E402
from saruna.core.heap import freeze_startup_objects  # noqa: E402
from saruna.core.ids import new_id  # noqa: E402
from saruna.core.models import Account, Plan  # noqa: E402
from saruna.search import in_order, search_tickets  # noqa: E402
from saruna.search.index import rebuild  # noqa: E402
from saruna.tickets.models import (  # noqa: E402
    Department,
    GroupType,
    Message,
    MessageGroup,
    MessageType,
    Status,
    Tag,
    Ticket,
    Visibility,
)
from saruna.tickets.queries import conversation, visible_tickets  # noqa: E402

BATCH = 2000
HIDDEN = (Status.DELETED, Status.SPAM)
# Share of the tickets in the big account; the rest is spread over SMALL_ACCOUNTS.
BIG_SHARE, SMALL_ACCOUNTS = 0.9, 9
DEPARTMENTS, AGENTS, TAGS = 6, 24, 12

def word_list(text: str) -> list[str]:
    return text.split()


TOPICS = word_list(
    "invoice payment refund card charge subscription plan upgrade downgrade billing receipt "
    "vat discount coupon price renewal cancel order delivery shipping parcel courier tracking "
    "delayed damaged return exchange warranty repair replacement printer toner scanner laptop "
    "router modem wifi network outage password login account locked reset email mailbox spam "
    "attachment calendar sync mobile app android iphone update crash error bug slow timeout "
    "export import report dashboard integration api webhook token permission access invite "
    "user seat license contract quote demo training onboarding migration backup restore "
    "database server certificate domain dns website checkout cart payment-method bank"
)
FILLER = word_list(
    "hello hi thanks thank you please could would can we i my our your the a an is are was "
    "not still again today yesterday tomorrow morning since when after before this that it "
    "works working problem issue question help need urgent asap kindly regards best wishes "
    "team support customer colleague manager office home week month order number attached "
    "screenshot see below above follow up status update soon possible time reply received"
)
FIRST = word_list("Anna Jānis Līga Pēteris Ilze Mārtiņš Elīna Kārlis Zane Andris Maria John Sarah")
LAST = word_list(
    "Bērziņa Kalniņš Ozoliņa Liepiņš Krūmiņa Jansons Vītola Balodis Smith Müller García Novák"
)
SUBJECT_SHAPES = (
    "Problem with {t} {t2}", "{T} not working", "Question about my {t}", "{T} {t2} request",
    "Re: {t} {t2}", "Urgent: {t} {t2} {t3}", "Cannot {t} after {t2}", "{T} for order {n}",
)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def timed(label: str, repeat: int, call) -> tuple[float, float]:
    call()  # warm: the first run pays for imports and template compilation
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - start) * 1000)
    p50, p95 = statistics.median(samples), percentile(samples, 0.95)
    print(f"{label:<52} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms", flush=True)
    return p50, p95


class Words:
    """Zipf-like draws: a few words are everywhere, most are rare, as in real text."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.topic_weights = [1 / (r + 1) for r in range(len(TOPICS))]

    def topic(self) -> str:
        return self.rng.choices(TOPICS, self.topic_weights)[0]

    def subject(self) -> str:
        shape = self.rng.choice(SUBJECT_SHAPES)
        t, t2, t3 = self.topic(), self.topic(), self.topic()
        return shape.format(t=t, t2=t2, t3=t3, T=t.capitalize(), n=self.rng.randint(1000, 99999))

    def body(self, signer: str) -> str:
        words = self.rng.choices(FILLER, k=self.rng.randint(12, 45))
        for _ in range(self.rng.randint(2, 6)):
            words.insert(self.rng.randrange(len(words)), self.topic())
        return " ".join(words).capitalize() + f".\n\n{signer}"


def seed(total: int, rng: random.Random) -> tuple[Account, User, User]:
    """Answers the big account, one of its agents and its owner."""
    words = Words(rng)
    plan = Plan.objects.create(code="bench", name="Bench", max_agents=1000)
    accounts = [
        Account.objects.create(slug=f"acct{i}", name=f"Account {i}", status="active", plan=plan)
        for i in range(SMALL_ACCOUNTS + 1)
    ]
    big = accounts[0]
    shares = [int(total * BIG_SHARE)] + [int(total * (1 - BIG_SHARE) / SMALL_ACCOUNTS)] * (
        SMALL_ACCOUNTS
    )
    now = datetime.now(UTC)
    for account, count in zip(accounts, shares, strict=True):
        seed_account(account, count, words, rng, now)
    agent = User.objects.get(account=big, email="agent1@acct0.test")
    owner = User.objects.get(account=big, email="owner@acct0.test")
    return big, agent, owner


def seed_account(
    account: Account, count: int, words: Words, rng: random.Random, now: datetime
) -> None:
    started = time.perf_counter()
    User.objects.create_user(f"owner@{account.slug}.test", "pw", account=account,
                             full_name="Olga Owner", role="owner")
    agents = [
        User.objects.create_user(f"agent{i}@{account.slug}.test", "pw", account=account,
                                 full_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                                 role="agent")
        for i in range(AGENTS)
    ]
    departments = Department.objects.bulk_create(
        Department(account=account, public_id="default" if i == 0 else new_id(),
                   name=f"Department {i}")
        for i in range(DEPARTMENTS)
    )
    for i, agent in enumerate(agents):  # each agent in two of the departments
        agent.departments.set([departments[i % DEPARTMENTS], departments[(i + 1) % DEPARTMENTS]])
    tags = Tag.objects.bulk_create(
        Tag(account=account, public_id=new_id(4), name=f"tag-{TOPICS[i]}") for i in range(TAGS)
    )
    companies = Company.objects.bulk_create(
        Company(account=account, public_id=new_id(), name=f"{rng.choice(LAST)} {suffix} {i}",
                system_name=f"{rng.choice(LAST)} {suffix} {i}")
        for i, suffix in enumerate(["SIA", "Ltd", "GmbH", "AS"] * max(1, count // 800))
    )
    contacts = []
    for i in range(max(10, count // 4)):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        contacts.append(Contact(
            account=account, public_id=new_id(), firstname=first, lastname=last,
            system_name=f"{first} {last}", company=rng.choice(companies) if i % 3 else None,
        ))
    contacts = Contact.objects.bulk_create(contacts, batch_size=BATCH)
    ContactEmail.objects.bulk_create(
        (ContactEmail(account=account, contact=c, email=f"c{c.pk}@example{c.pk % 97}.com",
                      normalized=f"c{c.pk}@example{c.pk % 97}.com")
         for c in contacts),
        batch_size=BATCH,
    )
    codes: set[str] = set()
    statuses = [Status.NEW, Status.OPEN, Status.ANSWERED, Status.RESOLVED, Status.CLOSED,
                Status.POSTPONED, Status.DELETED, Status.SPAM]
    status_weights = [8, 10, 25, 30, 20, 3, 3, 1]
    messages_made = 0
    for start in range(0, count, BATCH):
        tickets, sizes = [], []
        for i in range(start, min(count, start + BATCH)):
            created = now - timedelta(minutes=rng.randint(60, 60 * 24 * 730))
            size = 20 if i % 500 == 0 else rng.randint(1, 19)  # mean 10; some views of 20
            while (code := new_id(9).upper()) in codes:
                pass
            codes.add(code)
            last = created + timedelta(minutes=size * rng.randint(5, 600))
            tickets.append(Ticket(
                account=account, public_id=new_id(), code=f"{code[:3]}-{code[3:6]}-{code[6:]}",
                subject=words.subject(), owner=rng.choice(contacts),
                department=rng.choice(departments),
                agent=rng.choice(agents) if rng.random() < 0.6 else None,
                status=rng.choices(statuses, status_weights)[0], date_created=created,
                date_changed=last, last_activity=min(last, now),
                last_activity_public=min(last, now),
            ))
            sizes.append(size)
        with transaction.atomic():
            tickets = Ticket.objects.bulk_create(tickets)
            Ticket.tags.through.objects.bulk_create(
                Ticket.tags.through(ticket_id=t.pk, tag_id=tag.pk)
                for t in tickets for tag in rng.sample(tags, rng.randint(0, 2))
            )
            groups, texts = [], []
            for ticket, size in zip(tickets, sizes, strict=True):
                when = ticket.date_created
                for position in range(size):
                    note = position % 7 == 6
                    from_customer = position % 2 == 0 and not note
                    author = {"author_contact": ticket.owner} if from_customer else {
                        "author_user": rng.choice(agents)}
                    groups.append(MessageGroup(
                        account=account, ticket=ticket, datecreated=when, sort_order=position,
                        type=GroupType.INTERNAL if note else
                        GroupType.INCOMING_EMAIL if from_customer else GroupType.OUTGOING_EMAIL,
                        **author,
                    ))
                    signer = ticket.owner.system_name if from_customer else "Support team"
                    texts.append((words.body(signer), note, author, when))
                    when += timedelta(minutes=rng.randint(5, 600))
            groups = MessageGroup.objects.bulk_create(groups, batch_size=5000)
            Message.objects.bulk_create(
                (Message(account=account, group=group, body=text, text=text, datecreated=when,
                         type=MessageType.NOTE if note else MessageType.MESSAGE,
                         visibility=Visibility.INTERNAL if note else Visibility.PUBLIC,
                         **author)
                 for group, (text, note, author, when) in zip(groups, texts, strict=True)),
                batch_size=5000,
            )
            messages_made += len(groups)
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    with scope(account=account), transaction.atomic():
        rebuild(account)
    print(f"  {account.slug}: {count} tickets, {messages_made} messages, {len(contacts)} "
          f"contacts seeded in {seeded:.0f} s, indexed in {time.perf_counter() - started:.0f} s",
          flush=True)


def url(name: str, *args: str) -> str | None:
    try:
        return reverse(name, args=args, urlconf="saruna.urls_tenant")
    except NoReverseMatch:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if connection.vendor == "sqlite":  # a file, as in production, not an in-memory database
        settings.DATABASES["default"]["TEST"]["NAME"] = str(Path(VAR) / "bench.sqlite3")
    db_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    rng = random.Random(options.seed)
    print(f"database: {connection.vendor} ({db_name}); seeding {options.tickets} tickets",
          flush=True)
    try:
        with scopes_disabled():
            started = time.perf_counter()
            big, agent, owner = seed(options.tickets, rng)
            print(f"seeded and indexed in {time.perf_counter() - started:.0f} s", flush=True)
        with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum keeps
            cursor.execute("ANALYZE")
        measure(big, agent, owner, options.repeat)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)


def measure(big: Account, agent: User, owner: User, repeat: int) -> None:
    freeze_startup_objects()  # as the server's entry points do (saruna/core/heap.py)
    with scope(account=big):
        inbox = visible_tickets(agent).exclude(status__in=HIDDEN)
        print(f"big account: {Ticket.objects.count()} tickets; the agent sees "
              f"{inbox.count()} outside the trash")
        long_ones = list(
            inbox.annotate(n=Count("groups")).filter(n=20).order_by("-last_activity")[:20]
        )
        sample = long_ones[0]
        queries = [
            "invoice", "refund card", "prin", "berzina", "delivery delayed", "password reset",
            "cannot login", "wifi router outage", sample.owner_email, sample.code,
        ]
    print(f"ticket views: {len(long_ones)} tickets of 20 messages; searches: {queries}")

    def inbox_list(user: User):
        def run(i: int = 0) -> None:
            with scope(account=big):
                rows = list(
                    visible_tickets(user).exclude(status__in=HIDDEN)
                    .select_related("owner", "department", "agent")
                    .order_by("-last_activity", "-pk")[:50]
                )
                assert len(rows) == 50 and all(t.owner_name for t in rows)
        return run

    def ticket_view(i: int = 0) -> None:
        with scope(account=big):
            groups = list(conversation(long_ones[i % len(long_ones)]))
            assert sum(len(g.messages.all()) for g in groups) == 20

    def search(user: User | None):
        def run(i: int = 0) -> None:
            with scope(account=big):
                within = inbox if user is not None else None
                pks = search_tickets(big, queries[i % len(queries)], within=within)
                list(in_order(Ticket.objects.select_related("owner"), pks[:50]))
        return run

    print("\nqueries (saruna.tickets.queries, saruna.search)")
    timed("inbox list: first 50, agent", repeat, inbox_list(agent))
    timed("inbox list: first 50, owner (sees all)", repeat, inbox_list(owner))
    timed("ticket view: conversation of 20 messages", repeat, ticket_view)
    timed("search: 10 queries in turn, agent", repeat, search(agent))
    timed("search: 10 queries in turn, owner", repeat, search(None))

    inbox_url = url("inbox")
    if inbox_url is None:
        print("\n(no inbox view yet: HTTP skipped)")
        return
    client = Client(HTTP_HOST=big.host)
    client.force_login(agent)

    def get(path_of):
        def run(i: int = 0) -> None:
            response = client.get(path_of(i))
            assert response.status_code == 200, response.status_code
        return run

    print("\nHTTP through the whole stack (test client, logged-in agent)")
    timed("GET /inbox/", repeat, get(lambda i: inbox_url))
    detail = [url("ticket_detail", t.public_id) for t in long_ones]
    if detail[0] is not None:
        timed("GET /tickets/<id>/ (20 messages)", repeat, get(lambda i: detail[i % len(detail)]))
    timed("GET /inbox/?q=... (10 queries in turn)", repeat,
          get(lambda i: f"{inbox_url}?{urlencode({'q': queries[i % len(queries)]})}"))


if __name__ == "__main__":
    main()
