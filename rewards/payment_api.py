"""The partner API for pay with points at a till: hold, capture, void, refund, read. Thin views over ``payments``.

``POST /api/v1/members/{member_number}/holds/`` is mounted by ``members/api.py``; the rest
under ``/api/v1/holds/`` by ``loyalty/api.py``. A partner sees and acts on its own holds only.
"""

from django.conf import settings
from django.urls import path, reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.ledger.models import HoldStatus
from loyalty.partners.fields import StrictCharField, StrictIntegerField, StrictRegexField
from loyalty.partners.rest import (
    AUTH_ERRORS,
    BODY_ERRORS,
    IDEMPOTENCY_KEY_HEADER,
    LOCATION_HEADER,
    RATE_LIMIT_HEADERS,
    error_responses,
    idempotent_post,
    own_or_not_found,
)
from members import selectors as member_selectors

from . import payments
from .models import PointsPayment

MAX_POINTS = 10**9
SCOPE = "rewards:redeem"
HOLD_ID_PARAMETER = OpenApiParameter("hold_id", int, OpenApiParameter.PATH, description="The hold's id.")
MEMBER_NUMBER_PARAMETER = OpenApiParameter(
    "member_number",
    str,
    OpenApiParameter.PATH,
    description="The member's card number: 10 digits, the last a Luhn check digit (spaces and dashes are ignored).",
)

HOLD_EXAMPLE = {
    "id": 42,
    "external_id": "basket-2027-03-10-0042",
    "member_number": "1234567897",
    "status": "open",
    "basket_amount": "42.50",
    "currency": "EUR",
    "points": 2000,
    "discount_amount": "20.00",
    "captured_points": 0,
    "captured_discount_amount": "0.00",
    "refunded_points": 0,
    "expires_at": "2027-03-10T12:15:00Z",
    "balance": 350,
    "created_at": "2027-03-10T12:00:00Z",
}
CAPTURED_EXAMPLE = {
    **HOLD_EXAMPLE,
    "status": "captured",
    "captured_points": 1500,
    "captured_discount_amount": "15.00",
    "balance": 850,
}
REFUNDED_EXAMPLE = {**CAPTURED_EXAMPLE, "refunded_points": 500, "balance": 1350}
VOIDED_EXAMPLE = {**HOLD_EXAMPLE, "status": "voided", "balance": 2350}


@extend_schema_serializer(component_name="PointsHold")
class HoldOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="hold_id", help_text="The hold's id: capture, void or refund it by this id.")
    external_id = serializers.CharField(help_text="The partner's own id of the basket: unique per partner.")
    member_number = serializers.CharField(source="member.member_number", help_text="The member's card number.")
    status = serializers.ChoiceField(
        source="hold.status",
        choices=HoldStatus.choices,
        help_text="`open` (points set aside), `captured` (spent), `voided` (given back), `expired` (not captured "
        "in time: given back).",
    )
    basket_amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="The basket's amount.")
    currency = serializers.CharField(help_text="The program's currency (ISO 4217).")
    points = serializers.IntegerField(help_text="The points held when the hold was placed.")
    discount_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="What the held points take off the basket (rounded down)."
    )
    captured_points = serializers.IntegerField(source="hold.captured", help_text="The points spent by the capture.")
    captured_discount_amount = serializers.SerializerMethodField(
        help_text="What the captured points take off the basket: the discount to apply at the till."
    )
    refunded_points = serializers.IntegerField(
        source="hold.refunded", help_text="The captured points given back since by refunds."
    )
    expires_at = serializers.DateTimeField(
        source="hold.expires_at", help_text="Until then the hold can be captured; after it, its points go back."
    )
    balance = serializers.IntegerField(source="member.account.balance", help_text="The member's spendable points.")
    created_at = serializers.DateTimeField(help_text="When the hold was placed.")

    def get_captured_discount_amount(self, payment) -> str:
        return str(payments.points_value(payment.hold.captured))


def hold_output(payment: PointsPayment) -> dict:
    return HoldOutputSerializer(payment).data


def _own_payment(partner, hold_id: int) -> PointsPayment:
    return own_or_not_found(
        PointsPayment.objects.select_related("hold", "member__account").filter(partner_id=partner.pk),
        "This partner placed no such hold.",
        hold_id=hold_id,
    )


HOLD_ERRORS = ("member_suspended", "member_closed", "idempotency_conflict")


