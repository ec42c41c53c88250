"""The partner API for events: post a member's event, approve or decline it, read it. Thin views, one service each.

The rules (types, limits, approval, members who cannot earn) are ``campaigns.events``'.
"""

import hashlib
import json
from datetime import UTC

from django.urls import path, reverse
from django.utils import dateparse, timezone, translation
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.exceptions import LoyaltyError, MemberClosed, MemberSuspended, ValidationError
from loyalty.partners.fields import StrictCharField
from loyalty.partners.rest import (
    AUTH_ERRORS,
    BODY_ERRORS,
    IDEMPOTENCY_KEY_HEADER,
    LOCATION_HEADER,
    RATE_LIMIT_HEADERS,
    error_body,
    error_responses,
    idempotent_post,
    own_or_not_found,
)
from members import selectors as member_selectors

from . import event_selectors, events
from .models import AwardSource, Event, Outcome
from .reasons import reason_label

EVENT_ID_PARAMETER = OpenApiParameter("event_id", int, OpenApiParameter.PATH, description="The event's id.")

EVENT_EXAMPLE = {
    "id": 42,
    "type": "survey",
    "external_id": "survey-2027-q1-8812",
    "member": "1234567897",
    "occurred_at": "2027-03-10T12:00:00Z",
    "outcome": "earned",
    "points": 30,
    "breakdown": [
        {"source": "base", "rule": None, "campaign": None, "points": 30, "reason": "Points for Survey answered"},
    ],
    "balance": 1230,
    "decided_at": None,
    "decision_reason": "",
}
AWAITING_EXAMPLE = {
    **EVENT_EXAMPLE,
    "type": "review",
    "external_id": "review-77120",
    "outcome": "awaiting_approval",
    "points": 20,
    "breakdown": [],
    "balance": 1200,
}
APPROVED_EXAMPLE = {
    **AWAITING_EXAMPLE,
    "outcome": "earned",
    "breakdown": [
        {"source": "base", "rule": None, "campaign": None, "points": 20, "reason": "Points for Review written"}
    ],
    "balance": 1220,
    "decided_at": "2027-03-11T09:30:00Z",
}
DECLINED_EXAMPLE = {
    **AWAITING_EXAMPLE,
    "outcome": "declined",
    "points": 0,
    "decided_at": "2027-03-11T09:30:00Z",
    "decision_reason": "The review breaks the moderation rules.",
}


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 moment with its offset (``Z`` or ``+01:00``): a time without one would be guessed."""

    default_error_messages = {"naive": "Give the time with its offset, e.g. 2027-03-10T12:00:00Z."}

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        try:
            parsed = dateparse.parse_datetime(value.strip()) if len(value) <= 40 else None
        except ValueError:
            parsed = None
        if parsed is not None and timezone.is_naive(parsed):
            self.fail("naive")
        return super().to_internal_value(value)


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": events.ATTRIBUTES_MAX_KEYS,
        "additionalProperties": {
            "oneOf": [{"type": "string", "maxLength": events.ATTRIBUTES_MAX_STRING_LENGTH}, {"type": "number"}]
        },
    }
)
class AttributesField(serializers.JSONField):
    def to_internal_value(self, data):
        try:
            return events.attributes_check(data)
        except ValidationError as error:
            raise serializers.ValidationError(error.message) from None


@extend_schema_serializer(component_name="EventAward")
class BreakdownSerializer(serializers.Serializer):
    source = serializers.ChoiceField(
        choices=AwardSource.choices, help_text="`base`: the event type's points; `campaign`: a campaign's rule."
    )
    rule = serializers.IntegerField(source="rule_id", allow_null=True, help_text="The campaign rule's id, or null.")
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True, help_text="The campaign's id, or null.")
    points = serializers.IntegerField(help_text="The points from this source.")
    reason = serializers.SerializerMethodField(help_text="Why, in the request's language.")

    def get_reason(self, award) -> str:
        return reason_label(award.reason, _params_in_language(award))


@extend_schema_serializer(component_name="Event")
class EventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The event's id: the path of its approval or decline.")
    type = serializers.CharField(source="event_type.code", help_text="The event type's code.")
    external_id = serializers.CharField(help_text="The partner's own id of the event.")
    member = serializers.CharField(source="member.member_number", help_text="The member's card number.")
    occurred_at = serializers.DateTimeField(help_text="When it happened.")
    outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        help_text="`earned`; `nothing` (no points under the rules); `limit_reached` (the type's limit was reached: "
        "0 points); `awaiting_approval` (`points` are credited when approved); `declined`; `member_suspended`, "
        "`member_closed` (recorded, 0 points; the POST answers 409).",
    )
    points = serializers.IntegerField(
        help_text="What it earned; while awaiting approval, what it would earn now (approval evaluates it again)."
    )
    breakdown = BreakdownSerializer(many=True, help_text="Where the credited points come from; empty until credited.")
    balance = serializers.IntegerField(source="member.account.balance", help_text="The member's spendable points now.")
    decided_at = serializers.DateTimeField(allow_null=True, help_text="When it was approved or declined; else null.")
    decision_reason = serializers.CharField(help_text="Why it was declined; else empty.")


def _params_in_language(award) -> dict:
    """The award's parameters with the event type's and the campaign's names in the request's language."""
    french = translation.get_language() == "fr"
    event_type = award.event.event_type
    params = {**award.params, "type_name": (french and event_type.name_fr) or event_type.name}
    if award.campaign is not None:
        params["campaign"] = (french and award.campaign.name_fr) or award.campaign.name
    return params


def event_output(event: Event) -> dict:
    event.breakdown = event_selectors.event_awards(event=event)
    for award in event.breakdown:
        award.event = event  # its type is the event's: no query per award
    return EventOutputSerializer(event).data


def _event_url(body: dict) -> str:
    return reverse("api-event-detail", args=[body["id"]])


class EventCreateApi(APIView):
    required_scopes = {"POST": "events:write"}

    @extend_schema_serializer(component_name="EventInput")
    class InputSerializer(serializers.Serializer):
        member = StrictCharField(max_length=32, help_text="The member's card number (10 digits).")
        type = StrictCharField(
            max_length=40, help_text="An active event type's code: `review`, `survey`, ... or one staff created."
        )
        external_id = StrictCharField(
            max_length=64, help_text="This partner's own id of the event: unique per partner (a repeat is one event)."
        )
        occurred_at = AwareDateTimeField(help_text="When it happened, with its offset; not in the future.")
        attributes = AttributesField(
            required=False,
            help_text="Optional facts about it: a flat object of at most 20 strings (200 characters) or numbers, "
            '2 KB in all (e.g. `{"product": "SKU-1", "stars": 5}`).',
        )

    @extend_schema(
        operation_id="events_create",
        summary="Post a member's event",
        description="Records an event of a member this partner names by card number and credits what it earns: "
        "the type's points, plus the event points of the campaigns that apply (within their caps and budgets). "
        "Over the type's limit (once ever, once per week/month/year, N per program day, on `occurred_at`'s day in "
        "the program's time zone) the event is recorded with `outcome: limit_reached` and 0 points. A type that "
        "requires approval is `awaiting_approval`: nothing is credited until this partner (or staff) approves it. "
        "The same `external_id` again with the same body answers the first event (201); with another body, 409 "
        "`external_id_conflict`. A suspended or closed member's event is recorded with 0 points and answers 409 "
        "`member_suspended` / `member_closed` (`details.event` is its id). Needs the `events:write` scope.",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, LOCATION_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            201: EventOutputSerializer,
            **error_responses(
                *BODY_ERRORS,
                "invalid_member_number",
                "unknown_event_type",
                *AUTH_ERRORS,
                "not_found",
                "member_suspended",
                "member_closed",
                "member_merged",
                "external_id_conflict",
                "idempotency_conflict",
                invalid={"occurred_at": ["An event cannot have happened in the future."]},
            ),
        },
        examples=[
            OpenApiExample(
                "A survey answered",
                request_only=True,
                value={
                    "member": "1234567897",
                    "type": "survey",
                    "external_id": "survey-2027-q1-8812",
                    "occurred_at": "2027-03-10T12:00:00Z",
                    "attributes": {"survey": "2027-q1", "score": 9},
                },
            ),
            OpenApiExample("Earned", response_only=True, status_codes=["201"], value=EVENT_EXAMPLE),
            OpenApiExample("Awaiting approval", response_only=True, status_codes=["201"], value=AWAITING_EXAMPLE),
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = member_selectors.member_get_for_partner(partner=request.user, member_number=data["member"])

        def record():
            event = events.event_record(
                member=member,
                event_type_code=data["type"],
                external_id=data["external_id"],
                occurred_at=data["occurred_at"],
                attributes=data.get("attributes", {}),
                partner=request.user,
                body_hash=_body_hash(member, data),
                now=timezone.now(),
            )
            refused = {Outcome.MEMBER_SUSPENDED: MemberSuspended, Outcome.MEMBER_CLOSED: MemberClosed}
            if event.outcome in refused:  # recorded, and kept: the answer is the error, stored like a success
                error: LoyaltyError = refused[event.outcome]()
                return error.status, error_body(error.code, error.message, event=event.pk)
            return 201, event_output(event)

        return idempotent_post(request, record, location=_event_url)


def _body_hash(member, data: dict) -> str:
    """What makes two posts of one ``external_id`` the same event: member, type, moment and attributes."""
    body = {
        "member": member.member_number,
        "type": data["type"],
        "occurred_at": data["occurred_at"].astimezone(UTC).isoformat(),
        "attributes": data.get("attributes", {}),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _own_event(partner, event_id: int) -> Event:
    return own_or_not_found(
        event_selectors.events_for_partner(partner=partner), "This partner posted no such event.", pk=event_id
    )


class EventDetailApi(APIView):
    required_scopes = {"GET": "events:write", "HEAD": "events:write"}

    @extend_schema(
        operation_id="events_retrieve",
        summary="Read an event",
        description="An event this partner posted, with its outcome (e.g. whether staff approved it). Another "
        "partner's event answers 404. Needs the `events:write` scope.",
        parameters=[EVENT_ID_PARAMETER, *RATE_LIMIT_HEADERS],
        responses={200: EventOutputSerializer, **error_responses(*AUTH_ERRORS, "not_found")},
        examples=[OpenApiExample("Event", response_only=True, value=EVENT_EXAMPLE)],
    )
    def get(self, request, event_id):
        return Response(event_output(_own_event(request.user, event_id)))


class EventApproveApi(APIView):
    required_scopes = {"POST": "events:write"}

    @extend_schema_serializer(component_name="EventApproveInput")
    class InputSerializer(serializers.Serializer):
        pass

    @extend_schema(
        operation_id="events_approve",
        summary="Approve an event awaiting approval",
        description="Credits the event's points: it is evaluated again now (the type's points, the campaigns' caps "
        "and budgets as they stand), so `points` may differ from what was shown while it waited. Only this "
        "partner's own events (else 404). An event already approved or declined answers 409 "
        "`event_not_awaiting_approval` (a repeat with the same `Idempotency-Key` answers as the first); a member "
        "suspended or closed since, 409 `member_suspended` / `member_closed`, and the event keeps waiting. Needs "
        "the `events:write` scope.",
        request=InputSerializer,
        parameters=[EVENT_ID_PARAMETER, IDEMPOTENCY_KEY_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            200: EventOutputSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                "not_found",
                "event_not_awaiting_approval",
                "member_suspended",
                "member_closed",
                "idempotency_conflict",
            ),
        },
        examples=[
            OpenApiExample("Approve", request_only=True, value={}),
            OpenApiExample("Approved", response_only=True, status_codes=["200"], value=APPROVED_EXAMPLE),
        ],
    )
    def post(self, request, event_id):
        self.InputSerializer(data=request.data).is_valid(raise_exception=True)
        event = _own_event(request.user, event_id)

        def approve():
            return 200, event_output(events.event_approve(event=event, actor=request.user, now=timezone.now()))

        return idempotent_post(request, approve)


class EventDeclineApi(APIView):
    required_scopes = {"POST": "events:write"}

    @extend_schema_serializer(component_name="EventDeclineInput")
    class InputSerializer(serializers.Serializer):
        reason = StrictCharField(max_length=255, help_text="Why the event is declined (kept with it).")

    @extend_schema(
        operation_id="events_decline",
        summary="Decline an event awaiting approval",
        description="The event earns nothing (0 points) and no longer counts towards its type's limit. Only this "
        "partner's own events (else 404); one already approved or declined answers 409 "
        "`event_not_awaiting_approval`. Needs the `events:write` scope.",
        request=InputSerializer,
        parameters=[EVENT_ID_PARAMETER, IDEMPOTENCY_KEY_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            200: EventOutputSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                "not_found",
                "event_not_awaiting_approval",
                "idempotency_conflict",
                invalid={"reason": ["This field may not be blank."]},
            ),
        },
        examples=[
            OpenApiExample("Decline", request_only=True, value={"reason": "The review breaks the moderation rules."}),
            OpenApiExample("Declined", response_only=True, status_codes=["200"], value=DECLINED_EXAMPLE),
        ],
    )
    def post(self, request, event_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = _own_event(request.user, event_id)

        def decline():
            declined = events.event_decline(
                event=event, actor=request.user, reason=serializer.validated_data["reason"], now=timezone.now()
            )
            return 200, event_output(declined)

        return idempotent_post(request, decline)


urlpatterns = [
    path("", EventCreateApi.as_view(), name="api-event-create"),
    path("<int:event_id>/", EventDetailApi.as_view(), name="api-event-detail"),
    path("<int:event_id>/approve/", EventApproveApi.as_view(), name="api-event-approve"),
    path("<int:event_id>/decline/", EventDeclineApi.as_view(), name="api-event-decline"),
]
