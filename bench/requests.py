"""Per-request cost of the foundation: host → account, scope, session, user, page.

Seeds ACCOUNTS accounts with USERS users each, then times REPEAT requests of each kind
through Django's full middleware stack (in-process test client, no network) and prints
p50/p95 in milliseconds. Uses its own throw-away database: SQLite by default, PostgreSQL
when DATABASE_URL is set (a database named ``saruna_bench`` is created and dropped).

    python bench/requests.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saruna python bench/requests.py
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ACCOUNTS, USERS, REPEAT = 200, 10, 300

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saruna.settings")
os.environ["SARUNA_VAR_DIR"] = tempfile.mkdtemp(prefix="saruna-bench-")
if os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/saruna_bench"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402

from saruna.accounts.models import User  # noqa: E402
from saruna.core.models import Account, Plan  # noqa: E402


def timed(label: str, call) -> None:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 400, (label, response.status_code)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{label:<44} p50 {statistics.median(samples):6.2f} ms   p95 {p95:6.2f} ms")


def main() -> None:
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    db_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    print(f"database: {connection.vendor} ({db_name}); {ACCOUNTS} accounts x {USERS} users")
    with scopes_disabled():
        plan = Plan.objects.create(code="bench", name="Bench", max_agents=50)
        accounts = Account.objects.bulk_create(
            Account(slug=f"acct{i}", name=f"Account {i}", status="active", plan=plan)
            for i in range(ACCOUNTS)
        )
        for account in accounts:
            for j in range(USERS):
                User.objects.create_user(f"user{j}@{account.slug}.test", "pw", account=account,
                                         full_name=f"User {j}", role="owner" if j == 0 else "agent")
        target = accounts[ACCOUNTS // 2]
        agent = User.objects.get(account=target, email=f"user1@{target.slug}.test")
    host = f"{target.slug}.{settings.SARUNA_BASE_DOMAIN}"
    client = Client(HTTP_HOST=host)
    client.force_login(agent)
    anonymous = Client(HTTP_HOST=host)
    public = Client(HTTP_HOST=settings.SARUNA_BASE_DOMAIN)

    timed("landing page (base domain)", lambda: public.get("/"))
    timed("account login page (anonymous)", lambda: anonymous.get("/login/"))
    timed("agent dashboard (logged in)", lambda: client.get("/"))
    timed("session list (logged in)", lambda: client.get("/sessions/"))
    connection.creation.destroy_test_db(db_name, verbosity=0)


if __name__ == "__main__":
    main()
