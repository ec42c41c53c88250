"""The partner API for rewards (``/api/v1/rewards/``, ``/api/v1/redemptions/``, ``/api/v1/vouchers/``): thin views,
one service or selector each.

A partner lists the catalog (``rewards:read``), redeems a reward for a member present at its till with the
member's presence code and reads or cancels its own redemptions (``rewards:redeem``), and checks and uses the
vouchers members show (``vouchers:use``). What a voucher says at a till (``voucher_output``) names no member: a
code is all the till has, and all it learns is what the voucher is worth and whether it may take it.
"""

import django_filters
from django.conf import settings
from django.urls import path, reverse
from django.utils import timezone, translation
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.exceptions import MemberMerged, NotFound
from loyalty.partners.fields import StrictCharField, StrictIntegerField, StrictRegexField
from loyalty.partners.pagination import CursorPagination
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
from loyalty.partners.services import presence_code_check
from members import selectors as member_selectors
from members.api import TierRefSerializer

from . import selectors, services
from .models import LimitPeriod, Reward, RewardKind

EXAMPLE_HOST = "https://loyalty.example.com"
PRESENCE_ERRORS = (
    "presence_code_invalid",
    "presence_code_expired",
    "presence_code_used",
    "presence_code_locked",
)

TERMS_EXAMPLE = {
    "kind": "fixed_discount",
    "name": "5 € off your basket",
    "value_amount": "5.00",
    "percent": None,
    "max_discount_amount": None,
    "currency": "EUR",
    "sku": "",
    "starts_at": None,
}
REWARD_EXAMPLE = {
    "id": 7,
    "code": "five-off",
    "kind": "fixed_discount",
    "name": "5 € off your basket",
    "description": "On any basket of 20 € or more.",
    "image": None,
    "points_cost": 500,
    "value_amount": "5.00",
    "percent": None,
    "max_discount_amount": None,
    "currency": "EUR",
    "sku": "",
    "charity": None,
    "starts_at": None,
    "validity_days": 30,
    "valid_until": None,
    "stock": 120,
    "limit_per_member": 2,
    "limit_period": "month",
    "available_from": None,
    "available_until": "2027-06-30T22:00:00Z",
    "cancel_window_hours": 24,
    "refund_on_expiry": False,
    "tiers": [],
    "accepted_here": True,
}
VOUCHER_EXAMPLE = {
    "code": "7KQ2-M9XD-3HBT-W4RA",
    "status": "issued",
    "issued_at": "2026-12-02T10:00:00Z",
    "expires_at": "2027-01-01T10:00:00Z",
    "used_at": None,
    "terms": TERMS_EXAMPLE,
}
REDEMPTION_EXAMPLE = {
    "id": 4120,
    "member": "1234567897",
    "reward": {"id": 7, "code": "five-off", "name": "5 € off your basket"},
    "quantity": 1,
    "points": 500,
    "created_at": "2026-12-02T10:00:00Z",
    "vouchers": [VOUCHER_EXAMPLE],
    "donations": [],
    "balance": 700,
}
CHECK_EXAMPLE = {
    **VOUCHER_EXAMPLE,
    "reward": 7,
    "accepted_here": True,
    "used_here": False,
    "usable": True,
    "refusal": None,
}
USED_EXAMPLE = {**CHECK_EXAMPLE, "status": "used", "used_at": "2026-12-03T17:20:00Z", "used_here": True}
USED_EXAMPLE.update(usable=False, refusal={"code": "already_used", "message": "This voucher was already used."})

REWARD_PARAMETER = OpenApiParameter("reward_id", int, OpenApiParameter.PATH, description="The reward's id.")
REDEMPTION_PARAMETER = OpenApiParameter(
    "redemption_id", int, OpenApiParameter.PATH, description="The redemption's id (from its creation)."
)
CODE_PARAMETER = OpenApiParameter(
    "code",
    str,
    OpenApiParameter.PATH,
    description="The voucher's code as the member shows it (the QR code holds it as printed). Typed at a till, "
    "case, spaces and dashes do not matter, and O, I and L are read as 0, 1 and 1.",
)


def _in_language(english: str, french: str) -> str:
    return french if french and (translation.get_language() or "").startswith("fr") else english


# Output.


