"""The partner API for members: thin views, one service or selector each.

What a partner reads of a member is one rule (``selectors.member_view_for_partner``) and
one function here (``member_output``): the enrolling partner gets the ``profile`` shape, any
other partner that names the member by card number the ``till`` shape. Who may take points
is ``loyalty.partners.services.partner_debit_proof_check``.
"""

from datetime import date

import django_filters
from django.conf import settings
from django.urls import path, reverse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.clock import program_date
from loyalty.exceptions import NotFound, ValidationError
from loyalty.ledger import memos
from loyalty.ledger.models import Entry, EntryKind
from loyalty.partners.fields import StrictCharField, StrictEmailField, StrictIntegerField, StrictRegexField
from loyalty.partners.pagination import CursorPagination
from loyalty.partners.rest import (
    AUTH_ERRORS,
    BODY_ERRORS,
    IDEMPOTENCY_KEY_HEADER,
    LOCATION_HEADER,
    RATE_LIMIT_HEADERS,
    error_responses,
    idempotent_post,
)
from loyalty.partners.services import partner_debit_proof_check, partner_points_adjust
from missions.api import MemberMissionsApi
from rewards.payment_api import MemberHoldCreateApi

from . import selectors
from .models import MemberStatus
from .phones import phone_normalize
from .selectors import PartnerView
from .services import EMAIL_MAX_LENGTH, member_enroll
from .tiers.models import QualificationBasis
from .tiers.selectors import tier_progress_get

MAX_POINTS = 10**9
EXAMPLE_HOST = "https://loyalty.example.com"
MEMBER_NUMBER_PARAMETER = OpenApiParameter(
    "member_number",
    str,
    OpenApiParameter.PATH,
    description="The member's card number: 10 digits, the last a Luhn check digit (spaces and dashes are "
    "ignored). A mistyped number answers 400 `invalid_member_number` before any lookup.",
)

TILL_EXAMPLE = {
    "view": "till",
    "member_number": "1234567897",
    "status": "active",
    "balance": 1200,
    "pending": 300,
    "expiring": [{"expires_on": "2026-12-31", "points": 500}],
    "tier": {"name": "Silver", "rank": 1},
    "progress": {"basis": "rolling_points", "value": "750", "target": "2000", "missing": "1250", "by": "2027-03-31"},
    "next_tier": {"name": "Gold", "rank": 2},
    "requalification_date": "2028-04-01",
}
PROFILE_EXAMPLE = {
    **TILL_EXAMPLE,
    "view": "profile",
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "birth_date": "1990-12-10",
    "language": "en",
    "external_id": "C-42",
    "phone": "+33612345678",
    "joined_at": "2026-11-23T10:00:00Z",
}
MERGED_EXAMPLE = {
    "view": "merged",
    "member_number": "1234567897",
    "status": "closed",
    "merged_into": "2345678907",
    "merged_into_url": "/api/v1/members/2345678907/",
}
ENROLLED_EXAMPLE = {
    **PROFILE_EXAMPLE,
    "balance": 0,
    "pending": 0,
    "expiring": [],
    "tier": None,
    "progress": {"basis": "rolling_points", "value": "0", "target": "500", "missing": "500", "by": None},
    "next_tier": {"name": "Silver", "rank": 1},
    "requalification_date": None,
}
ENTRY_EXAMPLE = {
    "id": 42,
    "kind": "adjust",
    "amount": 100,
    "held": 0,
    "balance_after": 1200,
    "created_at": "2026-11-23T10:00:00Z",
    "memo": "Goodwill gesture",
}


class ExpiringSerializer(serializers.Serializer):
    expires_on = serializers.DateField(help_text="The last day these points can be spent.")
    points = serializers.IntegerField(help_text="Available points that expire after that day.")


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^\d+(\.\d{2})?$"})
class BasisAmountField(serializers.Field):
    """An amount of the tier basis as a decimal string: whole points ("1250"), or money to the cent ("600.10")."""

    def to_representation(self, value):
        return str(value)


@extend_schema_serializer(component_name="TierRef")
class TierRefSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The tier's name (in English, as staff defined it).")
    rank = serializers.IntegerField(help_text="Its rank: a higher rank is a better tier.")


