"""The partner API's missions of a member: ``GET /api/v1/members/{member_number}/missions/``.

Within the partner data model: any partner that may read a member (``members:read``, the number it
scanned) reads its missions' progress, which holds no personal data; a voucher won is named by its
reward, never by its code (a bearer value). A merged number answers 409 ``member_merged``.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.selectors import member_facts_get
from loyalty.exceptions import MemberMerged
from loyalty.partners.rest import AUTH_ERRORS, RATE_LIMIT_HEADERS, error_responses
from members import selectors as member_selectors

from .selectors import member_missions


@extend_schema_serializer(component_name="MissionStepProgress")
class StepProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="step.pk", help_text="The step's id.")
    position = serializers.IntegerField(source="step.position", help_text="Its place in the mission, from 1.")
    kind = serializers.CharField(source="step.kind", help_text="purchases, spend, category, partner, events, streak")
    target = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="The count, amount or run needed.")
    value = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Where the member is.")
    done = serializers.BooleanField(help_text="Whether the step is done in this period.")


@extend_schema_serializer(component_name="MissionProgress")
class MissionProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="mission.pk", help_text="The mission's id (as in `mission.completed`).")
    name = serializers.CharField(source="mission.name", help_text="Its name in English.")
    name_fr = serializers.CharField(source="mission.name_fr", help_text="Its name in French; empty: the English one.")
    starts_at = serializers.DateTimeField(
        source="mission.starts_at", allow_null=True, help_text="Its start; null: none."
    )
    ends_at = serializers.DateTimeField(
        source="mission.ends_at", allow_null=True, help_text="Its end (excluded); null: none."
    )
    ordered = serializers.BooleanField(
        source="mission.ordered", help_text="A journey: each step counts once the steps before it are done."
    )
    completion_limit = serializers.CharField(
        source="mission.completion_limit", help_text="How often a member may complete it: once, day, week, month."
    )
    period_start = serializers.DateField(help_text="The first day of the completion period shown.")
    percent = serializers.IntegerField(help_text="How far the member is, 0 to 100 (100: completed).")
    completed_at = serializers.DateTimeField(
        source="completed.completed_at",
        allow_null=True,
        default=None,
        help_text="When the member completed it in this period; null: not yet.",
    )
    steps = StepProgressSerializer(many=True, help_text="Its steps, in order.")


MISSIONS_EXAMPLE = {
    "member": "4000000017",
    "missions": [
        {
            "id": 3,
            "name": "Coffee week",
            "name_fr": "Semaine du café",
            "starts_at": "2026-12-01T00:00:00Z",
            "ends_at": "2026-12-08T00:00:00Z",
            "ordered": False,
            "completion_limit": "once",
            "period_start": "2000-01-01",
            "percent": 50,
            "completed_at": None,
            "steps": [
                {"id": 7, "position": 1, "kind": "purchases", "target": "3.00", "value": "2.00", "done": False},
                {"id": 8, "position": 2, "kind": "category", "target": "1.00", "value": "1.00", "done": True},
            ],
        }
    ],
}


class MemberMissionsApi(APIView):
    required_scopes = {"GET": "members:read", "HEAD": "members:read"}

    @extend_schema_serializer(component_name="MemberMissions")
    class OutputSerializer(serializers.Serializer):
        member = serializers.CharField(help_text="The member's number.")
        missions = MissionProgressSerializer(many=True, help_text="The active missions that apply to the member.")

    @extend_schema(
        operation_id="members_missions_list",
        summary="A member's missions and their progress",
        description="The active missions that apply to the member now (audience and dates), each with its "
        "steps' progress in the current completion period and when it was completed in it. Progress counts "
        "purchases and events as they are recorded. Needs the `members:read` scope.",
        responses={
            200: OutputSerializer,
            **error_responses("invalid_member_number", *AUTH_ERRORS, "not_found", "member_merged"),
        },
        parameters=[*RATE_LIMIT_HEADERS],
        examples=[OpenApiExample("Missions", response_only=True, value=MISSIONS_EXAMPLE)],
    )
    def get(self, request, member_number):
        member = member_selectors.member_get_for_partner(partner=request.user, member_number=member_number)
        if member.merged_into_id is not None:
            raise MemberMerged(merged_into=member.merged_into.member_number)
        shown, _completions = member_missions(member=member, now=timezone.now(), facts=member_facts_get(member=member))
        return Response(self.OutputSerializer({"member": member.member_number, "missions": shown}).data)
