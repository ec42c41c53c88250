"""The partner API for members: thin views, one service or selector each."""

from datetime import date

import django_filters
from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.clock import program_date
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind
from loyalty.partners.rest import IDEMPOTENCY_KEY_HEADER, error_responses, idempotent_post

from . import selectors
from .models import MemberStatus
from .services import EMAIL_MAX_LENGTH, member_enroll

MAX_POINTS = 10**9

MEMBER_EXAMPLE = {
    "member_number": "1234567897",
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "status": "active",
    "balance": 1200,
    "pending": 300,
    "joined_at": "2026-11-23T10:00:00Z",
}


@extend_schema_serializer(component_name="Member")
class MemberOutputSerializer(serializers.Serializer):
    member_number = serializers.CharField(help_text="The member's public card number (10 digits).")
    email = serializers.EmailField(source="user.email", help_text="The member's e-mail address.")
    first_name = serializers.CharField(source="user.first_name", help_text="Given name.")
    last_name = serializers.CharField(source="user.last_name", help_text="Family name.")
    status = serializers.ChoiceField(choices=MemberStatus.choices, help_text="active, suspended or closed.")
    balance = serializers.IntegerField(source="account.balance", help_text="Spendable points.")
    pending = serializers.IntegerField(source="account.pending", help_text="Earned points not yet available.")
    joined_at = serializers.DateTimeField(help_text="When the member enrolled.")


class ExpiringSerializer(serializers.Serializer):
    expires_on = serializers.DateField(help_text="The last day these points can be spent.")
    points = serializers.IntegerField(help_text="Available points that expire after that day.")


@extend_schema_serializer(component_name="Entry")
class EntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The entry's id.")
    kind = serializers.ChoiceField(choices=EntryKind.choices, help_text="What kind of change this is.")
    amount = serializers.IntegerField(help_text="Signed points: positive credits, negative debits.")
    balance_after = serializers.IntegerField(help_text="The spendable balance right after this entry.")
    created_at = serializers.DateTimeField(help_text="When it happened.")
    memo = serializers.CharField(
        source="memo_display",
        help_text="Why, in the request's language: the reason of an adjustment, an expiry's points...",
    )


