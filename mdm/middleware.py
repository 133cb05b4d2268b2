"""Request middleware: a correlation id for every request (from ``X-Request-ID`` or new), echoed back."""

import re

from mdm.context import bound, new_correlation_id

_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


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