class TermsSerializer(serializers.Serializer):
    """A voucher's terms, frozen when it was issued: what the till honours."""

    kind = serializers.ChoiceField(choices=RewardKind.choices, help_text="The reward's kind.")
    name = serializers.SerializerMethodField(help_text="The reward's name, in the request's language.")
    value_amount = serializers.CharField(
        allow_null=True, help_text="Money off or the gift card's value, a decimal string; null for other kinds."
    )
    percent = serializers.CharField(allow_null=True, help_text="A percentage discount's rate; null otherwise.")
    max_discount_amount = serializers.CharField(allow_null=True, help_text="A percentage discount's cap, or null.")
    currency = serializers.CharField(help_text="The currency of the amounts (ISO 4217).")
    sku = serializers.CharField(help_text="The product of a free-product voucher; empty otherwise.")
    starts_at = serializers.CharField(allow_null=True, help_text="When an experience takes place; null otherwise.")

    def get_name(self, terms) -> str:
        return _in_language(terms.get("name", ""), terms.get("name_fr", ""))


@extend_schema_serializer(component_name="RewardRef")
class RewardRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The reward's id.")
    code = serializers.CharField(help_text="The reward's short unique name.")
    name = serializers.SerializerMethodField(help_text="Its name, in the request's language.")

    def get_name(self, reward) -> str:
        return _in_language(reward.name, reward.name_fr)


@extend_schema_serializer(component_name="Reward")
class RewardSerializer(RewardRefSerializer):
    kind = serializers.ChoiceField(choices=RewardKind.choices, help_text="What the reward is.")
    description = serializers.SerializerMethodField(help_text="Its description, in the request's language.")
    image = serializers.SerializerMethodField(help_text="The URL of its image, or null.")
    points_cost = serializers.IntegerField(help_text="What one unit costs in points.")
    value_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, help_text="Money off, or a gift card's value; or null."
    )
    percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, allow_null=True, help_text="A percentage discount's rate, or null."
    )
    max_discount_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, help_text="A percentage discount's cap, or null."
    )
    currency = serializers.SerializerMethodField(help_text="The currency of the amounts (ISO 4217).")
    sku = serializers.CharField(help_text="The product a free-product voucher is for; empty otherwise.")
    charity = serializers.CharField(
        source="charity.name", allow_null=True, default=None, help_text="A donation's charity, or null."
    )
    starts_at = serializers.DateTimeField(allow_null=True, help_text="When an experience takes place, or null.")
    validity_days = serializers.IntegerField(
        allow_null=True, help_text="Its voucher is valid this many days after redeeming, or null."
    )
    valid_until = serializers.DateField(
        allow_null=True, help_text="Or until the end of this day (program time); the sooner of the two."
    )
    stock = serializers.IntegerField(allow_null=True, help_text="Units left; null: unlimited.")
    limit_per_member = serializers.IntegerField(
        allow_null=True, help_text="How many a member may redeem per `limit_period`; null: no limit."
    )
    limit_period = serializers.ChoiceField(choices=LimitPeriod.choices, help_text="The limit's period.")
    available_from = serializers.DateTimeField(allow_null=True, help_text="Redeemable from then; null: already.")
    available_until = serializers.DateTimeField(allow_null=True, help_text="Redeemable until then; null: no end.")
    cancel_window_hours = serializers.IntegerField(
        help_text="An unused voucher may be cancelled (its points back) this many hours after redeeming; 0: never."
    )
    refund_on_expiry = serializers.BooleanField(
        help_text="Whether an unused voucher that expires gives its points back."
    )
    tiers = TierRefSerializer(many=True, help_text="The tiers that may redeem it; empty: every member.")
    accepted_here = serializers.SerializerMethodField(help_text="Whether the calling partner accepts its vouchers.")

    def get_description(self, reward) -> str:
        return _in_language(reward.description, reward.description_fr)

    def get_image(self, reward) -> str | None:
        return reward.image.url if reward.image else None

    def get_currency(self, reward) -> str:
        return settings.LOYALTY_CURRENCY

    def get_accepted_here(self, reward) -> bool:
        return selectors.reward_accepts(reward, self.context["partner"])


@extend_schema_serializer(component_name="Voucher")
class VoucherSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The code the member shows at a till (also as a QR code in the portal).")
    status = serializers.SerializerMethodField(help_text="`issued`, `used`, `expired` or `cancelled`.")
    issued_at = serializers.DateTimeField(help_text="When it was issued.")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When it expires; null: never.")
    used_at = serializers.DateTimeField(allow_null=True, help_text="When a partner used it, or null.")
    terms = TermsSerializer(help_text="What it is worth, as it was issued.")

    def get_status(self, voucher) -> str:
        return voucher_status(voucher)