class MemberHoldCreateApi(APIView):
    required_scopes = {"POST": SCOPE}

    @extend_schema_serializer(component_name="PointsHoldInput")
    class InputSerializer(serializers.Serializer):
        basket_amount = serializers.DecimalField(
            max_digits=14, decimal_places=2, help_text="What the basket costs before points pay part of it; above 0."
        )
        currency = StrictCharField(
            max_length=3, min_length=3, help_text=f"The program's currency: `{settings.LOYALTY_CURRENCY}`."
        )
        points = StrictIntegerField(
            min_value=1,
            max_value=MAX_POINTS,
            required=False,
            help_text="The points to hold; left out, the most the program's share of the basket and the "
            "member's balance allow.",
        )
        external_id = StrictCharField(
            max_length=64, help_text="The partner's own id of the basket: unique per partner."
        )
        presence_code = StrictRegexField(
            r"^[0-9]{6}$",
            required=False,
            help_text="The member's presence code (6 digits, from their portal): always needed to hold points, "
            "checked and spent with the hold.",
        )

    @extend_schema(
        operation_id="members_holds_create",
        summary="Hold points to pay part of a basket",
        description="Sets the member's points aside for a basket at the program's rate (`LOYALTY_POINT_VALUE` a "
        "point; the discount is rounded down to the cent), between the least and the most share of the basket "
        "points may pay (else 400 `hold_out_of_range` with `details.min_points` and `details.max_points`). The "
        "points leave the member's balance until the hold is captured (spent) or voided (given back); not "
        "captured by `expires_at` (`LOYALTY_HOLD_MINUTES`), they go back by themselves. Always needs the "
        "member's `presence_code`, even for the partner that enrolled the member. The same `external_id` with "
        "the same content answers the first hold (200); with other content 409 `external_id_conflict`. "
        "`Location` is the hold's URL. Needs the `rewards:redeem` scope.",
        request=InputSerializer,
        parameters=[MEMBER_NUMBER_PARAMETER, IDEMPOTENCY_KEY_HEADER, LOCATION_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            201: HoldOutputSerializer,
            200: HoldOutputSerializer,
            **error_responses(
                *BODY_ERRORS,
                "invalid_member_number",
                "currency_mismatch",
                "hold_out_of_range",
                *AUTH_ERRORS,
                "presence_code_required",
                "presence_code_invalid",
                "presence_code_expired",
                "presence_code_used",
                "presence_code_locked",
                "not_found",
                "insufficient_points",
                "member_merged",
                "external_id_conflict",
                *HOLD_ERRORS,
                invalid={"basket_amount": ["A valid number is required."]},
            ),
        },
        examples=[
            OpenApiExample(
                "Hold the most points allowed",
                request_only=True,
                value={
                    "basket_amount": "42.50",
                    "currency": "EUR",
                    "external_id": "basket-0042",
                    "presence_code": "482913",
                },
            ),  # fmt: skip
            OpenApiExample(
                "Hold 500 points",
                request_only=True,
                value={
                    "basket_amount": "42.50",
                    "currency": "EUR",
                    "points": 500,
                    "external_id": "basket-0043",
                    "presence_code": "482913",
                },
            ),  # fmt: skip
            OpenApiExample("Held", response_only=True, status_codes=["201"], value=HOLD_EXAMPLE),
        ],
    )
    def post(self, request, member_number):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = member_selectors.member_get_for_partner(partner=request.user, member_number=member_number)

        def check_proof():
            return payments.points_payment_proof_check(
                partner=request.user,
                member=member,
                external_id=data["external_id"],
                presence_code=data.get("presence_code"),
            )

        def place(proof):
            placed = payments.points_payment_hold(
                partner=request.user,
                member=member,
                basket_amount=data["basket_amount"],
                currency=data["currency"],
                points=data.get("points"),
                external_id=data["external_id"],
                proof=proof,
            )
            placed.payment.member = member  # its account is the one the hold updated
            return (201 if placed.created else 200), hold_output(placed.payment)

        return idempotent_post(
            request, place, prepare=check_proof, location=lambda body: reverse("api-hold-detail", args=[body["id"]])
        )


class HoldDetailApi(APIView):
    required_scopes = {"GET": SCOPE, "HEAD": SCOPE}

    @extend_schema(
        operation_id="holds_retrieve",
        summary="Read a hold",
        description="A hold this partner placed, with its status and what was captured and refunded. Another "
        "partner's hold answers 404. Needs the `rewards:redeem` scope.",
        parameters=[HOLD_ID_PARAMETER, *RATE_LIMIT_HEADERS],
        responses={200: HoldOutputSerializer, **error_responses(*AUTH_ERRORS, "not_found")},
        examples=[OpenApiExample("Hold", response_only=True, value=HOLD_EXAMPLE)],
    )
    def get(self, request, hold_id):
        return Response(hold_output(_own_payment(request.user, hold_id)))


