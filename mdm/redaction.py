"""Keep secrets out of text that leaves the hub's memory: log lines, error pages, delivery excerpts.

``redact(text)`` replaces with ``[redacted]``:

- the values of known secrets: SECRET_KEY (and its fallbacks), every FIELD_ENCRYPTION_KEY, MDM_FINGERPRINT_KEY,
  MDM_METRICS_TOKEN, passwords in the database, broker and cache URLs, and the credentials of syndication
  targets (registered with :func:`register_secret_column`; read from the database at most once a minute);
- API token secrets (``mdm_<prefix>_<secret>``) and ``Authorization`` header values (``Bearer ...``, ``Token ...``);
- the value of any ``password`` / ``api_key`` / ``secret`` / ``token`` key, in ``key=value`` text and in JSON;
- IBANs with valid check digits (shown as ``[iban ••••1234]``) and Fernet tokens (sealed values, ``[sealed]``).

It is called on every log line (``RedactingFilter``, ``mdm.logging``), so it must be cheap and must never need the
database in its path: the target credentials are a set refreshed at most every ``REFRESH_SECONDS``, on a
connection of its own (never inside the caller's transaction or query counts), and kept up to date at once when a
target is saved in this process. Without a database the other rules still apply.

``SafeExceptionReporterFilter`` and ``SafeExceptionReporter`` do the same for Django's error reports (the DEBUG
technical page, the plain-text report of API errors, error e-mails): settings and request headers that look
secret are hidden, and every remaining value, local variable and the exception message go through ``redact``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.views.debug import ExceptionReporter
from django.views.debug import SafeExceptionReporterFilter as DjangoSafeExceptionReporterFilter

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
REFRESH_SECONDS = 60
MIN_SECRET_LENGTH = 6
"""Known secrets shorter than this are not replaced by value (they would match ordinary words)."""

API_TOKEN = re.compile(r"mdm_[A-Za-z0-9]+_[A-Za-z0-9_-]{20,}")
AUTH_SCHEME = re.compile(r"(?i)\b(bearer|token|basic|digest)(\s+)[A-Za-z0-9._~+/=-]{12,}")
AUTH_HEADER = re.compile(
    r"""(?ix)
    (["']?[\w-]*authorization["']?\s*[:=]\s*)   # Authorization: / "HTTP_AUTHORIZATION": / authorization=
    ("[^"\r\n]*"|'[^'\r\n]*'|[^\r\n,;}&]+)
    """
)
_SCHEMES = ("bearer", "token", "basic", "digest", "apikey")
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "credential", "signature", "auth")
KEY_VALUE = re.compile(
    r"""(?ix)
    (?P<head>
      (?P<q>["']?)
      (?P<key>[a-z0-9_.-]*(?:password|passwd|pwd|passphrase|api[_-]?key|apikey|secret|token|credential|
                              private[_-]?key|access[_-]?key|signature)[a-z0-9_.-]*)
      (?P=q)\s*[:=]\s*
    )
    (?P<value>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[^\s,&;}\])]+)
    """
)
# Key names that look secret but hold no secret: prefixes, ids, counts, flags, scopes, states.
_HARMLESS_KEY = re.compile(r"(?i)(prefix|_ids?|_name|_count|_at|_state|_kind|_type|_url|scopes?|has_[a-z_]+|_set)$")
_HARMLESS_VALUE = re.compile(r"(?i)^(?:true|false|null|none|-?\d+(?:\.\d+)?|\[redacted\]|\*+|)$")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)\b")
FERNET = re.compile(r"gAAAAA[A-Za-z0-9_\-]{40,}={0,2}")

# --- known secret values ----------------------------------------------------------------------------------------

_columns: list[tuple[str, str]] = []  # (model label, field name) whose decrypted values are secrets
_column_values: set[str] = set()
_column_loaded_at = float("-inf")
_lock = threading.Lock()
_loading = threading.local()


def register_secret_column(model_label: str, field_name: str) -> None:
    """Treat every value of this encrypted column as a secret (a syndication target's credentials).

    Called from an app's ``ready()``; a save of such a row in this process adds its value at once.
    """
    from django.apps import apps
    from django.db.models.signals import post_save

    if (model_label, field_name) in _columns:
        return
    _columns.append((model_label, field_name))

    def saved(sender, instance, **kwargs):
        value = getattr(instance, field_name, None)
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            with _lock:
                _column_values.add(value)

    post_save.connect(
        saved, sender=apps.get_model(model_label), weak=False, dispatch_uid=f"mdm.redaction.{model_label}.{field_name}"
    )


def _url_password(url: str) -> str:
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


def _settings_secrets() -> tuple[str, ...]:
    values = [
        getattr(settings, "SECRET_KEY", ""),
        *getattr(settings, "SECRET_KEY_FALLBACKS", []),
        *getattr(settings, "FIELD_ENCRYPTION_KEYS", []),
        getattr(settings, "MDM_FINGERPRINT_KEY", ""),
        getattr(settings, "MDM_METRICS_TOKEN", ""),
        *(db.get("PASSWORD", "") for db in getattr(settings, "DATABASES", {}).values()),
        *(
            _url_password(str(getattr(settings, name, "") or ""))
            for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL")
        ),
    ]
    return tuple(v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH)


def _load_columns() -> set[str]:
    """The decrypted values of the registered columns, read on a connection of its own (see the module doc)."""
    from django.apps import apps
    from django.db import DEFAULT_DB_ALIAS, connections

    from mdm import crypto

    found: set[str] = set()
    connection = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with connection.cursor() as cursor:
            for label, field_name in _columns:
                model = apps.get_model(label)
                column = connection.ops.quote_name(model._meta.get_field(field_name).column)
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND {column} <> ''")  # noqa: S608
                for (token,) in cursor.fetchall():
                    try:
                        value = crypto.decrypt(token)
                    except crypto.DecryptionError:  # the key rotation's report, not a log line's
                        value = ""
                    if len(value) >= MIN_SECRET_LENGTH:
                        found.add(value)
    finally:
        connection.close()
    return found


def _column_secrets() -> frozenset[str]:
    global _column_loaded_at
    now = time.monotonic()
    if _columns and now - _column_loaded_at > REFRESH_SECONDS and not getattr(_loading, "active", False):
        _loading.active = True  # a log line written while loading (a query log) must not load again
        try:
            values = _load_columns()
            with _lock:
                _column_values.update(values)
        except Exception:  # noqa: S110 - no database (yet), no access: keep what is known, try again later
            pass
        finally:
            _column_loaded_at = now
            _loading.active = False
    return frozenset(_column_values)


def forget_known_secrets() -> None:
    """Drop the cached target credentials (tests; after a credential was removed everywhere)."""
    global _column_loaded_at
    with _lock:
        _column_values.clear()
        _column_loaded_at = float("-inf")


@lru_cache(maxsize=8)
def _known_pattern(secrets: frozenset[str]) -> re.Pattern | None:
    if not secrets:
        return None
    # Longest first, so a secret that contains another is replaced whole.
    return re.compile("|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True)))


def known_secrets() -> frozenset[str]:
    return frozenset(_settings_secrets()) | _column_secrets()


# --- redact -------------------------------------------------------------------------------------------------------


def _key_value(match: re.Match) -> str:
    key, value = match.group("key"), match.group("value")
    bare = value[1:-1] if value[:1] in "\"'" and len(value) >= 2 else value
    if _HARMLESS_KEY.search(key) or _HARMLESS_VALUE.match(bare):
        return match.group(0)
    quote = value[0] if value[:1] in "\"'" else ""
    return f"{match.group('head')}{quote}{REDACTED}{quote}"


def _auth_header(match: re.Match) -> str:
    """``Authorization: Bearer abc`` -> ``Authorization: Bearer [redacted]`` (the scheme and quotes kept)."""
    value = match.group(2)
    quote = value[0] if value[:1] in "\"'" and len(value) >= 2 and value[-1] == value[0] else ""
    inner = value[1:-1] if quote else value
    scheme, _, credentials = inner.strip().partition(" ")
    shown = f"{scheme} {REDACTED}" if scheme.lower() in _SCHEMES and credentials else REDACTED
    return f"{match.group(1)}{quote}{shown}{quote}"


def _iban(match: re.Match) -> str:
    text = match.group(0)
    compact = text.replace(" ", "")
    try:
        from stdnum import iban

        valid = iban.is_valid(compact)
    except ImportError:  # pragma: no cover - python-stdnum is a dependency
        valid = True
    return f"[iban ••••{compact[-4:]}]" if valid else text


def redact(text: str) -> str:
    """Text with secrets replaced by ``[redacted]`` (an IBAN keeps its last four characters)."""
    if not text or not isinstance(text, str):
        return text
    if type(text) is not str:  # a lazy string (a translation, a lazily built setting): the text it stands for
        text = str(text)
    pattern = _known_pattern(known_secrets())
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    if "mdm_" in text:
        text = API_TOKEN.sub(REDACTED, text)
    lower = text.lower()
    if "auth" in lower:
        text = AUTH_HEADER.sub(_auth_header, text)
    if any(word in lower for word in ("bearer", "token", "basic", "digest")):
        text = AUTH_SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    if any(word in lower for word in _SECRET_WORDS):
        text = KEY_VALUE.sub(_key_value, text)
    if "gAAAAA" in text:
        text = FERNET.sub("[sealed]", text)
    return IBAN.sub(_iban, text)


def redact_value(value):
    """``value`` with every string in it redacted (dicts, lists and tuples walked); other values as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact_value(v) for v in value)
    return value


# --- logging ------------------------------------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Redacts a record's message (with its arguments merged in), its exception text and stack before formatting.

    Wire it on the handlers (``"filters": ["redact"]``): a filter on a handler sees the records of every logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, dict):
        # A structlog event (mdm.logging): its formatter needs the dict and redacts every value itself.
        return
    try:
        message = record.getMessage()
    except Exception:  # noqa: S110 - a broken format string: the formatter reports it
        return
    clean = redact(message)
    if clean != message:  # otherwise keep msg and args apart (error trackers group lines by the template)
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install_record_factory() -> None:
    """Redact every log record where it is made, so every handler sees it clean: the console, a file, an error
    tracker, pytest's capture. (A filter on one handler protects only that handler; a logger's filter only that
    logger's own lines.) Installed once, from ``MdmConfig.ready``."""
    current = logging.getLogRecordFactory()
    if getattr(current, "mdm_redacting", False):
        return

    def factory(*args, **kwargs):
        record = current(*args, **kwargs)
        _redact_record(record)
        return record

    factory.mdm_redacting = True
    logging.setLogRecordFactory(factory)