@extend_schema_serializer(component_name="TierProgress")
class TierProgressSerializer(serializers.Serializer):
    basis = serializers.ChoiceField(
        choices=QualificationBasis.choices,
        help_text="What tiers count: `rolling_points` (points earned in the program's rolling window), "
        "`lifetime_points` (since joining) or `rolling_spend` (money spent in the window).",
    )
    value = BasisAmountField(help_text="The basis now: points (a whole number) or money in the program's currency.")
    target = BasisAmountField(
        source="next_value", allow_null=True, help_text="What `next_tier` asks for; null at the top."
    )
    missing = BasisAmountField(
        allow_null=True, help_text="What the basis lacks to reach `next_tier`; null at the top."
    )
    by = serializers.DateField(
        allow_null=True,
        help_text="The last day to earn what is missing and count it with what is held now (the oldest counted "
        "activity leaves the window the day after); null for lifetime points or with nothing counted yet.",
    )


@extend_schema_serializer(component_name="MemberTill")
class MemberTillSerializer(serializers.Serializer):
    """What any partner that names the member by card number reads: what a till needs."""

    view = serializers.ChoiceField(
        choices=[PartnerView.TILL], help_text="`till`: the shape for a partner that did not enrol the member."
    )
    member_number = serializers.CharField(help_text="The member's public card number (10 digits).")
    status = serializers.ChoiceField(choices=MemberStatus.choices, help_text="active, suspended or closed.")
    balance = serializers.IntegerField(source="account.balance", help_text="Spendable points.")
    pending = serializers.IntegerField(source="account.pending", help_text="Earned points not yet available.")
    expiring = ExpiringSerializer(many=True, help_text="The next expiry dates of available points, soonest first.")
    tier = TierRefSerializer(source="progress.tier", allow_null=True, help_text="The member's tier; null: none.")
    progress = TierProgressSerializer(help_text="Where the member stands on the tier basis.")
    next_tier = TierRefSerializer(
        source="progress.next_tier", allow_null=True, help_text="The next tier up; null at the top."
    )
    requalification_date = serializers.DateField(
        source="progress.downgrade_on",
        allow_null=True,
        help_text="The day the member would lose the tier if nothing changes (no new activity): after the grace "
        "period that follows the last day it qualifies, or a tier set by staff ending; null when it is kept.",
    )


@extend_schema_serializer(component_name="MemberProfile")
class MemberProfileSerializer(MemberTillSerializer):
    """What the partner that enrolled the member reads: the full profile."""

    view = serializers.ChoiceField(
        choices=[PartnerView.PROFILE], help_text="`profile`: the shape for the partner that enrolled the member."
    )
    email = serializers.EmailField(source="user.email", help_text="The member's e-mail address.")
    first_name = serializers.CharField(source="user.first_name", help_text="Given name.")
    last_name = serializers.CharField(source="user.last_name", help_text="Family name.")
    birth_date = serializers.DateField(allow_null=True, help_text="Date of birth, if given.")
    language = serializers.CharField(help_text="Preferred language of messages.")
    external_id = serializers.CharField(help_text="The member's id in the partner's own system.")
    phone = serializers.CharField(help_text="The member's phone in E.164 form (`+33612345678`), or empty.")
    joined_at = serializers.DateTimeField(help_text="When the member enrolled.")


@extend_schema_serializer(component_name="MemberMerged")
class MemberMergedSerializer(serializers.Serializer):
    """What any partner reads of a number that was merged into another member's: a pointer, nothing more."""

    view = serializers.ChoiceField(choices=["merged"], help_text="`merged`: this number now belongs to `merged_into`.")
    member_number = serializers.CharField(help_text="The number asked for, no longer in use.")
    status = serializers.CharField(help_text="Always `closed`: nothing moves here.")
    merged_into = serializers.CharField(
        source="merged_into.member_number", help_text="The surviving member's number: read and write there."
    )
    merged_into_url = serializers.SerializerMethodField(help_text="The surviving member's URL in this API.")

    def get_merged_into_url(self, member) -> str:
        return reverse("api-member-detail", args=[member.merged_into.member_number])


MEMBER_SHAPES = {PartnerView.PROFILE: MemberProfileSerializer, PartnerView.TILL: MemberTillSerializer}

MemberForPartnerSerializer = PolymorphicProxySerializer(
    component_name="MemberForPartner",
    serializers={**MEMBER_SHAPES, "merged": MemberMergedSerializer},
    resource_type_field_name="view",
)


def member_output(*, partner, member, expiring: list[dict]) -> dict:
    """The member as ``partner`` may read it: the one place that picks the output shape.

    A merged member's number answers with a pointer to the survivor (``merged``), whoever asks.
    """
    if member.merged_into_id is not None:
        member.view = "merged"
        return MemberMergedSerializer(member).data
    view = selectors.member_view_for_partner(partner=partner, member=member)
    member.view, member.expiring, member.progress = view, expiring, tier_progress_get(member=member)
    return MEMBER_SHAPES[view](member).data