class HoldCaptureApi(APIView):
    required_scopes = {"POST": SCOPE}

    @extend_schema_serializer(component_name="PointsHoldCaptureInput")
    class InputSerializer(serializers.Serializer):
        points = StrictIntegerField(
            min_value=1,
            max_value=MAX_POINTS,
            required=False,
            help_text="The points to spend, at most those held; left out, all of them. The rest goes back to the "
            "member at once.",
        )

    @extend_schema(
        operation_id="holds_capture",
        summary="Capture a hold when the sale completes",
        description="Spends the held points (all, or `points` of them: the rest goes back to the member, to the "
        "points it came from with their expiry dates); `captured_discount_amount` is the discount to apply. "
        "A hold captured, voided or past `expires_at` answers 409 `hold_not_open` (`details.status`); more "
        "points than held 400 `hold_out_of_range`; a member suspended since, 409 `member_suspended`. Needs the "
        "`rewards:redeem` scope.",
        request=InputSerializer,
        parameters=[HOLD_ID_PARAMETER, IDEMPOTENCY_KEY_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            200: HoldOutputSerializer,
            **error_responses(
                *BODY_ERRORS,
                "hold_out_of_range",
                *AUTH_ERRORS,
                "not_found",
                "hold_not_open",
                *HOLD_ERRORS,
                invalid={"points": ["Ensure this value is greater than or equal to 1."]},
            ),
        },
        examples=[
            OpenApiExample("Capture all", request_only=True, value={}),
            OpenApiExample("Capture 1,500 points", request_only=True, value={"points": 1500}),
            OpenApiExample("Captured", response_only=True, status_codes=["200"], value=CAPTURED_EXAMPLE),
        ],
    )
    def post(self, request, hold_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = _own_payment(request.user, hold_id)

        def capture():
            payments.points_payment_capture(
                partner=request.user, payment=payment, points=serializer.validated_data.get("points")
            )
            return 200, hold_output(_own_payment(request.user, hold_id))

        return idempotent_post(request, capture)


class HoldVoidApi(APIView):
    required_scopes = {"POST": SCOPE}

    @extend_schema_serializer(component_name="PointsHoldVoidInput")
    class InputSerializer(serializers.Serializer):
        pass

    @extend_schema(
        operation_id="holds_void",
        summary="Void a hold",
        description="Gives every held point back to the member (the sale was cancelled). A hold captured, voided "
        "or expired already answers 409 `hold_not_open`. Needs the `rewards:redeem` scope.",
        request=InputSerializer,
        parameters=[HOLD_ID_PARAMETER, IDEMPOTENCY_KEY_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            200: HoldOutputSerializer,
            **error_responses(
                *BODY_ERRORS, *AUTH_ERRORS, "not_found", "hold_not_open", "member_closed", "idempotency_conflict"
            ),
        },
        examples=[
            OpenApiExample("Void", request_only=True, value={}),
            OpenApiExample("Voided", response_only=True, status_codes=["200"], value=VOIDED_EXAMPLE),
        ],
    )
    def post(self, request, hold_id):
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        payment = _own_payment(request.user, hold_id)

        def void():
            payments.points_payment_void(partner=request.user, payment=payment)
            return 200, hold_output(_own_payment(request.user, hold_id))

        return idempotent_post(request, void)


class HoldRefundApi(APIView):
    required_scopes = {"POST": SCOPE}

    @extend_schema_serializer(component_name="PointsHoldRefundInput")
    class InputSerializer(serializers.Serializer):
        points = StrictIntegerField(
            min_value=1,
            max_value=MAX_POINTS,
            required=False,
            help_text="The captured points to give back; left out, all that is left to refund.",
        )

    @extend_schema(
        operation_id="holds_refund",
        summary="Refund a captured hold",
        description="The basket paid with points was refunded: gives the captured points back to the member (all "
        "that is left, or `points`), to the points they came from with their expiry dates. A hold not captured, "
        "or more points than are left to refund, answers 409 `not_reversible` (`details.reversible`). Needs the "
        "`rewards:redeem` scope.",
        request=InputSerializer,
        parameters=[HOLD_ID_PARAMETER, IDEMPOTENCY_KEY_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            200: HoldOutputSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                "not_found",
                "not_reversible",
                "member_closed",
                "idempotency_conflict",
                invalid={"points": ["Ensure this value is greater than or equal to 1."]},
            ),
        },
        examples=[
            OpenApiExample("Refund 500 points", request_only=True, value={"points": 500}),
            OpenApiExample("Refunded", response_only=True, status_codes=["200"], value=REFUNDED_EXAMPLE),
        ],
    )
    def post(self, request, hold_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = _own_payment(request.user, hold_id)

        def refund():
            payments.points_payment_refund(
                partner=request.user,
                payment=payment,
                points=serializer.validated_data.get("points"),
                idempotency_key=request.headers["Idempotency-Key"],
            )
            return 200, hold_output(_own_payment(request.user, hold_id))

        return idempotent_post(request, refund)


urlpatterns = [
    path("<int:hold_id>/", HoldDetailApi.as_view(), name="api-hold-detail"),
    path("<int:hold_id>/capture/", HoldCaptureApi.as_view(), name="api-hold-capture"),
    path("<int:hold_id>/void/", HoldVoidApi.as_view(), name="api-hold-void"),
    path("<int:hold_id>/refund/", HoldRefundApi.as_view(), name="api-hold-refund"),
]
