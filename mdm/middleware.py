"""Request middleware: a correlation id for every request (from ``X-Request-ID`` or new), echoed back; and the
request log, one structured line per request (``mdm.logging``)."""

import re
import time

from django.conf import settings

from mdm.context import bound, new_correlation_id
from mdm.logging import current_request, get_logger, username_of

_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

request_log = get_logger("mdm.request")


class CorrelationIdMiddleware:
    header = "X-Request-ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(self.header, "")
        correlation = incoming if _VALID.match(incoming) else new_correlation_id()
        request.correlation_id = correlation
        with bound(correlation=correlation):
            response = self.get_response(request)
        response[self.header] = correlation
        return response


def query_names(request) -> str:
    """The query string's parameter names only (``page&q``): values may carry tokens, names and searches."""
    return "&".join(dict.fromkeys(request.GET.keys()))


class RequestLogMiddleware:
    """One line per request: method, path, parameter names, status, duration, user and correlation id.

    Placed right after ``CorrelationIdMiddleware`` so the line carries the request's correlation id and the
    duration covers the whole stack. Health checks and static files are not logged (a probe every few seconds
    would drown the rest).
    """

    skipped = ("/healthz", "/readyz", "/favicon.ico")

    def __init__(self, get_response):
        self.get_response = get_response
        static = "/" + settings.STATIC_URL.lstrip("/") if settings.STATIC_URL else ""
        self.skipped_prefixes = tuple(p for p in (*self.skipped, static) if p and p != "/")

    def __call__(self, request):
        if request.path.startswith(self.skipped_prefixes):
            return self.get_response(request)
        token = current_request.set(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            status = response.status_code
            fields = {
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }
            query = query_names(request)
            if query:
                fields["query"] = query
            user = username_of(request)
            if user:
                fields["user"] = user
            if status >= 500:
                request_log.error("request", **fields)
            else:
                request_log.info("request", **fields)
            return response
        finally:
            current_request.reset(token)