@extend_schema_serializer(component_name="Entry")
class EntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The entry's id.")
    kind = serializers.ChoiceField(choices=EntryKind.choices, help_text="What kind of change this is.")
    amount = serializers.IntegerField(help_text="Signed points: positive credits, negative debits.")
    held = serializers.IntegerField(
        help_text="Signed change to the points set aside by holds (pay with points at a till): a `hold` sets "
        "points aside (`amount` negative, `held` positive), a `capture` spends them, a `release` gives them back."
    )
    balance_after = serializers.IntegerField(help_text="The spendable balance right after this entry.")
    created_at = serializers.DateTimeField(help_text="When it happened.")
    memo = serializers.SerializerMethodField(
        help_text="Why, in the request's language: the reason of an adjustment, an expiry's points... "
        "A gift says only that it went to or came from another member."
    )

    def get_memo(self, entry) -> str:
        return memos.entry_memo_for_partner(entry)


def _member_url(body: dict) -> str:
    return reverse("api-member-detail", args=[body["member_number"]])


class MemberEnrollApi(APIView):
    required_scopes = {"POST": "members:write"}

    @extend_schema_serializer(component_name="MemberEnrollInput")
    class InputSerializer(serializers.Serializer):
        email = StrictEmailField(max_length=EMAIL_MAX_LENGTH, help_text="The member's e-mail address; unique.")
        first_name = StrictCharField(max_length=150, allow_blank=True, help_text="Given name.")
        last_name = StrictCharField(max_length=150, allow_blank=True, help_text="Family name.")
        birth_date = serializers.DateField(required=False, allow_null=True, help_text="Date of birth (YYYY-MM-DD).")
        language = serializers.ChoiceField(
            choices=settings.LANGUAGES, required=False, help_text="Preferred language of messages."
        )
        external_id = StrictCharField(
            max_length=64, required=False, allow_blank=True, help_text="The member's id in the partner's own system."
        )
        phone = StrictCharField(
            max_length=32,
            required=False,
            allow_blank=True,
            help_text="Optional; with the country code (`+33 6 12 34 56 78`, `0033612345678`): stored as E.164. "
            "Compared with the referrer's: the same phone is a self-referral.",
        )
        referral_code = StrictCharField(
            max_length=32,
            required=False,
            allow_blank=True,
            help_text="Optional: the code of the member who referred this one (case, spaces and dashes ignored). "
            "An unknown code, or a closed member's, answers 400 `invalid_referral_code` and enrols no one.",
        )

        def validate_phone(self, value):
            try:
                return phone_normalize(value)
            except ValidationError as error:
                raise serializers.ValidationError(error.message) from None

        def validate_birth_date(self, value):
            if value is not None and not date(1900, 1, 1) <= value <= program_date():
                raise serializers.ValidationError("Give a date of birth between 1900-01-01 and today.")
            return value

    @extend_schema(
        operation_id="members_enroll",
        summary="Enrol a member",
        description="Creates the member and its points account; the answer is the member's `profile`, which "
        "this partner, as the enrolling one, can read from then on. `Location` is the member's URL. "
        "Needs the `members:write` scope. A known e-mail answers 409 `conflict` and nothing more: not who "
        "the member is, nor who enrolled it (a lost answer is found again by repeating the `Idempotency-Key`). "
        "With `referral_code` the new member is the referee of that code's member: both are credited when the "
        "new member's first qualifying purchase is posted (see the README's *Referrals*); the code is checked "
        "before the e-mail, so a wrong code never tells whether an address is known.",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, LOCATION_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            201: MemberProfileSerializer,
            **error_responses(*BODY_ERRORS, "invalid_referral_code", *AUTH_ERRORS, "conflict", "idempotency_conflict"),
        },
        examples=[
            OpenApiExample(
                "Enrol",
                request_only=True,
                value={"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "language": "en"},
            ),
            OpenApiExample(
                "Enrol a referred friend",
                request_only=True,
                value={
                    "email": "grace@example.com",
                    "first_name": "Grace",
                    "last_name": "Hopper",
                    "phone": "+44 20 7946 0958",
                    "referral_code": "K7QM-4XTB",
                },
            ),
            OpenApiExample("Enrolled", response_only=True, status_codes=["201"], value=ENROLLED_EXAMPLE),
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def enroll():
            member = member_enroll(**serializer.validated_data, enrolled_by=request.user)
            return 201, member_output(partner=request.user, member=member, expiring=[])

        return idempotent_post(request, enroll, location=_member_url)


class MemberDetailApi(APIView):
    required_scopes = {"GET": "members:read", "HEAD": "members:read"}

    @extend_schema(
        operation_id="members_retrieve",
        summary="Read a member",
        description="The member as this partner may read it, told apart by `view`: the partner that enrolled "
        "the member reads its `profile` (e-mail, names, birth date, language, external id, and the points); "
        "any other partner reads the `till` shape: number, status, balance, pending points and the next "
        "expiry dates, never personal data. Both carry the member's tier, its progress to the next tier and the "
        "requalification date (the day the tier would be lost if nothing changes). A number that was merged into "
        "another member's answers 200 with `view: merged`, `status: closed` and the survivor's number in "
        "`merged_into` (and its URL in `merged_into_url`): read and write there; writes to the merged number "
        "answer 409 `member_merged`. Needs the `members:read` scope.",
        parameters=[MEMBER_NUMBER_PARAMETER, *RATE_LIMIT_HEADERS],
        responses={
            200: MemberForPartnerSerializer,
            **error_responses("invalid_member_number", *AUTH_ERRORS, "not_found"),
        },
        examples=[
            OpenApiExample("Till view (another partner)", response_only=True, value=TILL_EXAMPLE),
            OpenApiExample("Profile view (the enrolling partner)", response_only=True, value=PROFILE_EXAMPLE),
            OpenApiExample("A merged number", response_only=True, value=MERGED_EXAMPLE),
        ],
    )
    def get(self, request, member_number):
        member = selectors.member_get_for_partner(partner=request.user, member_number=member_number)
        expiring = selectors.member_expiring(member=member)
        return Response(member_output(partner=request.user, member=member, expiring=expiring))


class EntryPagination(CursorPagination):
    example_path = "/api/v1/members/1234567897/entries/"
    results_description = "This page's entries, newest first."


class EntryFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=EntryKind.choices, help_text="Only entries of this kind.")
    since = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", help_text="Only entries made on or after this day."
    )
    until = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", help_text="Only entries made on or before this day."
    )

    class Meta:
        model = Entry
        fields = ["kind", "since", "until"]


