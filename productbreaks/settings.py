"""productbreaks settings: one file, driven by the environment.

DATABASE_URL  unset: a SQLite file (WAL) beside manage.py. postgres://... for the scale-out path.
REDIS_URL     unset: in-memory channel layer and cache, one process. redis://... to run several
              processes (live fan-out and the rate-limit counters go through Redis).
SECRET_KEY    required unless DEBUG is on.
ALLOWED_HOSTS comma-separated; never "*".
DEBUG         "1" for development; off by default.
HTTPS         "1" behind TLS (secure cookies, HSTS, redirect); defaults to "not DEBUG".
SERVE_STATIC  "0" when nginx serves collected static files; by default WhiteNoise serves them.
SITE_URL      the site's address for links in emails (http://127.0.0.1:8000 by default).
EMAIL_*, ANYMAIL_*, DEFAULT_FROM_EMAIL   where email goes (see "email" below and README).
TASKS_BACKEND "database" (the default: django-tasks-db and its worker) or "immediate" (tests).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for development).")
    SECRET_KEY = "django-insecure-dev-only-key-productbreaks"  # noqa: S105 - dev only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
if "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name hosts; '*' is refused.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    # Background work (sending email): Django's tasks framework, stored in the database.
    "django_tasks_db",
    "events",
    "debates",
    "recaps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "productbreaks.urls"
ASGI_APPLICATION = "productbreaks.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite in WAL mode by default. IMMEDIATE transactions take the write lock up
# front, so two writers queue on the busy timeout instead of failing with "database is locked".
SQLITE_PATH = os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Connections are opened per sync_to_async call under ASGI; a pool keeps that cheap.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": int(os.environ.get("DB_POOL_SIZE", "10")),
            "timeout": 10,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # One persistent connection on the process's one database thread (productbreaks.asgi).
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

# SQLite takes one writer at a time: productbreaks.asgi then runs requests on one thread.
SQLITE = DATABASES["default"]["ENGINE"].endswith("sqlite3")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channels' layer carries nothing of the app's (debates.live relays over Redis itself): only
# the bench's group_send baseline (PB_FANOUT=group_send) uses it, across processes through
# channels-redis, which only the dev/bench extra installs. Without it, the in-memory layer.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL and importlib.util.find_spec("channels_redis"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# One process's cache (no REDIS_URL). Sessions are read through it too (productbreaks/
# sessions.py). LocMemCache's default of 300 entries would start evicting a third of them at a
# time once 300 people joined: their sessions fell back to database reads (seen in a profile of
# `bench.run joincost --attendees 2400`), and a rate-limit counter could be evicted and start
# again from zero. An entry is a few hundred bytes: 100,000 are tens of MB.
EMBEDDED_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}

REDIS_CACHE_OPTIONS = {
    # A Redis outage must not hang a join: fail fast, and the limit lets people through.
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
    # One connection pool per process, not one per request (productbreaks/cache.py).
    "pool_class": "productbreaks.cache.SharedConnectionPool",
}

# The cache holds rate-limit counters (events.services, "limits"). With several processes they
# must count together, so Redis when REDIS_URL is set; one process counts in its own memory.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "pb",
            "OPTIONS": REDIS_CACHE_OPTIONS,
        }
    }
else:
    CACHES = EMBEDDED_CACHES

# The join budget per network (events.admission): a burst of this many joins goes straight in,
# then this many a second. The bench raises them: its thousands of "phones" share 127.0.0.1.
JOIN_BUDGET_BURST = int(os.environ.get("JOIN_BUDGET_BURST", "200"))
JOIN_BUDGET_RATE = float(os.environ.get("JOIN_BUDGET_RATE", "10"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "events:organiser_home"
LOGOUT_REDIRECT_URL = "events:index"

LANGUAGE_CODE = "en-gb"
# The interface speaks both; LocaleMiddleware picks from the session's choice (set_language),
# then Accept-Language. An event's recap is written in the event's own language.
LANGUAGES = [("en-gb", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Another STATIC_ROOT for a server that collects its own: the bench's servers and the test of
# `make run` collect while `make test`'s other worker serves the suite's copy, and collectstatic
# replaces files a WhiteNoise starting up was listing (a fresh clone's run failed on it).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
# collectstatic writes each file under a name with its content's hash (so it may be cached for
# good) plus gzip/brotli copies; pages name the hashed file. With DEBUG off that needs the
# manifest collectstatic writes: make run, the tests and the bench run it first.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Off when a proxy serves STATIC_ROOT (see deploy/); on, WhiteNoise serves it from the app.
# WhiteNoise has no ASGI middleware of its own: productbreaks.static_files adds the async path
# to its middleware (a sync one costs every page a thread round trip under ASGI). Right after
# SecurityMiddleware (HTTPS redirect and HSTS first), as WhiteNoise asks.
SERVE_STATIC = env_bool("SERVE_STATIC", True)
if SERVE_STATIC:
    security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
    MIDDLEWARE.insert(security + 1, "productbreaks.static_files.AsyncWhiteNoiseMiddleware")

# Past this many seconds of expected queueing, a page is answered 503 at once with Retry-After
# and a page that retries by itself (productbreaks/overload.py); DRILL_FIRST sheds the first N
# GET and N POST page requests of a process whatever the load (fire drills, the browser test).
OVERLOAD_SHED_AFTER = float(os.environ.get("OVERLOAD_SHED_AFTER", "10"))
OVERLOAD_DRILL_FIRST = int(os.environ.get("OVERLOAD_DRILL_FIRST", "0"))
# While this many pages are being served by one process, a newcomer's first page waits in line,
# for up to QUEUE_WAIT seconds as estimated, else is answered 503 at once
# (productbreaks/overload.py); 0 turns the bound off.
OVERLOAD_MAX_IN_FLIGHT = int(os.environ.get("OVERLOAD_MAX_IN_FLIGHT", "48"))
OVERLOAD_QUEUE_WAIT = float(os.environ.get("OVERLOAD_QUEUE_WAIT", "20"))

# Attendees have no account: the session carries their secret, for a long evening and a recap.
# Read through the cache (locmem in one process, Redis with REDIS_URL), written to both: a page
# or a socket connecting reads no django_session row (a quarter of a socket storm's CPU before).
# Django's cached_db, made to survive a cache outage (productbreaks/sessions.py).
SESSION_ENGINE = "productbreaks.sessions"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie

HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy with per-request nonces; htmx is configured (in base.html) not to
# eval or inject inline styles, so nothing needs 'unsafe-inline'.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# ---------------------------------------------------------------- email and background tasks

# Links in emails need the site's own address: there is no request to build them from.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "productbreaks <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

_SMTP = "django.core.mail.backends.smtp.EmailBackend"


def mailer_from_env(env: dict[str, str], debug: bool) -> dict:
    """Django's MAILERS["default"] (Django 6.1 replaced EMAIL_BACKEND, EMAIL_HOST, ... settings
    with MAILERS; the environment keeps the familiar names). EMAIL_BACKEND picks "console",
    "smtp", "anymail" or a dotted path; unset, it is "anymail" when ANYMAIL_ESP is set, "smtp"
    when EMAIL_HOST is, else the console under DEBUG (nothing leaves a laptop) and a local
    SMTP server (localhost:25, Django's default) in production."""
    esp = env.get("ANYMAIL_ESP", "").strip().lower()
    choice = env.get("EMAIL_BACKEND", "").strip()
    if not choice:
        choice = "anymail" if esp else "smtp" if env.get("EMAIL_HOST") else ""
        choice = choice or ("console" if debug else "smtp")
    if choice == "console":
        return {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if choice == "smtp":
        options = {
            "host": env.get("EMAIL_HOST", "localhost"),
            "port": int(env.get("EMAIL_PORT") or 25),
            "username": env.get("EMAIL_HOST_USER", ""),
            "password": env.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env.get("EMAIL_USE_TLS", "").strip().lower() in {"1", "true", "yes", "on"},
            "use_ssl": env.get("EMAIL_USE_SSL", "").strip().lower() in {"1", "true", "yes", "on"},
            # A stuck server must not hold a send (and its claimed email) for ever.
            "timeout": float(env.get("EMAIL_TIMEOUT") or 30),
        }
        return {"BACKEND": _SMTP, "OPTIONS": options}
    if choice == "anymail":
        if not esp.replace("_", "").isalnum():
            raise ImproperlyConfigured("EMAIL_BACKEND=anymail needs ANYMAIL_ESP, e.g. postmark.")
        # ANYMAIL_API_KEY -> api_key, ANYMAIL_SERVER_TOKEN -> server_token, ... (the ESP's names).
        options = {
            name.removeprefix("ANYMAIL_").lower(): value
            for name, value in env.items()
            if name.startswith("ANYMAIL_") and name != "ANYMAIL_ESP"
        }
        return {"BACKEND": f"anymail.backends.{esp}.EmailBackend", "OPTIONS": options}
    return {"BACKEND": choice}


MAILERS = {"default": mailer_from_env(dict(os.environ), DEBUG)}

# The mailing queue (events.outbox): each task sends one batch, then queues the next batch for
# when the rate allows. An email claimed by a worker that then died is sent again once its
# claim is this old (longer than any one send can take: EMAIL_TIMEOUT bounds each step).
MAIL_BATCH_SIZE = int(os.environ.get("MAIL_BATCH_SIZE", "50"))
MAIL_RATE_PER_MINUTE = int(os.environ.get("MAIL_RATE_PER_MINUTE", "300"))
MAIL_CLAIM_TIMEOUT = float(os.environ.get("MAIL_CLAIM_TIMEOUT", "600"))
MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "5"))
# How often the worker looks for mailings a dead worker left (manage.py mail_worker).
MAIL_SWEEP_SECONDS = float(os.environ.get("MAIL_SWEEP_SECONDS", "60"))

# Django's tasks framework. The database backend (django-tasks-db) stores tasks in this
# database; `manage.py mail_worker` (its db_worker, after a recovery sweep) runs them. The
# tests run tasks at once in the test process (TASKS_BACKEND=immediate, pyproject.toml).
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "database")
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django.tasks.backends.immediate.ImmediateBackend",
        }[TASKS_BACKEND]
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
