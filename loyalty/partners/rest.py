"""What every view of the partner API shares (mounted by ``loyalty/api.py``).

- ``exception_handler`` turns every error under ``/api/`` into
  ``{"error": {"code": ..., "message": ..., "fields": {...}}}``: the ``LoyaltyError``
  hierarchy by its ``status`` and ``code``, DRF's errors by theirs, anything unexpected
  by a 500 with no details.
- ``not_found`` answers any other path under ``/api/`` with a JSON 404;
- ``idempotent_post`` runs a POST once per partner and ``Idempotency-Key`` (required);
- ``error_responses`` documents every error code an operation can answer, with the real
  rendering of each as its example.
"""

import hashlib
import json
import logging
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import exceptions, serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response

from loyalty.exceptions import (
    AlreadyUsed,
    AmountMismatch,
    Conflict,
    CurrencyMismatch,
    EventNotAwaitingApproval,
    ExternalIdConflict,
    HoldNotOpen,
    HoldOutOfRange,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    InsufficientPoints,
    InvalidMemberNumber,
    InvalidReferralCode,
    LimitReached,
    LoyaltyError,
    MemberClosed,
    MemberMerged,
    MemberSuspended,
    NotCancellable,
    NotEligible,
    NotFound,
    NotReversible,
    OutOfStock,
    PresenceCodeExpired,
    PresenceCodeInvalid,
    PresenceCodeLocked,
    PresenceCodeRequired,
    PresenceCodeUsed,
    ReturnExceedsPurchase,
    UnknownEventType,
    VoucherNotUsable,
)
from loyalty.partners.parsers import PayloadTooLarge, too_large_message
from loyalty.partners.services import idempotent_run
from loyalty.unavailable import RETRY_AFTER_SECONDS, SERVICE_DOWN

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,200}$"  # 1 to 200 printable ASCII characters, no spaces
IDEMPOTENCY_KEY_MESSAGE = "An idempotency key has 1 to 200 printable ASCII characters without spaces."


@extend_schema_serializer(component_name="Error")
class ErrorSerializer(serializers.Serializer):
    """The error shape of every 4xx and 5xx response."""

    class ErrorDetail(serializers.Serializer):
        code = serializers.CharField(
            help_text="A stable, machine-readable code: each operation lists the codes it can answer."
        )
        message = serializers.CharField(help_text="A human-readable explanation.")
        fields = serializers.DictField(
            help_text="Field name → list of messages, for the fields that are not valid (empty otherwise)."
        )
        details = serializers.DictField(
            required=False,
            help_text="Extra facts about the error, e.g. the available points on `insufficient_points`.",
        )

    error = ErrorDetail(help_text="What went wrong.")


STATUS_DESCRIPTIONS = {
    400: "The request is not valid.",
    401: "No API key, or a wrong or revoked one.",
    403: "Not allowed: a scope the key lacks, or a missing or wrong proof of the member's presence.",
    404: "Not found.",
    409: "A conflict with the current state.",
    413: "The request body is too large.",
    415: "The request body is not JSON.",
    429: "Too many requests with this API key: wait `Retry-After` seconds.",
}