class MemberEntriesApi(generics.ListAPIView):
    """Ledger history, newest first. The enrolling partner reads all of it, others only their own entries."""

    required_scopes = {"GET": "members:read", "HEAD": "members:read"}
    serializer_class = EntryOutputSerializer
    pagination_class = EntryPagination
    filterset_class = EntryFilter

    @extend_schema(
        operation_id="members_entries_list",
        summary="A member's point history",
        description="Newest first, cursor-paginated (`next`/`previous` links; `page_size` up to the cap), "
        "filterable by `kind` and by day (`since`, `until`). The partner that enrolled the member reads its "
        "whole history; any other partner reads only the entries it made. Needs the `members:read` scope.",
        parameters=[MEMBER_NUMBER_PARAMETER, *RATE_LIMIT_HEADERS],
        responses={
            200: EntryOutputSerializer(many=True),
            **error_responses(
                "invalid",
                "invalid_member_number",
                *AUTH_ERRORS,
                "not_found",
                invalid={"kind": ["Select a valid choice. bogus is not one of the available choices."]},
            ),
        },
        examples=[OpenApiExample("History", response_only=True, value=[ENTRY_EXAMPLE])],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return Entry.objects.none()
        member = selectors.member_get_for_partner(
            partner=self.request.user, member_number=self.kwargs["member_number"]
        )
        return selectors.member_entries_for_partner(partner=self.request.user, member=member)


class MemberEntryDetailApi(APIView):
    required_scopes = {"GET": "members:read", "HEAD": "members:read"}

    @extend_schema(
        operation_id="members_entries_retrieve",
        summary="One entry of a member's history",
        description="An entry this partner may read (see the history): the `Location` of an adjustment. "
        "Needs the `members:read` scope.",
        parameters=[
            MEMBER_NUMBER_PARAMETER,
            OpenApiParameter("entry_id", int, OpenApiParameter.PATH, description="The entry's id."),
            *RATE_LIMIT_HEADERS,
        ],
        responses={
            200: EntryOutputSerializer,
            **error_responses("invalid_member_number", *AUTH_ERRORS, "not_found"),
        },
        examples=[OpenApiExample("Entry", response_only=True, value=ENTRY_EXAMPLE)],
    )
    def get(self, request, member_number, entry_id):
        member = selectors.member_get_for_partner(partner=request.user, member_number=member_number)
        entry = selectors.member_entries_for_partner(partner=request.user, member=member).filter(pk=entry_id).first()
        if entry is None:
            raise NotFound("This member has no such entry that this partner may read.")
        return Response(EntryOutputSerializer(entry).data)


class MemberAdjustApi(APIView):
    required_scopes = {"POST": "points:adjust"}

    @extend_schema_serializer(component_name="AdjustmentInput")
    class InputSerializer(serializers.Serializer):
        points = StrictIntegerField(
            min_value=-MAX_POINTS, max_value=MAX_POINTS, help_text="Signed points: positive credits, negative debits."
        )
        reason = StrictCharField(max_length=255, help_text="Why the points are adjusted; shown to the member.")
        presence_code = StrictRegexField(
            r"^[0-9]{6}$",
            required=False,
            help_text="The member's presence code (6 digits, from their portal): needed to debit a member another "
            "partner enrolled; checked and spent with the debit. Ignored on a credit.",
        )

        def validate_points(self, value):
            if value == 0:
                raise serializers.ValidationError("Points must be a whole number other than zero.")
            return value

    @extend_schema_serializer(component_name="Adjustment")
    class OutputSerializer(serializers.Serializer):
        entry = EntryOutputSerializer(help_text="The adjustment's ledger entry.")
        balance = serializers.IntegerField(help_text="The member's spendable points after it.")
        pending = serializers.IntegerField(help_text="The member's pending points after it.")

    @extend_schema(
        operation_id="members_adjustments_create",
        summary="Adjust a member's points",
        description="Credits (positive `points`) or debits (negative) the member's account with a reason; "
        "`Location` is the new entry's URL. Any partner may credit a member it names by number. A debit "
        "needs the partner that enrolled the member, or the member's `presence_code` (shown by their "
        "portal, valid a few minutes, once): a wrong code counts against the code's few attempts even "
        "though the request fails; a debit that fails otherwise (e.g. `insufficient_points`) leaves the "
        "code unspent. A debit beyond the balance answers 409 `insufficient_points`; any adjustment of a "
        "merged number 409 `member_merged`, whose `details.merged_into` is the survivor's number. Needs the "
        "`points:adjust` scope.",
        request=InputSerializer,
        parameters=[MEMBER_NUMBER_PARAMETER, IDEMPOTENCY_KEY_HEADER, LOCATION_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            201: OutputSerializer,
            **error_responses(
                *BODY_ERRORS,
                "invalid_member_number",
                *AUTH_ERRORS,
                "presence_code_required",
                "presence_code_invalid",
                "presence_code_expired",
                "presence_code_used",
                "presence_code_locked",
                "not_found",
                "insufficient_points",
                "member_suspended",
                "member_closed",
                "member_merged",
                "idempotency_conflict",
                invalid={"points": ["Points must be a whole number other than zero."]},
            ),
        },
        examples=[
            OpenApiExample("Credit", request_only=True, value={"points": 100, "reason": "Goodwill gesture"}),
            OpenApiExample(
                "Debit with the member's presence code",
                request_only=True,
                value={"points": -500, "reason": "Coffee machine", "presence_code": "482913"},
            ),
            OpenApiExample(
                "Adjusted",
                response_only=True,
                status_codes=["201"],
                value={"entry": ENTRY_EXAMPLE, "balance": 1200, "pending": 300},
            ),
        ],
    )
    def post(self, request, member_number):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = selectors.member_get_for_partner(partner=request.user, member_number=member_number)

        def check_proof():
            return partner_debit_proof_check(
                partner=request.user, member=member, points=data["points"], presence_code=data.get("presence_code")
            )

        def adjust(proof):
            entry = partner_points_adjust(
                partner=request.user,
                member=member,
                points=data["points"],
                reason=data["reason"],
                idempotency_key=request.headers["Idempotency-Key"],
                proof=proof,
            )
            body = {"entry": entry, "balance": member.account.balance, "pending": member.account.pending}
            return 201, self.OutputSerializer(body).data

        return idempotent_post(
            request,
            adjust,
            prepare=check_proof,
            location=lambda body: reverse("api-member-entry", args=[member.member_number, body["entry"]["id"]]),
        )


urlpatterns = [
    path("", MemberEnrollApi.as_view(), name="api-member-enroll"),
    path("<str:member_number>/", MemberDetailApi.as_view(), name="api-member-detail"),
    path("<str:member_number>/entries/", MemberEntriesApi.as_view(), name="api-member-entries"),
    path("<str:member_number>/entries/<int:entry_id>/", MemberEntryDetailApi.as_view(), name="api-member-entry"),
    path("<str:member_number>/adjustments/", MemberAdjustApi.as_view(), name="api-member-adjustments"),
    path("<str:member_number>/holds/", MemberHoldCreateApi.as_view(), name="api-member-holds"),
    path("<str:member_number>/missions/", MemberMissionsApi.as_view(), name="api-member-missions"),
]
