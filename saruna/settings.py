"""Saruna settings: everything an operator changes comes from environment variables.

The README's configuration table lists every variable read here.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("SARUNA_VAR_DIR", Path.cwd() / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The SECRET_KEY from the environment, or one generated once and kept under var/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_flag("SARUNA_DEBUG")
TESTING = env_flag("SARUNA_TESTING")

# --- Hosts: the base domain serves the provider's site, <slug>.<base> serves an account.
SARUNA_BASE_DOMAIN = os.environ.get("SARUNA_BASE_DOMAIN", "localhost").lower().strip(".")
SARUNA_PUBLIC_SCHEME = os.environ.get("SARUNA_PUBLIC_SCHEME", "http")
# The port that appears in links we send (e-mails, redirects); empty for 80/443 behind a proxy.
SARUNA_PUBLIC_PORT = os.environ.get("SARUNA_PUBLIC_PORT", "8000")
ALLOWED_HOSTS = [SARUNA_BASE_DOMAIN, "." + SARUNA_BASE_DOMAIN]
if SARUNA_PUBLIC_SCHEME == "https":
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind a reverse proxy, the client address comes from X-Forwarded-For (set by the proxy).
SARUNA_TRUST_X_FORWARDED_FOR = env_flag("SARUNA_TRUST_X_FORWARDED_FOR")

INSTALLED_APPS = [
    # First, so that its commands (createsuperuser) and templates (admin) override Django's.
    "saruna.core",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",  # the API docs page's templates and Swagger UI assets, served locally
    "channels",
    "huey.contrib.djhuey",
    "saruna.accounts",
    "saruna.contacts",
    "saruna.tickets",
    "saruna.search",
    "saruna.contactforms",
    "saruna.portal",
    "saruna.mail",
    "saruna.billing",
    "saruna.visitors",
    "saruna.chat",
    "saruna.api",
    "saruna.webhooks",
    "saruna.sla",
    "saruna.web",
    "saruna.realtime",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "saruna.core.middleware.TenantMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "saruna.accounts.middleware.AccountAccessMiddleware",
    "saruna.accounts.middleware.SuspendedAccountMiddleware",
    "saruna.accounts.session_middleware.SessionTrackingMiddleware",
    "saruna.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "saruna.urls_public"
SARUNA_TENANT_URLCONF = "saruna.urls_tenant"
WSGI_APPLICATION = "saruna.wsgi.application"
ASGI_APPLICATION = "saruna.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "saruna.web.context_processors.saruna",
            ],
        },
    },
]

# --- Database: SQLite (WAL) under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'saruna.sqlite3'}",
        conn_max_age=int(os.environ.get("SARUNA_DB_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server and the worker read while one of them writes;
        # IMMEDIATE transactions take the write lock up front instead of failing mid-way.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: when set, the channel layer, Huey and the cache all use it.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: an event is one PUBLISH, and each process reads what its sockets
            # subscribed to on one connection. The list-based RedisChannelLayer spent some ten
            # Redis round trips per chat message on its queues (p50 18 ms, p99 700 ms with a
            # thousand chats: docs/performance.md). Events are not kept for a socket that is
            # not connected, which the chat never relied on: a socket catches up by seq.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # Parallel test workers share one Redis: each gets its own prefix.
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": "saruna:channels" + os.environ.get("PYTEST_XDIST_WORKER", ""),
            },
        }
    }
    CACHES: dict[str, dict[str, object]] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "saruna" + os.environ.get("PYTEST_XDIST_WORKER", ""),
        }
    }
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "saruna",
        "url": REDIS_URL,
        "immediate": TESTING,
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "saruna.realtime.layers.SingleProcessChannelLayer"}}
    CACHES = {
        "default": {
            # Shared by the web server and the worker processes, unlike the per-process LocMemCache.
            "BACKEND": "saruna.core.cache.SharedFileCache",
            "LOCATION": str(VAR_DIR / "cache"),
            # The visitor map keeps a key per online visitor: the default 300 would drop them.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "saruna",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": TESTING,
    }
if TESTING and not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                          "OPTIONS": {"MAX_ENTRIES": 100_000}}}

# --- Auth
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["saruna.accounts.backends.AccountEmailBackend"]
SILENCED_SYSTEM_CHECKS = [
    # E-mails are unique per account (and among provider staff), not across the installation;
    # the backend above looks users up inside the active account.
    "auth.W004",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
SESSION_COOKIE_AGE = 14 * 24 * 3600
PASSWORD_RESET_TIMEOUT = 24 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- i18n
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("lv", _("Latvian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static and uploaded files
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "files"

# --- Outbound e-mail: console in development, SMTP in production (SARUNA_EMAIL_BACKEND=smtp).
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "memory": "django.core.mail.backends.locmem.EmailBackend",
}
EMAIL_BACKEND = _EMAIL_BACKENDS[os.environ.get("SARUNA_EMAIL_BACKEND", "console")]
if TESTING:
    EMAIL_BACKEND = _EMAIL_BACKENDS["memory"]
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_flag("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_flag("EMAIL_USE_SSL")
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get(
    "SARUNA_FROM_EMAIL", f"Saruna <no-reply@{SARUNA_BASE_DOMAIN}>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Inbound e-mail (saruna.mail)
# Larger mails are refused with a polite bounce (SMTP 552) or skipped on IMAP with an error.
SARUNA_MAIL_MAX_BYTES = int(os.environ.get("SARUNA_MAIL_MAX_BYTES", str(25 * 1024 * 1024)))
# Saruna's own SMTP server for forwarding addresses <anything>@<slug>.<base-domain>;
# `saruna smtpd` runs it, `saruna serve` too when SARUNA_SMTPD is on.
SARUNA_SMTPD = env_flag("SARUNA_SMTPD")
SARUNA_SMTPD_HOST = os.environ.get("SARUNA_SMTPD_HOST", "127.0.0.1")
SARUNA_SMTPD_PORT = int(os.environ.get("SARUNA_SMTPD_PORT", "2525"))

# --- Product rules
SARUNA_TERMS_VERSION = os.environ.get("SARUNA_TERMS_VERSION", "2026-11-01")
# Operators replace the terms, privacy policy and landing texts with their own Markdown files.
SARUNA_CONTENT_DIR = Path(os.environ.get("SARUNA_CONTENT_DIR", BASE_DIR / "web" / "content"))
SARUNA_PROVIDER_ACCOUNT_SLUG = os.environ.get("SARUNA_PROVIDER_ACCOUNT", "saruna")
SARUNA_SIGNUP_MIN_SECONDS = int(os.environ.get("SARUNA_SIGNUP_MIN_SECONDS", "3"))
SARUNA_SIGNUP_RATE_LIMIT = os.environ.get("SARUNA_SIGNUP_RATE_LIMIT", "5/h")
# REST API requests per minute per key when the plan names no limit (LiveAgent allows 180).
SARUNA_API_RATE_LIMIT = int(os.environ.get("SARUNA_API_RATE_LIMIT", "180"))
SARUNA_RAW_IP_RETENTION_DAYS = int(os.environ.get("SARUNA_RAW_IP_RETENTION_DAYS", "30"))
# Inactivity (terms §8): days without a login or page seen before the owners are warned, and
# before a non-paying account is closed and its content erased.
SARUNA_INACTIVITY_WARNING_DAYS = int(os.environ.get("SARUNA_INACTIVITY_WARNING_DAYS", "28"))
SARUNA_INACTIVITY_DELETE_DAYS = int(os.environ.get("SARUNA_INACTIVITY_DELETE_DAYS", "56"))
# Offline geo-IP database; empty means the DB-IP City Lite file shipped with the package.
SARUNA_GEOIP_DB = os.environ.get("SARUNA_GEOIP_DB", "")
# Visitor tracking writes page views in batches this often (seconds); 0 writes each one at
# once (tests, where a request must have written its beat when it answers).
SARUNA_TRACKING_FLUSH_SECONDS = float(
    os.environ.get("SARUNA_TRACKING_FLUSH_SECONDS", "0" if TESTING else "1"))
# The world-atlas npm package (Natural Earth outlines) that `make` installs for the visitor map.
SARUNA_WORLD_ATLAS_DIR = os.environ.get(
    "SARUNA_WORLD_ATLAS_DIR", str(BASE_DIR.parent / "node_modules" / "world-atlas"))
# Google Analytics 4 Measurement Protocol (visitor conversions); tests point it at a fake.
SARUNA_GA_ENDPOINT = os.environ.get(
    "SARUNA_GA_ENDPOINT", "https://www.google-analytics.com/mp/collect")

# --- Billing (saruna.billing; docs/billing.md): the seller on every invoice, the payment gateway.
SARUNA_SELLER_NAME = os.environ.get("SARUNA_SELLER_NAME", "Saruna")
# Lines of the seller's postal address, separated by "|" in the variable.
SARUNA_SELLER_ADDRESS = [
    line.strip() for line in os.environ.get("SARUNA_SELLER_ADDRESS", "").split("|") if line.strip()
]
SARUNA_SELLER_COUNTRY = os.environ.get("SARUNA_SELLER_COUNTRY", "LV").upper()
SARUNA_SELLER_VAT_ID = os.environ.get("SARUNA_SELLER_VAT_ID", "")
SARUNA_SELLER_REGISTRATION_NUMBER = os.environ.get("SARUNA_SELLER_REGISTRATION_NUMBER", "")
SARUNA_SELLER_EMAIL = os.environ.get("SARUNA_SELLER_EMAIL", "")
# Invoice dates and the year in invoice numbers follow the seller's calendar.
SARUNA_SELLER_TIME_ZONE = os.environ.get("SARUNA_SELLER_TIME_ZONE", "UTC")
SARUNA_PAYMENT_GATEWAY = os.environ.get("SARUNA_PAYMENT_GATEWAY", "offline")
# The EU's VIES service that confirms VAT numbers; empty = never asked ("not verified yet").
SARUNA_VIES_URL = os.environ.get(
    "SARUNA_VIES_URL", "https://ec.europa.eu/taxation_customs/vies/rest-api"
)
if TESTING:
    SARUNA_VIES_URL = ""  # tests never reach the network; they start a local fake when needed
# The ECB's euro reference rates, loaded daily for VAT stated in euros on documents in other
# currencies (Art. 230 of the VAT directive); empty = never fetched (`saruna billing rates`).
SARUNA_ECB_RATES_URL = os.environ.get(
    "SARUNA_ECB_RATES_URL", "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
)
if TESTING:
    SARUNA_ECB_RATES_URL = ""
# Accounts the provider may offer an enterprise agreement (terms §3): this many end users
# (contacts), or this many new tickets per active agent in the last 30 days.
SARUNA_ENTERPRISE_END_USERS = int(os.environ.get("SARUNA_ENTERPRISE_END_USERS", "100000"))
SARUNA_ENTERPRISE_TICKETS_PER_AGENT = int(
    os.environ.get("SARUNA_ENTERPRISE_TICKETS_PER_AGENT", "3000")
)
# Outgoing webhooks go to public addresses only. An on-premise installation whose receivers
# live on its own network allows private, unique-local and loopback addresses (never
# link-local or cloud metadata ones); plain http is allowed only for the hosts listed.
SARUNA_WEBHOOKS_ALLOW_PRIVATE = env_flag("SARUNA_WEBHOOKS_ALLOW_PRIVATE")
SARUNA_WEBHOOKS_HTTP_HOSTS = [
    host.strip().lower()
    for host in os.environ.get("SARUNA_WEBHOOKS_HTTP_HOSTS", "").split(",") if host.strip()
]

SCOPES_DISABLED = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "filters": {
        "routine_tasks": {"()": "saruna.core.log_filters.RoutineTasks",
                          "tasks": ["saruna.visitors.tasks.write_tracked_beats"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("SARUNA_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The Huey consumer prints through a handler of its own.
        "huey": {"propagate": False, "filters": ["routine_tasks"]},
    },
}