class MemberEnrollApi(APIView):
    required_scopes = {"POST": "members:write"}

    @extend_schema_serializer(component_name="MemberEnrollInput")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, help_text="The member's e-mail address; unique.")
        first_name = serializers.CharField(max_length=150, allow_blank=True, help_text="Given name.")
        last_name = serializers.CharField(max_length=150, allow_blank=True, help_text="Family name.")
        birth_date = serializers.DateField(required=False, allow_null=True, help_text="Date of birth (YYYY-MM-DD).")
        language = serializers.ChoiceField(
            choices=settings.LANGUAGES, required=False, help_text="Preferred language of messages."
        )
        external_id = serializers.CharField(
            max_length=64, required=False, allow_blank=True, help_text="The member's id in the partner's own system."
        )

        def validate_birth_date(self, value):
            if value is not None and not date(1900, 1, 1) <= value <= program_date():
                raise serializers.ValidationError("Give a date of birth between 1900-01-01 and today.")
            return value

    @extend_schema(
        operation_id="members_enroll",
        summary="Enrol a member",
        description="Creates the member and its points account. Needs the `members:write` scope. "
        "A known e-mail answers 409 `conflict` with the existing `member_number` in `details`.",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER],
        responses={201: MemberOutputSerializer, **error_responses(400, 401, 403, 409, 413, 415, 429)},
        examples=[
            OpenApiExample(
                "Enrol",
                request_only=True,
                value={"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "language": "en"},
            ),
            OpenApiExample("Enrolled", response_only=True, status_codes=["201"], value=MEMBER_EXAMPLE),
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def enroll():
            member = member_enroll(**serializer.validated_data, enrolled_by=request.user)
            return 201, MemberOutputSerializer(member).data

        return idempotent_post(request, enroll)


class MemberDetailApi(APIView):
    required_scopes = {"GET": "members:read"}

    @extend_schema_serializer(component_name="MemberDetail")
    class OutputSerializer(MemberOutputSerializer):
        expiring = ExpiringSerializer(many=True, help_text="The next expiry dates of available points, soonest first.")

    @extend_schema(
        operation_id="members_retrieve",
        summary="Read a member",
        description="The member with its balance, pending points and the next expiry dates. "
        "Needs the `members:read` scope.",
        responses={200: OutputSerializer, **error_responses(401, 403, 404, 429)},
        examples=[
            OpenApiExample(
                "Member",
                response_only=True,
                value={**MEMBER_EXAMPLE, "expiring": [{"expires_on": "2026-12-31", "points": 500}]},
            )
        ],
    )
    def get(self, request, member_number):
        member = selectors.member_get_for_partner(partner=request.user, member_number=member_number)
        member.expiring = selectors.member_expiring(member=member)
        return Response(self.OutputSerializer(member).data)


class EntryPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        properties = response["properties"]
        properties["next"]["description"] = "The next (older) page, or null on the last page."
        properties["previous"]["description"] = "The previous (newer) page, or null on the first page."
        if isinstance(properties["results"], dict):  # not the sentinel drf-spectacular passes for examples
            properties["results"]["description"] = "This page's entries, newest first."
        return response


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

    required_scopes = {"GET": "members:read"}
    serializer_class = EntryOutputSerializer
    pagination_class = EntryPagination
    filterset_class = EntryFilter

    @extend_schema(
        operation_id="members_entries_list",
        summary="A member's point history",
        description="Newest first, cursor-paginated (`next`/`previous` links; `page_size` up to the cap), "
        "filterable by `kind` and by day (`since`, `until`). The partner that enrolled the member reads its "
        "whole history; any other partner reads only the entries it made. Needs the `members:read` scope.",
        responses={200: EntryOutputSerializer(many=True), **error_responses(400, 401, 403, 404, 429)},
        examples=[
            OpenApiExample(
                "History",
                response_only=True,
                value=[
                    {
                        "id": 42,
                        "kind": "adjust",
                        "amount": 100,
                        "balance_after": 1200,
                        "created_at": "2026-11-23T10:00:00Z",
                        "memo": "Goodwill gesture",
                    }
                ],
            )
        ],
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


class MemberAdjustApi(APIView):
    required_scopes = {"POST": "points:adjust"}

    @extend_schema_serializer(component_name="AdjustmentInput")
    class InputSerializer(serializers.Serializer):
        points = serializers.IntegerField(
            min_value=-MAX_POINTS, max_value=MAX_POINTS, help_text="Signed points: positive credits, negative debits."
        )
        reason = serializers.CharField(max_length=255, help_text="Why the points are adjusted; shown to the member.")

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
        description="Credits (positive `points`) or debits (negative) the member's account with a reason. "
        "A debit beyond the balance answers 409 `insufficient_points`. Needs the `points:adjust` scope.",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER],
        responses={201: OutputSerializer, **error_responses(400, 401, 403, 404, 409, 413, 415, 429)},
        examples=[
            OpenApiExample("Credit", request_only=True, value={"points": 100, "reason": "Goodwill gesture"}),
            OpenApiExample(
                "Adjusted",
                response_only=True,
                status_codes=["201"],
                value={
                    "entry": {
                        "id": 42,
                        "kind": "adjust",
                        "amount": 100,
                        "balance_after": 1200,
                        "created_at": "2026-11-23T10:00:00Z",
                        "memo": "Goodwill gesture",
                    },
                    "balance": 1200,
                    "pending": 300,
                },
            ),
        ],
    )
    def post(self, request, member_number):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = selectors.member_get_for_partner(partner=request.user, member_number=member_number)
        key = request.headers.get("Idempotency-Key")

        def adjust():
            account = member.account
            entry = ledger.adjust(
                account,
                serializer.validated_data["points"],
                reason=serializer.validated_data["reason"],
                actor=request.user,
                idempotency_key=f"partner-{request.user.pk}:{key}" if key else None,
            )
            body = {"entry": entry, "balance": account.balance, "pending": account.pending}
            return 201, self.OutputSerializer(body).data

        return idempotent_post(request, adjust)


urlpatterns = [
    path("", MemberEnrollApi.as_view(), name="api-member-enroll"),
    path("<str:member_number>/", MemberDetailApi.as_view(), name="api-member-detail"),
    path("<str:member_number>/entries/", MemberEntriesApi.as_view(), name="api-member-entries"),
    path("<str:member_number>/adjustments/", MemberAdjustApi.as_view(), name="api-member-adjustments"),
]