# --- error reports ------------------------------------------------------------------------------------------------


class _Shown:
    """A value as the error page shows it (its repr), redacted."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


class SafeExceptionReporterFilter(DjangoSafeExceptionReporterFilter):
    """Django's filter, with more setting names hidden and ``redact`` over what is still shown.

    Also active with DEBUG on (the technical page is where local variables are shown).
    """

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DSN|CREDENTIAL|DATABASE_URL|BROKER_URL|CACHE_URL|"
        "RESULT_BACKEND|IBAN|ACCOUNT_NUMBER",
        flags=re.I,
    )

    def is_active(self, request):
        return True

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        return redact(cleansed) if isinstance(cleansed, str) else cleansed

    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if not params:
            return params
        params = params.copy()
        for key in list(params.keys()):
            if self.hidden_settings.search(key):
                params[key] = self.cleansed_substitute
            else:
                values = params.getlist(key) if hasattr(params, "getlist") else [params[key]]
                cleaned = [redact(v) if isinstance(v, str) else v for v in values]
                if hasattr(params, "setlist"):
                    params.setlist(key, cleaned)
                else:
                    params[key] = cleaned[-1] if cleaned else ""
        return params

    def get_traceback_frame_variables(self, request, tb_frame):
        shown = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if value == self.cleansed_substitute or name in ("__traceback_hide__",):
                shown.append((name, value))
            elif isinstance(name, str) and self.hidden_settings.search(name):
                shown.append((name, self.cleansed_substitute))
            else:
                try:
                    text = repr(value)
                except Exception:
                    text = f"<{type(value).__name__} object (repr failed)>"
                shown.append((name, _Shown(redact(text))))
        return shown


class SafeExceptionReporter(ExceptionReporter):
    """The error report with the exception message, the URL and the query string redacted as well."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        for key in ("exception_value", "exception_notes", "request_insecure_uri"):
            if isinstance(data.get(key), str):
                data[key] = redact(data[key])
        if "request_GET_items" in data:
            hidden = SafeExceptionReporterFilter.hidden_settings
            data["request_GET_items"] = [
                (k, SafeExceptionReporterFilter.cleansed_substitute if hidden.search(k) else redact(v))
                for k, v in data["request_GET_items"]
            ]
        for frame in data.get("frames", []):
            if "exc_cause" in frame and frame["exc_cause"] is not None:
                frame["exc_cause"] = _Shown(redact(str(frame["exc_cause"])))
        return data
