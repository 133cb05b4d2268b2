"""One JSON error shape for the whole API: ``{"detail", "code", "errors": {field: [messages]}}``."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def _as_lists(errors):
    if isinstance(errors, dict):
        return {key: _as_lists(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_as_lists(value) for value in errors]
    return str(errors)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            {
                "detail": "Internal server error; nothing was written. The error has been logged.",
                "code": "server_error",
            },
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = _as_lists(exc.detail)
        if not isinstance(errors, dict):
            errors = {"non_field_errors": errors}
        response.data = {"detail": "Invalid input.", "code": "invalid", "errors": errors}
    elif isinstance(exc, exceptions.ParseError):
        response.data = {"detail": f"Malformed request body: {exc.detail}", "code": "parse_error"}
    elif isinstance(exc, Http404):
        response.data = {"detail": "Not found.", "code": "not_found"}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        response.data = {
            "detail": str(detail) if not isinstance(detail, dict | list) else "Request refused.",
            "code": exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code,
        }
        if isinstance(detail, dict | list):
            response.data["errors"] = _as_lists(detail)
    return response


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request too large."
    default_code = "too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"