# Every error code an operation can answer: its status, when it happens, and the exception
# whose real rendering (by ``exception_handler``) is the schema's example.
ERRORS = {
    "invalid": (
        400,
        "a field is not valid (see `fields`)",
        lambda: exceptions.ValidationError({"email": ["Enter a valid email address."]}),
    ),
    "parse_error": (
        400,
        "the body is not well-formed JSON",
        lambda: exceptions.ParseError("JSON parse error - Expecting value: line 1 column 11 (char 10)"),
    ),
    "invalid_member_number": (
        400,
        "the member number is not 10 digits or its check digit is wrong (a typo)",
        lambda: InvalidMemberNumber(field="member_number"),
    ),
    "invalid_referral_code": (
        400,
        "`referral_code` is no member's code, or a closed member's",
        lambda: InvalidReferralCode(field="referral_code"),
    ),
    "idempotency_key_required": (
        400,
        "no `Idempotency-Key` header",
        lambda: IdempotencyKeyRequired(field="Idempotency-Key"),
    ),
    "not_authenticated": (401, "no `Authorization` header", lambda: exceptions.NotAuthenticated()),
    "authentication_failed": (
        401,
        "a wrong, revoked or expired key",
        lambda: exceptions.AuthenticationFailed("Invalid or revoked API key."),
    ),
    "permission_denied": (
        403,
        "the key lacks this operation's scope",
        lambda: exceptions.PermissionDenied("This API key does not have the scope this operation needs."),
    ),
    "presence_code_required": (
        403,
        "a debit of a member another partner enrolled, without `presence_code`",
        lambda: PresenceCodeRequired(),
    ),
    "presence_code_invalid": (403, "not the member's current code", lambda: PresenceCodeInvalid()),
    "presence_code_expired": (403, "the code's minutes are over", lambda: PresenceCodeExpired()),
    "presence_code_used": (403, "the code was already spent", lambda: PresenceCodeUsed()),
    "presence_code_locked": (
        403,
        "too many wrong codes: the member must show a new one",
        lambda: PresenceCodeLocked(),
    ),
    "unknown_event_type": (400, "no active event type has this code", lambda: UnknownEventType(field="type")),
    "not_found": (
        404,
        "no member has this number, or the path names nothing of this partner's (a transaction, an event)",
        lambda: NotFound("No member has this number."),
    ),
    "conflict": (
        409,
        "a member with this e-mail exists (nothing more is said about it)",
        lambda: Conflict("This e-mail is already registered.", field="email"),
    ),
    "idempotency_conflict": (409, "this `Idempotency-Key` was used with another body", lambda: IdempotencyConflict()),
    "event_not_awaiting_approval": (
        409,
        "the event was already approved or declined, or never needed approval",
        lambda: EventNotAwaitingApproval(outcome="earned"),
    ),
    "insufficient_points": (
        409,
        "a debit beyond the available points",
        lambda: InsufficientPoints("Only 10 points are available; 11 were asked for.", available=10, requested=11),
    ),
    "member_suspended": (409, "the member is suspended: nothing moves", lambda: MemberSuspended()),
    "member_closed": (409, "the member's account is closed", lambda: MemberClosed()),
    "member_merged": (
        409,
        "the number was merged into another member's: `details.merged_into` is the survivor's",
        lambda: MemberMerged(merged_into="2345678907"),
    ),
    "currency_mismatch": (
        400,
        "`currency` is not the program's",
        lambda: CurrencyMismatch("The program counts in EUR, not USD.", field="currency", expected="EUR"),
    ),
    "amount_mismatch": (
        400,
        "the items do not add up to `amount` within the program's rounding tolerance",
        lambda: AmountMismatch(
            "The items add up to 84.50, not 85.00 (tolerance 0.05).",
            field="amount",
            items_total="84.50",
            tolerance="0.05",
        ),
    ),
    "external_id_conflict": (
        409,
        "this `external_id` was already posted by this partner with other content",
        lambda: ExternalIdConflict(field="external_id"),
    ),
    "return_exceeds_purchase": (
        409,
        "the return gives back more than is left of the transaction (nothing is written)",
        lambda: ReturnExceedsPurchase("Line 2 (MUG-BLUE) has 0 left to return.", field="items"),
    ),
    "out_of_stock": (409, "no unit (or no code of its pool) of the reward is left", lambda: OutOfStock()),
    "limit_reached": (
        409,
        "the member already redeemed this reward as often as its limit allows in the period",
        lambda: LimitReached("This reward can be redeemed 1 time per month.", limit=1, period="month"),
    ),
    "not_eligible": (
        409,
        "the reward is not for this member now (tier, dates, inactive, or not accepted by this partner)",
        lambda: NotEligible("This reward is for Gold members.", reason="tier"),
    ),
    "already_used": (409, "the voucher was used already", lambda: AlreadyUsed(used_at="2026-12-01T10:15:00Z")),
    "voucher_not_usable": (
        409,
        "the voucher expired or was cancelled",
        lambda: VoucherNotUsable("This voucher expired on 2026-11-30.", status="expired"),
    ),
    "not_cancellable": (
        409,
        "the voucher was used, or its cancellation window is over",
        lambda: NotCancellable("This voucher could be cancelled until 2026-12-01 10:15."),
    ),
    "hold_not_open": (
        409,
        "the hold was captured, voided or released already",
        lambda: HoldNotOpen(status="captured"),
    ),
    "not_reversible": (
        409,
        "nothing is left to refund of this hold, or fewer points than asked (`details.reversible`)",
        lambda: NotReversible("40 points of this entry can still be reversed.", reversible=40),
    ),
    "hold_out_of_range": (
        400,
        "the points are outside the share of the basket points may pay (`details.min_points`, `details.max_points`)",
        lambda: HoldOutOfRange(field="points", min_points=0, max_points=2500),
    ),
    "payload_too_large": (
        413,
        "a body over the size limit",
        lambda: _Coded(413, "payload_too_large", "The request body is larger than 65536 bytes."),
    ),
    "unsupported_media_type": (
        415,
        "a body that is not `application/json`",
        lambda: exceptions.UnsupportedMediaType("application/x-www-form-urlencoded"),
    ),
    "throttled": (429, "over the key's rate limit", lambda: exceptions.Throttled(30)),
}


