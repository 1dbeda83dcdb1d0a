"""Settings for the portal, read from the environment.

With nothing set, the portal runs in its embedded default: SQLite, a file-system Celery
broker and result store, a file cache and a generated secret key, all under ``var/``.
Setting ``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``REDIS_URL`` gives the production
shape (PostgreSQL, Redis broker, Redis cache); ``DJANGO_ENV=production`` turns on every
``check --deploy`` setting and refuses to start without a real secret key and hosts.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Return the secret key: from the environment, or one generated once into var/."""
    if value := env.str("DJANGO_SECRET_KEY", default=""):
        return value
    if PRODUCTION:
        raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_ENV=production")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise environ.ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_ENV=production")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# Where /.well-known/security.txt sends vulnerability reports (URIs: mailto:, https:);
# empty: security@ at SITE_URL's host.
SECURITY_CONTACTS = env.list("SECURITY_CONTACTS", default=[])

# ---------------------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------------------
GITHUB_CLIENT_ID = env.str("GITHUB_CLIENT_ID", default="")
GITHUB_CLIENT_SECRET = env.str("GITHUB_CLIENT_SECRET", default="")
GITHUB_LOGIN_ENABLED = bool(GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.contrib.syndication",
    "django.contrib.sitemaps",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    *(["allauth.socialaccount.providers.github"] if GITHUB_LOGIN_ENABLED else []),
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.accounts",
    "apps.mlmodels",
    "apps.inference",
    "apps.docs",
    "apps.forum",
    "apps.apikeys",
    "apps.playground",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Hostile paths, queries, bodies and cookies are refused (400) before anything reads
    # them; and a page whose Redis is unreachable answers 503 (apps/core/middleware.py).
    "apps.core.middleware.HostileInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.site",
                "apps.forum.context_processors.forum_bell",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------
# Database and cache
# ---------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write the same file: wait for the lock instead of
    # failing, take the write lock up front, and let readers work beside one writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a worker process started by the tests sees the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # Each thread keeps its connection: opening one (file, schema, the pragmas above) cost
    # a classify call about half the web server's CPU time (bench/embedded.py).
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # Rendered forum posts and rows (apps/forum/fragments.py), addressed by their content and
    # shared by every process; without Redis each process keeps only its own, in memory.
    CACHES["fragments"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "fragments",
    }
else:
    # A file cache rather than local memory: the web server and the worker must agree on
    # what is cached (worker heartbeats, rate-limit windows).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# ---------------------------------------------------------------------------------------
# Celery (portal/celery.py reads every CELERY_* setting)
# ---------------------------------------------------------------------------------------
# Seconds before Redis hands an unacknowledged message (its worker died) to another worker.
# Longer than any inference batch, shorter than a user would wait; the same for results.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=60)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _control_dir = VAR_DIR / "celery" / "control"
    for _path in (_queue_dir, _control_dir):
        _path.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(_control_dir),
        # Where named pipes are missing (Windows) consumers poll: every 50 ms, not every 1 s.
        "polling_interval": 0.05,
    }
    # kombu's transport with whole-file writes and consumers woken by a named pipe instead
    # of polling; results the same way; a worker timer that fires batch flushes on time
    # (apps/core/embedded). An idle queue answers in milliseconds, not 0-1 s.
    CELERY_BROKER_TRANSPORT = "apps.core.embedded.broker:Transport"
    CELERY_WORKER_TIMER = "apps.core.embedded.timer:PromptTimer"
    _default_result_backend = f"apps.core.embedded.results:FilesystemBackend+file://{VAR_DIR / 'celery' / 'results'}"
    (VAR_DIR / "celery" / "results").mkdir(parents=True, exist_ok=True)
else:
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # kombu's Redis transport, with one client object per channel rather than one
        # per command (apps/core/redis_transport.py).
        CELERY_BROKER_TRANSPORT = "apps.core.redis_transport:Transport"
    # The same visibility timeout for the broker and the result store, so that a job
    # redelivered after a worker dies is not also waiting on a result that expired.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        # Sweep for messages of dead workers every few seconds, not every 100 s.
        "unacked_restore_interval": max(CELERY_VISIBILITY_TIMEOUT // 6, 1),
        "unacked_restore_throttle": 1,
    }
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
    _default_result_backend = CELERY_BROKER_URL
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_default_result_backend)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Seconds a worker heartbeat stays valid; workers beat at a third of it.
WORKER_HEARTBEAT_TTL = env.int("WORKER_HEARTBEAT_TTL", default=15)
READYZ_REQUIRE_WORKERS = env.bool("READYZ_REQUIRE_WORKERS", default=True)

