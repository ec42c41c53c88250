"""What every view of the partner API shares (mounted by ``loyalty/api.py``).

- ``exception_handler`` turns every error under ``/api/`` into
  ``{"error": {"code": ..., "message": ..., "fields": {...}}}``: the ``LoyaltyError``
  hierarchy by its ``status`` and ``code``, DRF's errors by theirs, anything unexpected
  by a 500 with no details.
- ``not_found`` answers any other path under ``/api/`` with a JSON 404;
- ``idempotent_post`` runs a POST once per partner and ``Idempotency-Key``.
"""

import hashlib
import json
import logging
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response

from loyalty.exceptions import LoyaltyError
from loyalty.partners.parsers import PayloadTooLarge, too_large_message
from loyalty.partners.services import idempotent_run

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,200}$"  # 1 to 200 printable ASCII characters, no spaces
IDEMPOTENCY_KEY_MESSAGE = "An idempotency key has 1 to 200 printable ASCII characters without spaces."


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    """The error shape of every 4xx and 5xx response."""

    class ErrorDetail(serializers.Serializer):
        code = serializers.CharField(help_text="A stable, machine-readable code, e.g. `insufficient_points`.")
        message = serializers.CharField(help_text="A human-readable explanation.")
        fields = serializers.DictField(
            help_text="Field name → list of messages, for the fields that are not valid (empty otherwise)."
        )
        details = serializers.DictField(
            required=False, help_text="Extra facts about the error, e.g. the existing `member_number` on a conflict."
        )

    error = ErrorDetail(help_text="What went wrong.")


def error_responses(*statuses: int) -> dict:
    """``extend_schema`` responses for the error statuses an endpoint can answer."""
    descriptions = {
        400: "The request is not valid (see `fields`), or malformed JSON.",
        401: "No API key, or a wrong or revoked one.",
        403: "The API key lacks the scope this operation needs.",
        404: "No such member, or not visible to this partner.",
        405: "Method not allowed.",
        409: "A conflict: see `code`.",
        413: "The request body is too large.",
        415: "The request body is not JSON.",
        429: "Too many requests with this API key: wait `Retry-After` seconds.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in statuses}


IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (1 to 200 printable ASCII characters without spaces, e.g. a UUID). "
    "A repeat with the same key and body returns the first response without a second effect; "
    "the same key with another body answers 409.",
)


def idempotent_post(request, action) -> Response:
    """Run ``action() -> (status, body)`` once per partner and ``Idempotency-Key`` header."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise exceptions.ValidationError({"Idempotency-Key": [IDEMPOTENCY_KEY_MESSAGE]})
    fingerprint = json.dumps(
        [request.method, request.path, request.data], sort_keys=True, default=str, separators=(",", ":")
    )
    status_code, body = idempotent_run(
        partner=request.user,
        key=key,
        request_hash=hashlib.sha256(fingerprint.encode()).hexdigest(),
        action=action,
    )
    return Response(body, status=status_code)


def error_body(code: str, message: str, fields: dict | None = None, **details) -> dict:
    error = {"code": code, "message": message, "fields": fields or {}}
    if details:
        error["details"] = details
    return {"error": error}


def exception_handler(exc, context):
    """The one mapping from exceptions to API error responses."""
    headers = {}
    if isinstance(exc, LoyaltyError):
        details = dict(exc.details)
        field = details.pop("field", None)
        fields = {field: [exc.message]} if field else {}
        return Response(error_body(exc.code, exc.message, fields, **details), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):  # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = PayloadTooLarge(too_large_message(settings.API_MAX_BODY_BYTES))
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request is malformed.")
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(error_body("invalid", "The request is not valid.", _flatten(fields)), status=400)
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        return Response(error_body(code, str(exc.detail)), status=exc.status_code, headers=headers)
    logger.exception("Unexpected error in the API", exc_info=exc)
    return Response(error_body("server_error", "An unexpected error occurred."), status=500)


def _flatten(fields):
    """DRF's nested error details as plain strings (lists stay lists, nested dicts stay dicts)."""
    if isinstance(fields, dict):
        return {str(name): _flatten(value) for name, value in fields.items()}
    if isinstance(fields, list):
        return [_flatten(value) for value in fields]
    return str(fields)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
def not_found(request, *args, **kwargs):
    raise exceptions.NotFound("No such endpoint.")
