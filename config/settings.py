"""Settings for Tagwise, read from the environment.

With no environment set, the app runs embedded: SQLite in WAL mode and Celery
over kombu's filesystem transport, both under ``TAGWISE_DATA_DIR``. Setting
``DATABASE_URL`` and ``CELERY_BROKER_URL`` switches to PostgreSQL and Redis.
Every variable is listed in docs/configuration.md.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in env(name, default).split(",") if part.strip()]


DATA_DIR = Path(env("TAGWISE_DATA_DIR", str(BASE_DIR / "data"))).resolve()
# Parallel test processes (pytest-xdist names each one in PYTEST_XDIST_WORKER)
# get a data directory each: their SQLite files, file cache and broker folders
# never meet, so one process clearing its cache cannot disturb another's test.
if env("PYTEST_XDIST_WORKER"):
    DATA_DIR = DATA_DIR / env("PYTEST_XDIST_WORKER")
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    """Keep one generated key per data directory so sessions survive restarts.

    Production sets SECRET_KEY; the embedded mode should still never run on a
    key that is committed to the repository.
    """
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


# Without SECRET_KEY the app runs embedded (`make run`): plain http on this
# machine, static files read from the source tree. DEBUG is separate and off
# unless asked for, so the embedded server never shows Django's debug page
# (with the settings) to anyone who can reach it (docs/security.md).
EMBEDDED = not os.environ.get("SECRET_KEY")
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY") or _embedded_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# An expired form gets a page that says what to do, not Django's stock 403.
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "axes",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "annotate",
    "learner",
]

MIDDLEWARE = [
    # First: the container health check must pass behind the host check and the https redirect.
    "config.middleware.HealthCheckMiddleware",
    # A view that loses the database answers 503 with a clear page (docs/operations.md).
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the body: an oversized or chunked upload is refused from its headers.
    "config.middleware.RequestSizeMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Turns a login refused by the throttle into a page that says so (config/security.py).
    "axes.middleware.AxesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.PrivateResponsesMiddleware",
    "annotate.middleware.HtmxLoginRequiredMiddleware",
    "annotate.middleware.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

# The database. SQLite is the embedded default; WAL lets the web server and the
# worker read while the other writes, IMMEDIATE transactions take the write
# lock up front so two writers queue on the busy timeout instead of failing
# with "database is locked" half way through.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'tagwise.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=20000;PRAGMA foreign_keys=ON;"
        ),
    }
elif env_bool("DATABASE_PREPARED_STATEMENTS", True):
    # Django's own queries are never prepared (client-side binding); this lets
    # the few hot statements that ask for it (the queue's) be prepared once per
    # connection. Turn it off behind a pooler that cannot keep prepared
    # statements (PgBouncer before 1.21, or without max_prepared_statements).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
# Tests on SQLite use a file, not memory, so a real worker process can read
# what the tests commit.
DATABASES["default"]["TEST"] = {
    "NAME": env("TEST_DATABASE_NAME")
    or (str(DATA_DIR / "test.sqlite3") if "sqlite" in DATABASES["default"]["ENGINE"] else None)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# --- Cache and sessions (docs/operations.md, "Redis down") ---------------
# The cache backs throttling, the dashboard and the review queue, and the
# web processes and the worker must share it: the worker recounts the
# dashboard's figures for the web to show. Redis when configured, else files
# in the data directory, which every process on the machine sees. The Redis
# backend answers a connection error as a miss (config/cache.py), and short
# socket timeouts bound what a hanging Redis costs a request.
REDIS_CACHE_URL = env("CACHE_URL")
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ForgivingRedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "OPTIONS": {
                "socket_connect_timeout": float(env("CACHE_CONNECT_TIMEOUT", "0.5")),
                "socket_timeout": float(env("CACHE_TIMEOUT", "1")),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }

# Sessions are read on every request. With Redis, read them from the cache
# first and the database only on a miss, written through to both so a cache
# flush logs nobody out, and a Redis outage neither: its errors are misses.
# The file cache would be no faster than the database.
if REDIS_CACHE_URL:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# --- End of cache and sessions -----------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# One-time links to set a password (docs/projects.md, "People") work for three days.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600)


def _email_settings(url: str) -> dict[str, object]:
    """EMAIL_URL such as smtp+tls://user:password@mail.example.org:587 as Django's EMAIL_* settings."""
    parts = urlsplit(url)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtp+ssl" else 587 if parts.scheme == "smtp+tls" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": parts.scheme == "smtp+tls",
        "EMAIL_USE_SSL": parts.scheme == "smtp+ssl",
    }


# E-mail is optional: without EMAIL_URL (or EMAIL_HOST) the app shows one-time
# links for a manager to pass on, and sends nothing.
if env("EMAIL_URL"):
    globals().update(_email_settings(env("EMAIL_URL")))
elif env("EMAIL_HOST"):
    EMAIL_HOST = env("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "tagwise@localhost")
EMAIL_CONFIGURED = bool(env("EMAIL_URL") or env("EMAIL_HOST"))

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or EMBEDDED
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Whitenoise serves from the finders when there is no collected manifest, so
# the embedded mode needs no collectstatic step.
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED

# Production hardening. These apply to a deployment (SECRET_KEY set) that is
# not being debugged; behind a TLS proxy set SECURE_PROXY_SSL_HEADER via
# TAGWISE_BEHIND_PROXY=1.
if not (DEBUG or EMBEDDED):
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading commits the domain and its subdomains to https in browsers
    # for months, beyond this app; it is the operator's decision to opt in.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_CONTENT_TYPE_NOSNIFF = True
    if env_bool("TAGWISE_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Celery. The embedded broker is kombu's filesystem transport: two folders
# under the data directory that the web process writes and the worker reads.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_IS_FILESYSTEM = CELERY_BROKER_URL.startswith("filesystem://")
CELERY_FILESYSTEM_DIR = DATA_DIR / "broker"
if CELERY_BROKER_IS_FILESYSTEM:
    for sub in ("in", "processed"):
        (CELERY_FILESYSTEM_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_DIR / "in"),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR / "in"),
        "processed_folder": str(CELERY_FILESYSTEM_DIR / "processed"),
        "control_folder": str(CELERY_FILESYSTEM_DIR / "control"),
        "store_processed": False,
    }