# ---------------------------------------------------------------------------------------
# Models and inference
# ---------------------------------------------------------------------------------------
MODEL_ARTIFACTS_DIR = Path(env.str("MODEL_ARTIFACTS_DIR", default=str(VAR_DIR / "models")))
# "auto" picks CUDA when a GPU is visible, else the CPU.
INFERENCE_DEVICE = env.str("INFERENCE_DEVICE", default="auto")
TORCH_NUM_THREADS = env.int("TORCH_NUM_THREADS", default=0)  # 0: torch's own choice
# CPU workers serve a version's int8 variant when its measured accuracy loss is under 0.5
# points (manage.py quantize); off: always fp32. CUDA workers never do.
INFERENCE_QUANTIZED = env.bool("INFERENCE_QUANTIZED", default=True)
# Dynamic batching: a worker runs a forward pass when it holds this many jobs, or when
# the oldest has waited this long. INFERENCE_BATCH_SIZE=1 turns batching off.
INFERENCE_BATCH_SIZE = env.int("INFERENCE_BATCH_SIZE", default=32)
INFERENCE_FLUSH_MS = env.float("INFERENCE_FLUSH_MS", default=2.0)
# While more jobs already wait in the broker, a flush is held up to this long to fill up.
INFERENCE_MAX_WAIT_MS = env.float("INFERENCE_MAX_WAIT_MS", default=30.0)
# A flush expected to run longer than this marks its jobs "running" before it starts; a
# shorter one goes straight to its outcome (one database write per job instead of two).
INFERENCE_RUNNING_REPORT_MS = env.float("INFERENCE_RUNNING_REPORT_MS", default=250.0)
# Outcomes are sent to the web side in one message per this many ms (0: each flush at once).
INFERENCE_RECORD_DELAY_MS = env.float("INFERENCE_RECORD_DELAY_MS", default=200.0)
# Hard time limit of one inference flush, in seconds (the soft limit is two thirds of it);
# must stay below the visibility timeout. See apps/inference/worker/limits.py.
INFERENCE_TIME_LIMIT = env.float("INFERENCE_TIME_LIMIT", default=30.0)
# Past the soft limit a flush stops and hands its unfinished jobs back (default: two thirds
# of the hard limit; set it lower for models whose native calls run long).
INFERENCE_SOFT_TIME_LIMIT = env.float("INFERENCE_SOFT_TIME_LIMIT", default=round(INFERENCE_TIME_LIMIT * 2 / 3, 3))
INFERENCE_MODEL_CACHE_SIZE = env.int("INFERENCE_MODEL_CACHE_SIZE", default=3)
# A job whose worker died this many times is failed (poison), so the queue keeps draining.
INFERENCE_MAX_ATTEMPTS = env.int("INFERENCE_MAX_ATTEMPTS", default=3)
# The reconciler re-sends jobs still open this long after they were last sent.
INFERENCE_LEASE_SECONDS = env.int("INFERENCE_LEASE_SECONDS", default=CELERY_VISIBILITY_TIMEOUT * 2)
# Every this many seconds the reconciler writes outcomes stored in the result backend into
# rows still open (their report was lost to a fault), and re-sends or fails stuck jobs.
# The embedded default ticks every 10 s: each tick takes the write lock of its SQLite file.
INFERENCE_RECONCILE_EVERY = env.float(
    "INFERENCE_RECONCILE_EVERY", default=10.0 if CELERY_BROKER_URL.startswith("filesystem://") else 2.0
)
# A worker whose requests wait this long without a flush says it stalled (/readyz).
INFERENCE_STALL_SECONDS = env.float("INFERENCE_STALL_SECONDS", default=10.0)
CELERY_BEAT_SCHEDULE = {
    # A tick that waited longer than the next one is dropped, not run late: no backlog.
    "inference-reconcile": {
        "task": "inference.reconcile",
        "schedule": INFERENCE_RECONCILE_EVERY,
        "options": {"expires": INFERENCE_RECONCILE_EVERY},
    },
    "forum-email-sweep": {"task": "forum.sweep_notification_emails", "schedule": 300.0},
    # Yesterday's (UTC) usage rolled up per key for the usage pages.
    "apikeys-rollup-usage": {
        "task": "apikeys.rollup_usage",
        "schedule": crontab(hour=0, minute=15),
        "options": {"queue": "default"},
    },
}