@extend_schema_serializer(component_name="Donation")
class DonationSerializer(serializers.Serializer):
    charity = serializers.CharField(source="charity.name", help_text="The charity given to.")
    points = serializers.IntegerField(help_text="The points given.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="What they are worth in money.")
    currency = serializers.CharField(help_text="The amount's currency.")


@extend_schema_serializer(component_name="Redemption")
class RedemptionSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The redemption's id.")
    member = serializers.CharField(source="member.member_number", help_text="The member's card number.")
    reward = RewardRefSerializer(help_text="The reward redeemed.")
    quantity = serializers.IntegerField(help_text="Units redeemed.")
    points = serializers.IntegerField(help_text="The points it debited (quantity times the cost).")
    created_at = serializers.DateTimeField(help_text="When it was redeemed.")
    vouchers = VoucherSerializer(source="voucher_list", many=True, help_text="One voucher per unit.")
    donations = DonationSerializer(
        source="donation_list", many=True, help_text="A donation reward's gifts, one per unit (no voucher)."
    )
    balance = serializers.IntegerField(source="member.account.balance", help_text="The member's spendable points now.")


def voucher_status(voucher) -> str:
    """The voucher's status as a till must read it: an issued voucher past its expiry is expired already, whether
    or not the hourly task has marked it (``selectors.voucher_state``, as the portal shows it)."""
    return selectors.voucher_state(voucher).status


def redemption_output(redemption, *, vouchers=None, donations=None) -> dict:
    """The redemption as its partner reads it: the vouchers and donations just written, or the prefetched ones."""
    redemption.voucher_list = list(redemption.vouchers.all()) if vouchers is None else vouchers
    redemption.donation_list = list(redemption.donations.all()) if donations is None else donations
    return RedemptionSerializer(redemption).data


def _redemption_url(body: dict) -> str:
    return reverse("api-redemption-detail", args=[body["id"]])


# The catalog.


class RewardPagination(CursorPagination):
    ordering = ("points_cost", "id")
    example_path = "/api/v1/rewards/"
    example_cursors = ("cD01MDA", "cj0xJnA9NTAw")
    link_descriptions = ("The next page, or null on the last page.", "The previous page, or null on the first page.")
    results_description = "This page's rewards, cheapest first."


class RewardFilter(django_filters.FilterSet):
    member = django_filters.CharFilter(
        method="filter_member",
        help_text="A member's card number: only what that member can redeem now (the cost within the balance, "
        "the member's tier among the reward's).",
    )
    tier = django_filters.NumberFilter(
        method="filter_tier",
        min_value=1,
        max_value=2**31 - 1,  # an id in the database's range: a bigger one would not reach SQL (a 500)
        decimal_places=0,
        help_text="A tier's id: only what that tier may redeem.",
    )
    kind = django_filters.ChoiceFilter(choices=RewardKind.choices, help_text="Only rewards of this kind.")
    accepted = django_filters.BooleanFilter(
        method="filter_accepted", help_text="`true`: only rewards the calling partner accepts; `false`: the others."
    )

    class Meta:
        model = Reward
        fields = ["member", "tier", "kind", "accepted"]

    def filter_member(self, queryset, name, value):
        member = member_selectors.member_get_for_partner(partner=self.request.user, member_number=value)
        return selectors.rewards_affordable(queryset, member=member)

    def filter_tier(self, queryset, name, value):
        return selectors.rewards_for_tier(queryset, tier_id=int(value))

    def filter_accepted(self, queryset, name, value):
        return selectors.rewards_accepted_by(queryset, partner=self.request.user, accepted=value)


class RewardListApi(generics.ListAPIView):
    required_scopes = {"GET": "rewards:read", "HEAD": "rewards:read"}
    serializer_class = RewardSerializer
    pagination_class = RewardPagination
    filterset_class = RewardFilter

    @extend_schema(
        operation_id="rewards_list",
        summary="The rewards catalog",
        description="The rewards a member can redeem now, cheapest first: active, within their dates, with units "
        "left (or unlimited); cursor-paginated (`next`/`previous`; `page_size` up to the cap). Filters: `member` "
        "(what that member can afford now and whose tier may redeem), `tier`, `kind`, `accepted` (whether this "
        "partner accepts the vouchers). Names and descriptions in the request's language. Needs the "
        "`rewards:read` scope.",
        parameters=[*RATE_LIMIT_HEADERS],
        responses={
            200: RewardSerializer(many=True),
            **error_responses(
                "invalid",
                "invalid_member_number",
                *AUTH_ERRORS,
                "not_found",
                invalid={"kind": ["Select a valid choice. bogus is not one of the available choices."]},
            ),
        },
        examples=[OpenApiExample("Catalog", response_only=True, value=[REWARD_EXAMPLE])],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return Reward.objects.none()
        return selectors.rewards_in_stock()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "partner": self.request.user}


class RewardDetailApi(APIView):
    required_scopes = {"GET": "rewards:read", "HEAD": "rewards:read"}

    @extend_schema(
        operation_id="rewards_retrieve",
        summary="Read a reward",
        description="A reward on offer now (active and within its dates; `stock` 0 when none is left). Another "
        "id answers 404. Needs the `rewards:read` scope.",
        parameters=[REWARD_PARAMETER, *RATE_LIMIT_HEADERS],
        responses={200: RewardSerializer, **error_responses(*AUTH_ERRORS, "not_found")},
        examples=[OpenApiExample("Reward", response_only=True, value=REWARD_EXAMPLE)],
    )
    def get(self, request, reward_id):
        reward = selectors.rewards_on_offer().select_related("charity").filter(pk=reward_id).first()
        if reward is None:
            raise NotFound("No reward on offer has this id.")
        return Response(RewardSerializer(reward, context={"partner": request.user}).data)


# Redemptions.


class RedemptionCreateApi(APIView):
    required_scopes = {"POST": "rewards:redeem"}

    @extend_schema_serializer(component_name="RedemptionInput")
    class InputSerializer(serializers.Serializer):
        member = StrictCharField(max_length=32, help_text="The member's card number (10 digits).")
        reward = StrictIntegerField(min_value=1, max_value=2**31 - 1, help_text="The reward's id.")
        quantity = StrictIntegerField(
            min_value=1, max_value=services.MAX_QUANTITY, required=False, help_text="Units to redeem (default 1)."
        )
        presence_code = StrictRegexField(
            r"^[0-9]{6}$",
            help_text="The member's presence code (6 digits, from their portal): required, checked and spent with "
            "the redemption.",
        )

    @extend_schema(
        operation_id="redemptions_create",
        summary="Redeem a reward for a member at the till",
        description="Debits the member's points, takes the units from stock and issues one voucher per unit (a "
        "donation issues none and records the gift), all or nothing. Needs the member's `presence_code`, "
        "whoever enrolled the member: a wrong code counts against its few attempts, a redemption refused "
        "otherwise leaves it unspent. Refusals answer 409 with a message: `insufficient_points` (`details` "
        "has the available points), `out_of_stock`, `limit_reached` (`details.limit`, `details.period`), "
        "`not_eligible` (`details.reason`: `inactive`, `not_yet`, `ended`, `tier` or `partner`), "
        "`member_suspended`, `member_closed`, `member_merged`. An unknown reward or member answers 404. "
        "`Location` is the redemption's URL. Needs the `rewards:redeem` scope.",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, LOCATION_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            201: RedemptionSerializer,
            **error_responses(
                *BODY_ERRORS,
                "invalid_member_number",
                *AUTH_ERRORS,
                *PRESENCE_ERRORS,
                "not_found",
                "insufficient_points",
                "out_of_stock",
                "limit_reached",
                "not_eligible",
                "member_suspended",
                "member_closed",
                "member_merged",
                "idempotency_conflict",
                invalid={"presence_code": ["This field is required."]},
            ),
        },
        examples=[
            OpenApiExample(
                "Redeem",
                request_only=True,
                value={"member": "1234567897", "reward": 7, "quantity": 1, "presence_code": "482913"},
            ),
            OpenApiExample("Redeemed", response_only=True, status_codes=["201"], value=REDEMPTION_EXAMPLE),
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = member_selectors.member_get_for_partner(partner=request.user, member_number=data["member"])
        reward = Reward.objects.filter(pk=data["reward"]).first()
        if reward is None:
            raise NotFound("No reward has this id.")

        def check_proof():
            if member.merged_into_id is not None:  # before the code is checked: the till needs the survivor's
                raise MemberMerged(merged_into=member.merged_into.member_number)
            return presence_code_check(member=member, code=data["presence_code"])

        def redeem(proof):
            result = services.redemption_create(
                member=member,
                reward=reward,
                quantity=data.get("quantity", 1),
                partner=request.user,
                proof=proof,
                idempotency_key=request.headers["Idempotency-Key"],
            )
            return 201, redemption_output(result.redemption, vouchers=result.vouchers, donations=result.donations)

        return idempotent_post(request, redeem, prepare=check_proof, location=_redemption_url)


def _own_redemption(partner, redemption_id: int):
    return own_or_not_found(
        selectors.redemptions_for_partner(partner=partner),
        "This partner has no redemption with this id.",
        pk=redemption_id,
    )


class RedemptionDetailApi(APIView):
    required_scopes = {"GET": "rewards:redeem", "HEAD": "rewards:redeem"}

    @extend_schema(
        operation_id="redemptions_retrieve",
        summary="Read one of this partner's redemptions",
        description="Its vouchers as they stand now and the member's balance. Another partner's redemption "
        "answers 404 as if it did not exist. Needs the `rewards:redeem` scope.",
        parameters=[REDEMPTION_PARAMETER, *RATE_LIMIT_HEADERS],
        responses={200: RedemptionSerializer, **error_responses(*AUTH_ERRORS, "not_found")},
        examples=[OpenApiExample("Redemption", response_only=True, value=REDEMPTION_EXAMPLE)],
    )
    def get(self, request, redemption_id):
        return Response(redemption_output(_own_redemption(request.user, redemption_id)))


class RedemptionCancelApi(APIView):
    required_scopes = {"POST": "rewards:redeem"}

    @extend_schema_serializer(component_name="RedemptionCancelInput")
    class InputSerializer(serializers.Serializer):
        pass

    @extend_schema(
        operation_id="redemptions_cancel",
        summary="Cancel one of this partner's redemptions",
        description="Cancels every voucher of the redemption, all or nothing, within the reward's cancellation "
        "window: the points come back to the member (to the lots they came from) and the units to stock. A "
        "voucher used or expired, a window over, a reward that cannot be cancelled, or a donation answer 409 "
        "`not_cancellable` and cancel nothing; a closed member's, 409 `member_closed`. Cancelling again answers "
        "200 with the cancelled vouchers. Only this partner's own redemptions (else 404). Needs the "
        "`rewards:redeem` scope.",
        request=InputSerializer,
        parameters=[REDEMPTION_PARAMETER, IDEMPOTENCY_KEY_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            200: RedemptionSerializer,
            **error_responses(
                *BODY_ERRORS, *AUTH_ERRORS, "not_found", "not_cancellable", "member_closed", "idempotency_conflict"
            ),
        },
        examples=[
            OpenApiExample("Cancel", request_only=True, value={}),
            OpenApiExample(
                "Cancelled",
                response_only=True,
                status_codes=["200"],
                value={
                    **REDEMPTION_EXAMPLE,
                    "vouchers": [{**VOUCHER_EXAMPLE, "status": "cancelled"}],
                    "balance": 1200,
                },
            ),
        ],
    )
    def post(self, request, redemption_id):
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        redemption = _own_redemption(request.user, redemption_id)

        def cancel():
            services.redemption_cancel(redemption=redemption, partner=request.user)
            return 200, redemption_output(_own_redemption(request.user, redemption_id))

        return idempotent_post(request, cancel)


# Vouchers at a till.


@extend_schema_serializer(component_name="VoucherRefusal")
class RefusalSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="The error code using it would answer: `already_used`, `voucher_not_usable`, `not_eligible`, "
        "`member_suspended` or `member_closed`."
    )
    message = serializers.CharField(help_text="Why, in words.")


@extend_schema_serializer(component_name="VoucherCheck")
class VoucherCheckSerializer(VoucherSerializer):
    """A voucher as a till reads it: what it is worth and whether this partner may take it; never whose it is."""

    reward = serializers.IntegerField(source="reward_id", help_text="The reward's id.")
    accepted_here = serializers.BooleanField(help_text="Whether the calling partner accepts this reward's vouchers.")
    used_here = serializers.SerializerMethodField(help_text="Whether the calling partner is the one that used it.")
    usable = serializers.SerializerMethodField(help_text="Whether using it now would succeed.")
    refusal = serializers.SerializerMethodField(help_text="Why it cannot be used now; null when `usable`.")

    def get_used_here(self, voucher) -> bool:
        return voucher.used_by_id is not None and voucher.used_by_id == self.context["partner"].pk

    def get_usable(self, voucher) -> bool:
        return voucher.refusal is None

    @extend_schema_field(RefusalSerializer(allow_null=True))
    def get_refusal(self, voucher) -> dict | None:
        if voucher.refusal is None:
            return None
        return {"code": voucher.refusal.code, "message": voucher.refusal.message}


def voucher_output(voucher, *, partner) -> dict:
    """The voucher as ``partner`` reads it at its till (``VoucherCheckSerializer``)."""
    partner_ids = frozenset(voucher.reward.partners.values_list("pk", flat=True))
    holder = voucher.member.merged_into or voucher.member
    voucher.accepted_here = not partner_ids or partner.pk in partner_ids
    voucher.refusal = services.voucher_refusal(
        voucher, partner_ids=partner_ids, partner=partner, member_status=holder.status, now=timezone.now()
    )
    return VoucherCheckSerializer(voucher, context={"partner": partner}).data


class VoucherDetailApi(APIView):
    required_scopes = {"GET": "vouchers:use", "HEAD": "vouchers:use"}

    @extend_schema(
        operation_id="vouchers_retrieve",
        summary="Check a voucher a member shows",
        description="What the voucher is worth (`terms`), its status and expiry, whether this partner accepts it "
        "and whether using it now would succeed (`usable`; else `refusal` says what `use` would answer). It says "
        "nothing of the member. An unknown code answers 404. Codes are 80 random bits, and every key has a rate "
        "limit: guessing finds nothing. Needs the `vouchers:use` scope.",
        parameters=[CODE_PARAMETER, *RATE_LIMIT_HEADERS],
        responses={200: VoucherCheckSerializer, **error_responses(*AUTH_ERRORS, "not_found")},
        examples=[OpenApiExample("Usable here", response_only=True, value=CHECK_EXAMPLE)],
    )
    def get(self, request, code):
        voucher = selectors.voucher_get_by_code(code=code)
        return Response(voucher_output(voucher, partner=request.user))


class VoucherUseApi(APIView):
    required_scopes = {"POST": "vouchers:use"}

    @extend_schema_serializer(component_name="VoucherUseInput")
    class InputSerializer(serializers.Serializer):
        pass

    @extend_schema(
        operation_id="vouchers_use",
        summary="Use a voucher at the till",
        description="Marks the voucher used by this partner, once: a second attempt answers 409 `already_used` "
        "(`details.used_at`; a repeat with the same `Idempotency-Key` answers as the first). An expired or "
        "cancelled voucher answers 409 `voucher_not_usable`; a reward this partner does not accept, "
        "`not_eligible`; a suspended member's voucher waits (`member_suspended`) and a closed member's is void "
        "(`member_closed`). The answer is the voucher as `GET` reads it. Needs the `vouchers:use` scope.",
        request=InputSerializer,
        parameters=[CODE_PARAMETER, IDEMPOTENCY_KEY_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            200: VoucherCheckSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                "not_found",
                "already_used",
                "voucher_not_usable",
                "not_eligible",
                "member_suspended",
                "member_closed",
                "idempotency_conflict",
            ),
        },
        examples=[
            OpenApiExample("Use", request_only=True, value={}),
            OpenApiExample("Used", response_only=True, status_codes=["200"], value=USED_EXAMPLE),
        ],
    )
    def post(self, request, code):
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)

        def use():
            voucher = services.voucher_use(code=code, partner=request.user)
            return 200, voucher_output(selectors.voucher_get_by_code(code=voucher.code), partner=request.user)

        return idempotent_post(request, use)


urlpatterns = [
    path("rewards/", RewardListApi.as_view(), name="api-rewards"),
    path("rewards/<int:reward_id>/", RewardDetailApi.as_view(), name="api-reward-detail"),
    path("redemptions/", RedemptionCreateApi.as_view(), name="api-redemptions"),
    path("redemptions/<int:redemption_id>/", RedemptionDetailApi.as_view(), name="api-redemption-detail"),
    path("redemptions/<int:redemption_id>/cancel/", RedemptionCancelApi.as_view(), name="api-redemption-cancel"),
    path("vouchers/<str:code>/", VoucherDetailApi.as_view(), name="api-voucher-detail"),
    path("vouchers/<str:code>/use/", VoucherUseApi.as_view(), name="api-voucher-use"),
]