class _Coded(exceptions.APIException):
    def __init__(self, status_code, code, message):
        self.status_code = status_code
        super().__init__(message, code)


# The errors every authenticated operation can answer.
AUTH_ERRORS = ("not_authenticated", "authentication_failed", "permission_denied", "throttled")
BODY_ERRORS = ("invalid", "parse_error", "idempotency_key_required", "payload_too_large", "unsupported_media_type")


def error_responses(*codes: str, invalid: dict | None = None) -> dict:
    """``extend_schema`` responses for the error codes an operation can answer, one real example each.

    ``invalid``: the ``fields`` of this operation's ``invalid`` example.
    """
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERRORS[code][0], []).append(code)
    responses = {}
    for status_code, status_codes in sorted(by_status.items()):
        lines = [f"- `{code}`: {ERRORS[code][1]}" for code in status_codes]
        examples = []
        for code in status_codes:
            exc = ERRORS[code][2]()
            if code == "invalid" and invalid:
                exc = exceptions.ValidationError(invalid)
            examples.append(
                OpenApiExample(
                    code, value=exception_handler(exc, {}).data, response_only=True, status_codes=[str(status_code)]
                )
            )
        responses[status_code] = OpenApiResponse(
            ErrorSerializer,
            description=STATUS_DESCRIPTIONS[status_code] + " `code` is one of:\n\n" + "\n".join(lines),
            examples=examples,
        )
    return responses


IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=True,
    description="Required: any unique string (1 to 200 printable ASCII characters without spaces, e.g. a UUID). "
    "A repeat with the same key and body returns the first response without a second effect, for "
    f"{settings.IDEMPOTENCY_KEY_RETENTION_DAYS} days (`IDEMPOTENCY_KEY_RETENTION_DAYS`); "
    "the same key with another body answers 409 `idempotency_conflict`.",
)

RATE_LIMIT_HEADERS = [
    OpenApiParameter(
        name,
        int,
        OpenApiParameter.HEADER,
        response=True,
        description=description,
    )
    for name, description in (
        ("RateLimit-Limit", "Requests this key may make in the rate-limit window."),
        ("RateLimit-Remaining", "Requests left in the window."),
        ("RateLimit-Reset", "Seconds until the oldest counted request leaves the window."),
    )
]
LOCATION_HEADER = OpenApiParameter(
    "Location", str, OpenApiParameter.HEADER, response=[201], description="The URL of what was created."
)


def own_or_not_found(queryset, message: str, **lookup):
    """The one row of the partner's own ``queryset`` that matches, or the API's 404 with ``message``.

    Another partner's row answers exactly as a row that does not exist: ids reveal nothing. An
    id beyond a bigint matches no row (and the database could not compare it: a 500 otherwise).
    """
    if any(isinstance(value, int) and not 0 < value < 2**63 for value in lookup.values()):
        raise NotFound(message)
    row = queryset.filter(**lookup).first()
    if row is None:
        raise NotFound(message)
    return row


def idempotency_key(request) -> str:
    """The request's ``Idempotency-Key``: 400 ``idempotency_key_required`` without one, ``invalid`` if malformed."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise IdempotencyKeyRequired(field="Idempotency-Key")
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise exceptions.ValidationError({"Idempotency-Key": [IDEMPOTENCY_KEY_MESSAGE]})
    return key


def idempotent_post(request, action, *, prepare=None, location=None) -> Response:
    """Run ``action`` once per partner and ``Idempotency-Key`` header (see ``idempotent_run``).

    ``location(body)``: the ``Location`` of a 201, computed from the (possibly stored) body.
    """
    key = idempotency_key(request)
    fingerprint = json.dumps(
        [request.method, request.path, request.data], sort_keys=True, default=str, separators=(",", ":")
    )
    status_code, body = idempotent_run(
        partner=request.user,
        key=key,
        request_hash=hashlib.sha256(fingerprint.encode()).hexdigest(),
        action=action,
        prepare=prepare,
    )
    headers = {"Location": request.build_absolute_uri(location(body))} if location and status_code == 201 else None
    return Response(body, status=status_code, headers=headers)


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
    if isinstance(exc, SERVICE_DOWN):
        logger.warning("The cache or the broker does not answer: 503", exc_info=exc)
        message = "A service the API relies on is restarting: retry in a few seconds with the same Idempotency-Key."
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return Response(error_body("service_unavailable", message), status=503, headers=headers)
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