# ---------------------------------------------------------------------------------------
# API keys and the REST API
# ---------------------------------------------------------------------------------------
# Keys are stored as HMAC-SHA256 under this secret (rotating it invalidates every key).
API_KEY_HASH_SECRET = env.str("API_KEY_HASH_SECRET", default=SECRET_KEY)
API_KEY_DEFAULT_DAYS = 90
API_KEY_MAX_DAYS = 365
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.apikeys.auth.APIKeyAuthentication",
        "apps.apikeys.auth.PlaygroundSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser plus a depth limit and no NUL or lone surrogate in any string.
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.PortalJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [],
    "EXCEPTION_HANDLER": "apps.core.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Developer Portal API",
    "DESCRIPTION": (
        "Classify text with the portal's published models. Authenticate with `Authorization: Bearer pk_...`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
}
# Proxies in front of the web server that append to X-Forwarded-For (nginx: 1). The
# client's address is the entry that many hops from the end; with 0 it is the peer.
# The one setting for the client's address: the API's limiter, the key audit log and
# allauth's login limits (apps.accounts.adapters) all read it through ``client_ip``.
NUM_PROXIES = env.int("NUM_PROXIES", default=1 if PRODUCTION else 0)
ALLAUTH_TRUSTED_PROXY_COUNT = NUM_PROXIES
# Models a visitor without an account may try in the playground, and how many runs an
# hour per address (IPv6: per /64).
PLAYGROUND_ANONYMOUS_MODELS = env.list("PLAYGROUND_ANONYMOUS_MODELS", default=["sentiment-demo"])
PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR = env.int("PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR", default=5)
# API versions and their state. A deprecated one answers with Deprecation (RFC 9745, from
# the ISO 8601 date "deprecation", which it needs), Sunset (RFC 8594, from "sunset") and a
# Link rel="deprecation" to "link", e.g. {"status": "deprecated", "deprecation":
# "2027-01-01", "sunset": "2028-01-01", "link": "https://.../docs/migrate-v2/"}.
API_VERSIONS: dict[str, dict[str, str]] = {"v1": {"status": "current"}}

# ---------------------------------------------------------------------------------------
# Accounts (django-allauth)
# ---------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
# Brute-force protection: allauth's own rate limits, kept in the cache (Redis in
# production). Failed logins are limited per address ("ip", IPv6 per /64) and per account
# *from one address* ("key": the adapter keys it by account and address), so guessing
# from one place cannot lock the owner out elsewhere; see README "Accounts and security".
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="10/m/ip,100/h/ip,5/5m/key"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}
# Many addresses guessing one account: past FREE failures on it within WINDOW seconds,
# each failed attempt answers STEP seconds later than the last, up to MAX (the right
# password never waits). See apps/accounts/adapters.py.
LOGIN_FAILURE_DELAY_FREE = env.int("LOGIN_FAILURE_DELAY_FREE", default=10)
LOGIN_FAILURE_DELAY_STEP = env.float("LOGIN_FAILURE_DELAY_STEP", default=0.25)
LOGIN_FAILURE_DELAY_MAX = env.float("LOGIN_FAILURE_DELAY_MAX", default=2.0)
LOGIN_FAILURE_DELAY_WINDOW = env.int("LOGIN_FAILURE_DELAY_WINDOW", default=900)
SOCIALACCOUNT_ADAPTER = "apps.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_PROVIDERS = (
    {
        "github": {
            "APPS": [{"client_id": GITHUB_CLIENT_ID, "secret": GITHUB_CLIENT_SECRET, "key": ""}],
            "SCOPE": ["read:user", "user:email"],
            "VERIFIED_EMAIL": True,
        }
    }
    if GITHUB_LOGIN_ENABLED
    else {}
)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# Docs: "Edit this page" joins this base URL with the page's path under content/ (empty
# hides the link); the content directory is synced by `python manage.py sync_content`.
DOCS_EDIT_BASE_URL = env.str("DOCS_EDIT_BASE_URL", default="")
DOCS_CONTENT_DIR = BASE_DIR / "content"

# ---------------------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Developer Portal <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ---------------------------------------------------------------------------------------
# Internationalisation
# ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------
# Static files
# ---------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

# ---------------------------------------------------------------------------------------
# Security
# ---------------------------------------------------------------------------------------
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the playground's fetch() reads it to send X-CSRFToken
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Probes from the orchestrator speak plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)

# ---------------------------------------------------------------------------------------
# Logging: one line per record on stderr; secrets never reach a log record.
# ---------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
