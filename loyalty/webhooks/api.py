"""The partner API for webhook endpoints (``/api/v1/webhooks/``): thin views over ``services``.

A partner registers, lists, reads and deletes its own endpoints only (scope ``webhooks:manage``);
the secret that signs deliveries is in the answer of the ``POST`` alone.
"""

from django.urls import path, reverse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.exceptions import NotFound
from loyalty.outbox.models import EventType
from loyalty.partners.fields import StrictCharField
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

from . import services
from .models import WebhookEndpoint

SCOPE = "webhooks:manage"
ENDPOINT_PARAMETER = OpenApiParameter(
    "webhook_id", int, OpenApiParameter.PATH, description="The endpoint's id (from its creation)."
)
ENDPOINT_EXAMPLE = {
    "id": 12,
    "url": "https://hooks.partner.example/loyalty",
    "event_types": ["points.earned", "voucher.used"],
    "active": True,
    "created_at": "2027-03-13T14:42:01Z",
}


@extend_schema_serializer(component_name="WebhookEndpoint")
class EndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The endpoint's id.")
    url = serializers.CharField(help_text="Where the events are posted.")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), help_text="The event types sent to it."
    )
    active = serializers.BooleanField(help_text="Whether events are sent to it.")
    created_at = serializers.DateTimeField(help_text="When it was registered.")


@extend_schema_serializer(component_name="WebhookEndpointCreated")
class EndpointCreatedSerializer(EndpointSerializer):
    secret = serializers.CharField(
        help_text="Signs every delivery (see the `Loyalty-Signature` header): shown in this answer only, keep it."
    )


class EndpointPagination(CursorPagination):
    example_path = "/api/v1/webhooks/"
    example_cursors = ("cD0y", "cj0x")
    results_description = "This page's endpoints, newest first."


def _endpoint_url(body: dict) -> str:
    return reverse("api-webhook-detail", args=[body["id"]])


def _own_endpoint(partner, webhook_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(partner=partner, pk=webhook_id).first()
    if endpoint is None:
        raise NotFound("This partner has no webhook endpoint with this id.")
    return endpoint


class WebhooksApi(generics.ListAPIView):
    """``POST``: register an endpoint; ``GET``: the partner's own endpoints."""

    required_scopes = {"POST": SCOPE, "GET": SCOPE, "HEAD": SCOPE}
    serializer_class = EndpointSerializer
    pagination_class = EndpointPagination
    filter_backends = []

    @extend_schema_serializer(component_name="WebhookEndpointInput")
    class InputSerializer(serializers.Serializer):
        url = StrictCharField(
            max_length=500,
            help_text="An `http` or `https` URL whose host resolves to public addresses only (no loopback, "
            "private or link-local address). Redirects are not followed.",
        )
        event_types = serializers.ListField(
            child=serializers.ChoiceField(choices=EventType.choices),
            min_length=1,
            max_length=len(EventType.choices),
            help_text="The event types to send: " + ", ".join(f"`{value}`" for value in EventType.values) + ".",
        )

    @extend_schema(
        operation_id="webhooks_create",
        summary="Register a webhook endpoint",
        description="Events of the chosen types about members this partner enrolled, and about changes this "
        "partner made, are posted to `url` as JSON `{id, type, created_at, data}`, signed in the "
        '`Loyalty-Signature` header (`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`). '
        "The answer holds the `secret`, once. A URL that is not http(s) or leads to a non-public address answers "
        "400 `invalid` on `url`. Needs the `webhooks:manage` scope.",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_HEADER, LOCATION_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            201: EndpointCreatedSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                "idempotency_conflict",
                invalid={"url": ["This URL does not lead to a public address."]},
            ),
        },
        examples=[
            OpenApiExample(
                "Endpoint",
                request_only=True,
                value={"url": ENDPOINT_EXAMPLE["url"], "event_types": ENDPOINT_EXAMPLE["event_types"]},
            ),
            OpenApiExample(
                "Registered",
                response_only=True,
                status_codes=["201"],
                value={**ENDPOINT_EXAMPLE, "secret": "whsec_3q2-7wEXAMPLEl0nGr4nd0mS3cr3tV4lu3xyz1234"},
            ),
        ],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def register():
            endpoint = services.endpoint_create(partner=request.user, url=data["url"], event_types=data["event_types"])
            return status.HTTP_201_CREATED, EndpointCreatedSerializer(endpoint).data

        return idempotent_post(request, register, location=_endpoint_url)

    @extend_schema(
        operation_id="webhooks_list",
        summary="List this partner's webhook endpoints",
        description="This partner's own endpoints, newest first, cursor-paginated; without their secrets. Needs "
        "the `webhooks:manage` scope.",
        parameters=[*RATE_LIMIT_HEADERS],
        responses={200: EndpointSerializer(many=True), **error_responses("invalid", *AUTH_ERRORS)},
        examples=[OpenApiExample("Endpoints", response_only=True, value=[ENDPOINT_EXAMPLE])],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return WebhookEndpoint.objects.filter(partner=self.request.user)


class WebhookDetailApi(APIView):
    required_scopes = {"GET": SCOPE, "HEAD": SCOPE, "DELETE": SCOPE}

    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="Read a webhook endpoint",
        description="One of this partner's endpoints, without its secret; another partner's answers 404. Needs "
        "the `webhooks:manage` scope.",
        parameters=[ENDPOINT_PARAMETER, *RATE_LIMIT_HEADERS],
        responses={200: EndpointSerializer, **error_responses(*AUTH_ERRORS, "not_found")},
        examples=[OpenApiExample("Endpoint", response_only=True, value=ENDPOINT_EXAMPLE)],
    )
    def get(self, request, webhook_id):
        return Response(EndpointSerializer(_own_endpoint(request.user, webhook_id)).data)

    @extend_schema(
        operation_id="webhooks_destroy",
        summary="Delete a webhook endpoint",
        description="Nothing more is sent to it, retries included; its delivery log goes with it. Another "
        "partner's endpoint answers 404. Needs the `webhooks:manage` scope.",
        parameters=[ENDPOINT_PARAMETER, *RATE_LIMIT_HEADERS],
        responses={204: None, **error_responses(*AUTH_ERRORS, "not_found")},
    )
    def delete(self, request, webhook_id):
        services.endpoint_delete(endpoint=_own_endpoint(request.user, webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("", WebhooksApi.as_view(), name="api-webhooks"),
    path("<int:webhook_id>/", WebhookDetailApi.as_view(), name="api-webhook-detail"),
]
