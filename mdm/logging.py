"""Structured logs: every line of Django, Celery, the libraries and our own code as one JSON object (or, on a
developer's machine, one readable ``key=value`` line), each with the correlation id of the request or job.

structlog renders through the standard ``logging`` module (``structlog.stdlib.ProcessorFormatter``), so a line
from ``logging.getLogger(__name__).info(...)`` and one from ``structlog.get_logger().info(...)`` come out alike:

    {"timestamp": "2026-11-24T18:42:28.123456Z", "level": "info", "logger": "mdm.request", "event": "request",
     "correlation_id": "trace-me-123", "user": "sam.steward", "method": "GET", "path": "/trace/", "status": 200,
     "duration_ms": 12.4}

Fields given with ``extra={...}`` on a standard logger become keys of the line. Every string value (and, for the
console format, the whole line) goes through ``mdm.redaction.redact`` last, so a secret that reaches a log call
still does not reach the log. ``settings.LOGGING`` names :func:`formatter`; Celery workers apply the same
configuration (``mdm.celery``).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any

import structlog
from django.utils.functional import SimpleLazyObject, empty

from mdm.context import current_correlation_id

FORMATS = ("json", "console")

#: The request being served (set by ``mdm.middleware.RequestLogMiddleware``): lines logged while it runs name its
#: user once authentication has resolved one.
current_request: ContextVar[Any] = ContextVar("current_request", default=None)

# Extra attributes of foreign records that must not reach a line: Django's ``django.request`` logger passes the
# request object (its repr carries the query string) and ``django.server`` a server timestamp.
_DROPPED_EXTRAS = ("request", "server_time")


def username_of(request) -> str:
    """The request's user when authentication has already resolved it ('' otherwise, and for anonymous users).

    Never forces the lazy user: that would cost a query per line and, with query logging on, log recursively.
    """
    if request is None:
        return ""
    user = request.__dict__.get("user")
    if user is None:
        return ""
    if isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:
            return ""
        user = user._wrapped
    if not getattr(user, "is_authenticated", False):
        return ""
    return str(getattr(user, "username", "") or "")


def add_context(logger, method_name, event_dict):
    """The correlation id and user of the current request or job (a value already on the line wins)."""
    if not event_dict.get("correlation_id"):
        correlation = current_correlation_id()
        if correlation:
            event_dict["correlation_id"] = correlation
    if "user" not in event_dict:
        user = username_of(current_request.get())
        if user:
            event_dict["user"] = user
    return event_dict


def drop_unsafe_extras(logger, method_name, event_dict):
    for key in _DROPPED_EXTRAS:
        event_dict.pop(key, None)
    return event_dict


def redact(text: str) -> str:
    # Imported on use: this module is loaded while Django configures logging, before the apps are ready, and the
    # redaction may need them (the secrets it knows come from settings and targets).
    from mdm.redaction import redact as _redact

    return _redact(text)


def _redacted(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


REDACTED = "[redacted]"
_SECRET_FIELD = re.compile(r"(?i)pass(word|wd|phrase)?$|secret|token|api_?key|credential|signature|authorization")
_LEADING = ("timestamp", "level", "logger", "event", "correlation_id", "user")


def redact_values(logger, method_name, event_dict):
    """Secrets out of every string value (nested ones too), after exceptions were formatted into text, and the
    whole value of a field named like a secret (``password=...``, ``api_key=...``); the common keys first, so
    lines read alike."""
    ordered = {key: event_dict[key] for key in _LEADING if key in event_dict}
    ordered.update(event_dict)
    return {
        key: REDACTED if _SECRET_FIELD.search(key) and value not in (None, "") else _redacted(value)
        for key, value in ordered.items()
    }


def redact_line(logger, method_name, line: str) -> str:
    """Secrets out of a rendered line (the console format, whose tracebacks are rendered last)."""
    return redact(line)


def _shared_processors() -> list:
    """What every line gets, whether it was logged with structlog or with the standard ``logging`` module."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        drop_unsafe_extras,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        add_context,
    ]


def _final_processors(fmt: str) -> list:
    if fmt == "json":
        return [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.StackInfoRenderer(),
            redact_values,
            structlog.processors.JSONRenderer(sort_keys=False, default=str),
        ]
    return [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        # Plain tracebacks: the rich default would print local variables, which may hold secrets.
        structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback),
        redact_line,
    ]


def formatter(fmt: str = "json") -> structlog.stdlib.ProcessorFormatter:
    """The ``logging`` formatter of ``settings.LOGGING`` (``"()": "mdm.logging.formatter"``).

    Building it also configures structlog itself, so whatever applies ``settings.LOGGING`` (Django at start-up,
    a Celery worker, a management command) gets structlog loggers that render through the same handlers.
    """
    if fmt not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    configure_structlog()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.PositionalArgumentsFormatter()],
        processors=_final_processors(fmt),
    )


def configure_structlog() -> None:
    """structlog loggers hand their events to the standard ``logging`` module (filtered by its levels)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str):
    """A structlog logger: ``log.info("event", key=value)``."""
    return structlog.stdlib.get_logger(name)


__all__ = ["add_context", "configure_structlog", "current_request", "formatter", "get_logger"]
