"""The partner API: every app's endpoints under ``/api/v1/``, the schema and its docs.

What the views share (errors, body limit, idempotency) is in ``loyalty/partners/rest.py``.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from loyalty.partners.rest import not_found

v1 = [
    path("members/", include("members.api")),
    path("transactions/", include("campaigns.api")),
    path("events/", include("campaigns.event_api")),
    path("holds/", include("rewards.payment_api")),
    path("webhooks/", include("loyalty.webhooks.api")),
    path("", include("rewards.api")),  # rewards/, redemptions/, vouchers/
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from our static files (drf-spectacular-sidecar), its init script at ?script: no inline code (CSP).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
]

urlpatterns = [
    path("v1/", include(v1)),
    re_path(r"^[\s\S]*$", not_found, name="api-not-found"),
]
