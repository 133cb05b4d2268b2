"""Settings for the MDM hub, driven entirely by environment variables.

Embedded default (a fresh laptop): SQLite under ``var/`` and a file-system Celery broker, so nothing
else has to run. Production: ``DATABASE_URL`` points at PostgreSQL and ``CELERY_BROKER_URL`` at Redis
or RabbitMQ. With ``DEBUG`` off, missing production secrets stop start-up with one clear message.
"""

import base64
import hashlib
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MDM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def env_secret(name: str) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker/Kubernetes secrets)."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return None


DEBUG = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105 - refused when DEBUG is off

SECRET_KEY = env_secret("SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


def _dev_encryption_key(secret: str) -> str:
    # Deterministic per SECRET_KEY so a laptop's demo data stays readable across restarts.
    return base64.urlsafe_b64encode(hashlib.sha256(f"field-encryption:{secret}".encode()).digest()).decode()


# Comma-separated Fernet keys: the first encrypts, every key decrypts (key rotation: put the new key first, run
# ``manage.py rotate_encryption_keys``, then drop the old one). From FIELD_ENCRYPTION_KEY or the file named by
# FIELD_ENCRYPTION_KEY_FILE (keys separated by commas or one per line).
FIELD_ENCRYPTION_KEYS = [
    key.strip() for key in (env_secret("FIELD_ENCRYPTION_KEY") or "").replace("\n", ",").split(",") if key.strip()
] or ([_dev_encryption_key(SECRET_KEY)] if DEBUG and SECRET_KEY else [])

# The key of the bank-account fingerprints change requests show (equal numbers, equal fingerprints). Defaults to
# SECRET_KEY, which keyed them before this setting existed; pin it to that value before rotating SECRET_KEY, or
# set a key of its own (see the README's Security section for re-keying).
MDM_FINGERPRINT_KEY = env_secret("MDM_FINGERPRINT_KEY") or SECRET_KEY

if not DEBUG:
    _missing = [
        name
        for name, value in (
            ("SECRET_KEY", SECRET_KEY),
            ("FIELD_ENCRYPTION_KEY", FIELD_ENCRYPTION_KEYS),
            ("ALLOWED_HOSTS", ALLOWED_HOSTS),
        )
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(
            "DEBUG is off and these production settings are missing: "
            + ", ".join(_missing)
            + ". Set them in the environment (or NAME_FILE pointing at a file), or set DEBUG=1 for a "
            "development machine. Generate a FIELD_ENCRYPTION_KEY with: "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    if SECRET_KEY == _DEV_SECRET_KEY:
        raise ImproperlyConfigured("DEBUG is off but SECRET_KEY is the development default; set a real one.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "guardian",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "mdm",
    "uom",
    "suppliers",
    "items",
    "contracts",
    "sync",
]

MIDDLEWARE = [
    "mdm.middleware.CorrelationIdMiddleware",
    "mdm.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mdm.urls"
WSGI_APPLICATION = "mdm.wsgi.application"

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
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'mdm.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", 60)))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web app, the worker and the scheduler read while one of them writes;
        # IMMEDIATE transactions take the write lock up front instead of failing mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-mdm.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: django-axes refuses a locked-out username before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production) ----------------------------------------------------------------------
# `manage.py check --deploy` passes with these defaults (tests/security/test_deploy_check.py). Behind a proxy that
# terminates TLS, set SECURE_PROXY_SSL_HEADER=1 (the proxy sends X-Forwarded-Proto) or every request is redirected.
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie: htmx sends the token from the page (base.html hx-headers), Swagger UI from its page.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A working day, and gone when the browser closes: a left-open session on a ward PC does not last overnight.
SESSION_COOKIE_AGE = int(os.environ.get("MDM_SESSION_AGE_SECONDS", 8 * 60 * 60))
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("MDM_SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS only: redirect plain HTTP (turn off with MDM_SSL_REDIRECT=0 only when the proxy in front already redirects).
# Probes and the Prometheus scrape may use plain HTTP inside the cluster: they are exempt.
SECURE_SSL_REDIRECT = env_bool("MDM_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# HSTS: browsers refuse plain HTTP for a year once they saw the hub over HTTPS (0 with DEBUG: a laptop's
# localhost must not be pinned to HTTPS). Subdomains and the preload token are on by default; the preload token
# only matters if the registrable domain's owner submits it to the browsers' preload list (hstspreload.org).
SECURE_HSTS_SECONDS = int(os.environ.get("MDM_HSTS_SECONDS", 0 if DEBUG else 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("MDM_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("MDM_HSTS_PRELOAD", True)

# --- Cache (rate limits, lockout counters) --------------------------------------------------------
# One cache for every process in production (CACHE_URL=redis://...); a process-local one on a laptop.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL.startswith(("redis://", "rediss://"))
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "mdm"}
}

# --- Identity: lockout, second factor, API tokens ---------------------------------------------------
# Lockout (django-axes): after MDM_LOGIN_FAILURE_LIMIT failed logins for one username from one address, that
# username cannot log in from there (not even with the right password) for MDM_LOGIN_LOCKOUT_MINUTES after the last
# counted failure; a successful login resets the count. Username AND address: locking a username everywhere would
# let anyone who reaches the login page shut an approver out from their own desk, and locking an address would
# shut out every colleague behind the hospital's NAT; a guesser is still held to MDM_LOGIN_FAILURE_LIMIT tries per
# address per pause (and meets the password rules and the second factor). An administrator unlocks at once with
# `manage.py axes_reset_username <username>`. Admin logins count too.
AXES_FAILURE_LIMIT = int(os.environ.get("MDM_LOGIN_FAILURE_LIMIT", 5))
# In hours, as django-axes reads a float (0.25 = 15 minutes).
AXES_COOLOFF_TIME = float(os.environ.get("MDM_LOGIN_LOCKOUT_MINUTES", 15)) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts during the pause are refused without restarting it: the person knows when to come back.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_LOCKOUT_CALLABLE = "mdm.identity.lockout_response"  # the template, with when to retry and whom to ask
AXES_HTTP_RESPONSE_CODE = 429
# Whom a locked-out or stuck person should contact (shown on the lockout and second-factor pages).
MDM_SUPPORT_CONTACT = os.environ.get("MDM_SUPPORT_CONTACT", "your MDM hub administrator")

# Second factor (django-otp, TOTP apps): anyone may enrol at /account/otp/ and is then asked for a code after
# every password login; members of MDM_OTP_REQUIRED_ROLES (comma list, e.g. "approver") must enrol before they
# reach any page. API tokens are service credentials and are not asked.
MDM_OTP_REQUIRED_ROLES = env_list("MDM_OTP_REQUIRED_ROLES")
OTP_TOTP_ISSUER = os.environ.get("MDM_OTP_ISSUER", "MDM hub")
# Asks an unverified session for its code before any page (after django-otp's middleware, which marks it).
MIDDLEWARE.insert(MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1, "mdm.identity.SecondFactorMiddleware")

# API tokens (mdm.tokens): the self-service page offers at most MDM_TOKEN_MAX_DAYS of validity (default expiry
# MDM_TOKEN_DEFAULT_DAYS). Rate limits (mdm.api.throttling), "<count>/<second|min|hour|day>" or "off".
MDM_TOKEN_MAX_DAYS = int(os.environ.get("MDM_TOKEN_MAX_DAYS", 365))
MDM_TOKEN_DEFAULT_DAYS = min(int(os.environ.get("MDM_TOKEN_DEFAULT_DAYS", 90)), MDM_TOKEN_MAX_DAYS)
MDM_API_RATE_TOKEN = os.environ.get("MDM_API_RATE_TOKEN", "1200/min")
MDM_API_RATE_USER = os.environ.get("MDM_API_RATE_USER", "600/min")
MDM_API_RATE_ANON = os.environ.get("MDM_API_RATE_ANON", "60/min")

# --- Content Security Policy and hardening ----------------------------------------------------------
# django-csp 4: no inline script or style, no eval. Templates load CSS and JS from static files; the few inline
# blocks that must stay (Swagger UI's start-up script, the self-contained 500 page) carry the per-request nonce
# (``request.csp_nonce``), which django-csp adds to the header only on responses that use it. Images may be data:
# URIs (the TOTP QR code, Swagger UI's icons). MDM_CSP_REPORT_ONLY=1 sends the same policy as
# Content-Security-Policy-Report-Only (violations are reported in the browser console, nothing is blocked).
from csp.constants import NONCE, NONE, SELF  # noqa: E402 - kept with the policy it serves

_CSP = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if env_bool("MDM_CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY = None, _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

# File imports (catalog CSV/XLSX, GPO price files, API uploads): larger files are refused with 413 before they
# are parsed; an XLSX may expand to at most MDM_IMPORT_MAX_UNCOMPRESSED_BYTES (a zip bomb is refused unread).
MDM_IMPORT_MAX_BYTES = int(os.environ.get("MDM_IMPORT_MAX_BYTES", 25 * 1024 * 1024))
MDM_IMPORT_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("MDM_IMPORT_MAX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024))
# Uploads above this size are streamed to a temporary file instead of held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440))

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Hub API tokens (hashed, scoped: mdm.api.authentication), then the browser session. Plain DRF tokens are gone.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mdm.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # One limit per token, per signed-in person and per anonymous address; rates: MDM_API_RATE_* (Identity).
    "DEFAULT_THROTTLE_CLASSES": [
        "mdm.api.throttling.TokenRateThrottle",
        "mdm.api.throttling.UserRateThrottle",
        "mdm.api.throttling.AnonRateThrottle",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["mdm.api.permissions.IsAuthenticatedWithModelPerms"],
    "DEFAULT_FILTER_BACKENDS": [
        "mdm.api.as_of.AsOfFilterBackend",
        "mdm.api.as_of.AsOfSearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "mdm.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mdm.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "mdm.api.renderers.BrowsableAPIRenderer",  # DRF's, with inline styles allowed on its pages (CSP)
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MDM hub API",
    "DESCRIPTION": "Golden records for suppliers, items, units and contract prices; source-record ingest.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI assets are served from the package, not a CDN: the docs work offline and behind firewalls.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" field with different choices: name each enum after its meaning.
    "ENUM_NAME_OVERRIDES": {
        "RecordStatusEnum": "mdm.choices.RecordStatus",
        "IngestBatchStatusEnum": "mdm.models.sources.IngestBatch.Status",
        "QuarantineStatusEnum": "mdm.models.sources.QuarantinedRecord.Status",
        "ContractKindEnum": "contracts.choices.ContractKind",
        "CandidateBandEnum": "mdm.models.matching.MatchCandidate.Band",
        "MatchBandEnum": ["match", "review", "distinct"],
        "ChangeKindEnum": "mdm.models.changes.ChangeRequest.Kind",
        "ChangeRequestStatusEnum": "mdm.models.changes.ChangeRequest.Status",
        "DeliveryStatusEnum": "sync.models.Delivery.Status",
        "ChangeOriginEnum": "mdm.models.changes.ChangeRequest.Origin",
        "ChangeRiskEnum": "mdm.models.changes.ChangeRequest.Risk",
        "DecisionActionEnum": "mdm.models.changes.DecisionLog.Action",
    },
}

# --- Ingest -------------------------------------------------------------------------------------
INGEST_MAX_BATCH = int(os.environ.get("INGEST_MAX_BATCH", 1000))
# Request bodies up to this size are accepted (a full batch of rich payloads fits comfortably).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 20 * 1024 * 1024))

# --- Price checks (contracts.checks) ------------------------------------------------------------
# A task for each active contract ending within this many days; a price anomaly is a price per base unit
# whose robust z-score (|x - median| / 1.4826 MAD) is above the threshold and that is at least the minimum
# deviation (a fraction: 0.10 = 10 %) from the median of at least MIN_LINES prices of the item.
MDM_CONTRACT_EXPIRY_WARNING_DAYS = int(os.environ.get("MDM_CONTRACT_EXPIRY_WARNING_DAYS", 60))
MDM_PRICE_ANOMALY_THRESHOLD = os.environ.get("MDM_PRICE_ANOMALY_THRESHOLD", "3.5")
MDM_PRICE_ANOMALY_MIN_LINES = int(os.environ.get("MDM_PRICE_ANOMALY_MIN_LINES", 3))
MDM_PRICE_ANOMALY_MIN_DEVIATION = os.environ.get("MDM_PRICE_ANOMALY_MIN_DEVIATION", "0.10")

# --- Celery -------------------------------------------------------------------------------------
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # A broker that needs no server: messages are files under var/broker/ (one machine only).
    for sub in ("queue", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False  # the file-system transport has no fan-out exchanges
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Logging ------------------------------------------------------------------------------------
# One line per event on stderr, from Django, Celery and our code alike (mdm/logging.py): LOG_FORMAT=json (the
# default with DEBUG off: one JSON object per line, for a log shipper) or console (the default with DEBUG: readable
# key=value lines). Every line carries the correlation id of its request or job; secrets are redacted.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "").strip().lower() or ("console" if DEBUG else "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'console', not {LOG_FORMAT!r}.")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": "mdm.logging.formatter", "fmt": LOG_FORMAT}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's access lines: the request log (mdm.middleware.RequestLogMiddleware) says it with more.
        "django.server": {"level": "WARNING"},
    },
}
# Error reports (the DEBUG page, API error text, error mails) hide secret settings and headers and redact the rest.
DEFAULT_EXCEPTION_REPORTER_FILTER = "mdm.redaction.SafeExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "mdm.redaction.SafeExceptionReporter"

# Domain apps that register entities with the MDM machinery and contribute API routes.
# Matching (mdm.matching): batch runs train the model by EM once the master has
# MDM_MATCH_MIN_TRAINING_RECORDS records (the kinds' default weights before that); online look-ups skip blocking keys held by more than MDM_MATCH_KEY_CAP golden
# records and score at most MDM_MATCH_ONLINE_CANDIDATES of them; incremental matching proposes up to
# MDM_MATCH_REVIEW_TOP_K golden records per source record for review, creates golden records for new
# entities (MDM_MATCH_CREATE_NEW) and runs after every ingest batch that stored records (MDM_MATCH_ON_INGEST).
MDM_MATCH_KEY_CAP = int(os.environ.get("MDM_MATCH_KEY_CAP", 500))
MDM_MATCH_ONLINE_CANDIDATES = int(os.environ.get("MDM_MATCH_ONLINE_CANDIDATES", 50))
MDM_MATCH_REVIEW_TOP_K = int(os.environ.get("MDM_MATCH_REVIEW_TOP_K", 3))
MDM_MATCH_MIN_TRAINING_RECORDS = int(os.environ.get("MDM_MATCH_MIN_TRAINING_RECORDS", 1000))
MDM_MATCH_UNTRAINED_PRIOR = float(os.environ.get("MDM_MATCH_UNTRAINED_PRIOR", 0.01))
MDM_MATCH_CREATE_NEW = env_bool("MDM_MATCH_CREATE_NEW", True)
MDM_MATCH_ON_INGEST = env_bool("MDM_MATCH_ON_INGEST", True)

# Change requests: changes to the fields an entity marks sensitive (a supplier's bank accounts and tax identifiers)
# need MDM_CHANGE_SENSITIVE_APPROVALS approvers; low-risk fields sent by a source with trust rank at or below
# MDM_CHANGE_AUTO_APPROVE_TRUST_RANK are applied without a person (recorded as auto-approved; 0 turns that off).
# Requests waiting longer than MDM_CHANGE_SLA_HOURS and match proposals older than MDM_REVIEW_SLA_DAYS count as
# SLA breaches on the dashboard.
MDM_CHANGE_SENSITIVE_APPROVALS = int(os.environ.get("MDM_CHANGE_SENSITIVE_APPROVALS", 2))
MDM_CHANGE_AUTO_APPROVE_TRUST_RANK = int(os.environ.get("MDM_CHANGE_AUTO_APPROVE_TRUST_RANK", 10))
MDM_CHANGE_SLA_HOURS = int(os.environ.get("MDM_CHANGE_SLA_HOURS", 48))
MDM_REVIEW_SLA_DAYS = int(os.environ.get("MDM_REVIEW_SLA_DAYS", 5))
MDM_SURVIVORSHIP_ON_INGEST = env_bool("MDM_SURVIVORSHIP_ON_INGEST", True)

# --- Syndication (sync/) ------------------------------------------------------------------------------
# Nudge the delivery engine when a change commits (off: only the scheduled pump, every 5 s by default).
MDM_SYNC_KICK = env_bool("MDM_SYNC_KICK", True)
# A worker holds a target (and the deliveries it is sending) this long; a killed worker's work is picked up after.
MDM_SYNC_LEASE_SECONDS = int(os.environ.get("MDM_SYNC_LEASE_SECONDS", "60"))
# Transient failures: retry after base * 2^(attempt-1) seconds (jittered), at most this long apart.
MDM_SYNC_BACKOFF_BASE_SECONDS = float(os.environ.get("MDM_SYNC_BACKOFF_BASE_SECONDS", "2"))
MDM_SYNC_BACKOFF_MAX_SECONDS = float(os.environ.get("MDM_SYNC_BACKOFF_MAX_SECONDS", "600"))
# One delivery task works a target at most this long, then hands over to a fresh task.
MDM_SYNC_DELIVER_BUDGET_SECONDS = float(os.environ.get("MDM_SYNC_DELIVER_BUDGET_SECONDS", "30"))
# A delivery still pending, sending or waiting for a retry after this many minutes is late: the operations page
# shows its target red and /metrics counts it in mdm_sync_deliveries_unacknowledged_past_sla.
MDM_SYNC_DELIVERY_SLA_MINUTES = int(os.environ.get("MDM_SYNC_DELIVERY_SLA_MINUTES", "15"))
# /metrics: open when public (default with DEBUG), else a bearer token or a user with sync.view_delivery.
MDM_METRICS_PUBLIC = env_bool("MDM_METRICS_PUBLIC", DEBUG)
MDM_METRICS_TOKEN = env_secret("MDM_METRICS_TOKEN") or ""

# History reasons hold the change request's reason and approvers: longer than simple-history's default 100 characters.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

MDM_DOMAIN_APPS = ["uom", "suppliers", "items", "contracts"]
MDM_API_ROUTERS = [
    "mdm.api.urls.router",
    "uom.api.urls.router",
    "suppliers.api.urls.router",
    "items.api.urls.router",
    "contracts.api.urls.router",
    "sync.api.router",
]
