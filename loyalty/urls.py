from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("loyalty.api")),
    path("", include("members.urls")),
    path("healthz", lambda request: HttpResponse("ok", content_type="text/plain"), name="healthz"),
]