# A Redis broker that hangs (rather than refusing) must not hold a request
# until gunicorn kills the worker: a send waits at most these seconds per
# try, with one retry, then gives up (annotate/jobs.py logs it; the change it
# followed is already stored). The worker's BRPOP polls every second, well
# inside the read timeout.
REDIS_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": float(env("CELERY_BROKER_CONNECT_TIMEOUT", "1")),
    "socket_timeout": float(env("CELERY_BROKER_TIMEOUT", "3")),
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
# Task state lives on our own models (ModelVersion, ImportJob), so Celery's
# result backend is not needed.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"learner.tasks.*": {"queue": "training"}}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Where trained model artifacts are stored.
ARTIFACT_DIR = Path(env("TAGWISE_ARTIFACT_DIR", str(DATA_DIR / "artifacts")))
# What gives the export its model predictions (annotate never imports learner).
TAGWISE_PREDICTIONS_SOURCE = "learner.predictions.ExportPredictions"
# What gives the item browser the model's stored scores (docs/architecture.md).
TAGWISE_MODEL_SCORES = "learner.predictions.stored_scores"

# Imports larger than this answer 413.
TAGWISE_IMPORT_MAX_BYTES = env_int("TAGWISE_IMPORT_MAX_BYTES", 200 * 1024 * 1024)
TAGWISE_IMPORT_MAX_TEXT_CHARS = env_int("TAGWISE_IMPORT_MAX_TEXT_CHARS", 50_000)
# Imports above either size run in the worker, with progress on the import page.
TAGWISE_IMPORT_BACKGROUND_BYTES = env_int("TAGWISE_IMPORT_BACKGROUND_BYTES", 5 * 1024 * 1024)
TAGWISE_IMPORT_BACKGROUND_ROWS = env_int("TAGWISE_IMPORT_BACKGROUND_ROWS", 20_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Security: who is the client, login throttling, the Content-Security-Policy
# and API tokens (docs/security.md). Kept in one block.
#
# How many proxies in front of the app append to X-Forwarded-For. The client
# address is the entry that many places from the right; anything further left
# was written by the client and is not believed. 0 means REMOTE_ADDR. DRF's
# throttles (NUM_PROXIES below) and the login throttle read the same number.
TAGWISE_TRUSTED_PROXIES = env_int("TAGWISE_TRUSTED_PROXIES", 1 if env_bool("TAGWISE_BEHIND_PROXY", False) else 0)

# Login throttling with django-axes: after TAGWISE_LOGIN_FAILURE_LIMIT wrong
# passwords for one account, or from one client address, logins are refused
# (even with the right password) until TAGWISE_LOGIN_COOLOFF_MINUTES have
# passed since the failure that reached the limit. The HTML login and the API token endpoint
# share the count. Attempts live in the database, so the embedded mode and
# PostgreSQL behave alike.
AUTHENTICATION_BACKENDS = [
    "config.security.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("TAGWISE_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("TAGWISE_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# Attempts refused during a lockout do not extend it: the pause ends the
# cool-off after the failure that caused it, as the message says.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"
AXES_LOCKOUT_CALLABLE = "config.security.lockout_response"
# Successful logins are not logged with their address and browser: that log
# would be personal data kept for no purpose of the app.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Content-Security-Policy: scripts and stylesheets only from the app itself
# (htmx is vendored under static/), no inline scripts, no framing. Style
# attributes stay allowed: templates set label colours and bar widths with
# them, and an attribute cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# API tokens (django-rest-knox): stored as SHA-512 digests, shown once, each
# with an expiry chosen at creation (TAGWISE_TOKEN_DAYS by default).
TAGWISE_TOKEN_DAYS = env_int("TAGWISE_TOKEN_DAYS", 90)
TAGWISE_TOKEN_MAX_DAYS = env_int("TAGWISE_TOKEN_MAX_DAYS", 366)
TAGWISE_TOKENS_PER_USER = env_int("TAGWISE_TOKENS_PER_USER", 10)
REST_KNOX = {"TOKEN_TTL": timedelta(days=TAGWISE_TOKEN_DAYS), "AUTH_HEADER_PREFIX": "Token"}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "knox.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotate.api.base.exception_handler",
    # Throttles count per client address; only this many proxies' X-Forwarded-For entries are believed.
    "NUM_PROXIES": TAGWISE_TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "auth": env("TAGWISE_THROTTLE_AUTH", "20/min"),
        "expensive": env("TAGWISE_THROTTLE_EXPENSIVE", "60/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tagwise API",
    "DESCRIPTION": "Multi-label annotation with three answer states and active learning.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Serve Swagger UI from the app itself; the browser needs no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two models have a "status" field with different choices; name both enums.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "annotate.api.schema.closed_request_bodies",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ImportJobStatusEnum": "annotate.models.ImportJob.Status",
        "ModelVersionStatusEnum": "learner.models.ModelVersion.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"forbidden_without_traceback": {"()": "config.log_filters.ForbiddenWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"filters": ["forbidden_without_traceback"]},
        # django-axes logs every login at INFO; lockouts come at WARNING.
        "axes": {"level": "WARNING"},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
