"""The project's URLs and, only for the benchmark, a bare DRF endpoint to compare the purchase API with."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView


class BareApi(APIView):
    """Authenticates the partner key and checks its scope like the transactions API, then answers a constant.

    What a request costs before any of the API's own work: the yardstick of the purchase benchmark.
    """

    required_scopes = {"POST": "transactions:write"}

    def post(self, request):
        return Response({"ok": True}, status=201)


urlpatterns = [
    path("api/v1/bench/bare/", BareApi.as_view(), name="bench-bare"),
    path("", include("loyalty.urls")),
]
