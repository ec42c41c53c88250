from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("loyalty.api")),
    path("", include("members.urls")),
    path("healthz", lambda request: HttpResponse("ok", content_type="text/plain"), name="healthz"),
]

if settings.DEBUG:  # the development server serves uploads; production's proxy does (README)
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
