"""The portal's notifications: the list, the nav's badge, marking read, the preferences. Form, service, render.

Marking read is a POST; with htmx the answer is the changed part and an ``HX-Trigger``
that refreshes the badge, without it a redirect to the list. Another member's notification
is a 404.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from loyalty.exceptions import NotFound
from members.models import Member
from members.views import member_required

from .forms import NotificationPreferencesForm
from .kinds import KINDS, PREFERENCE_KINDS, notification_wanted
from .selectors import notification_with_texts, notifications_page
from .services import notification_mark_read, notification_preferences_set, notifications_mark_all_read

CHANGED = "notificationsChanged"


@member_required
def notifications(request: HttpRequest, member: Member) -> HttpResponse:
    page = notifications_page(member=member, page=request.GET.get("page"))
    return render(request, "portal/notifications.html", {"member": member, "page": page, "nav": "notifications"})


@member_required
@require_GET
def badge(request: HttpRequest, member: Member) -> HttpResponse:
    return render(request, "portal/_notification_badge.html", {"member": member})


@member_required
@require_POST
def mark_read(request: HttpRequest, member: Member, notification_id: int) -> HttpResponse:
    try:
        notification = notification_mark_read(member=member, notification_id=notification_id)
    except NotFound:
        raise Http404 from None
    if request.htmx:
        context = {"notification": notification_with_texts(notification)}
        response = render(request, "portal/_notification.html", context)
        response["HX-Trigger"] = CHANGED
        return response
    return redirect("portal:notifications")


@member_required
@require_POST
def mark_all_read(request: HttpRequest, member: Member) -> HttpResponse:
    notifications_mark_all_read(member=member)
    return redirect("portal:notifications")


@member_required
def notification_settings(request: HttpRequest, member: Member) -> HttpResponse:
    initial = {KINDS[kind].preference: notification_wanted(member, kind) for kind in PREFERENCE_KINDS}
    form = NotificationPreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        notification_preferences_set(member=member, **form.cleaned_data)
        messages.success(request, _("Your choices are saved."))
        return redirect("portal:notification_settings")
    context = {"member": member, "form": form, "nav": "notifications"}
    return render(request, "portal/notification_settings.html", context)
