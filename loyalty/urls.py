from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from loyalty import health, unavailable

handler500 = unavailable.server_error

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("loyalty.api")),
    path("", include("members.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

if settings.DEBUG:  # the development server serves uploads; production's proxy does (README)
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
