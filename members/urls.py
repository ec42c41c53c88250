"""The member portal's URLs, namespace ``portal``, mounted at the site's root."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import TemplateView

from missions import views as mission_views
from missions.leaderboards import views as leaderboard_views

from . import card_views, earn_views, gifting_views, presence_views, rewards_views, views
from .notifications import views as notification_views
from .referrals import views as referral_views
from .tiers import views as tier_views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("card/", card_views.card, name="card"),
    path("history/", views.history, name="history"),
    path("earn/", earn_views.earn, name="earn"),
    path("history.csv", views.history_csv, name="history_csv"),
    path("profile/", views.profile, name="profile"),
    path("profile/data.json", views.profile_data, name="profile_data"),
    path("profile/close/", views.profile_close, name="profile_close"),
    path("till-code/", presence_views.presence_code, name="presence_code"),
    path("tier/", tier_views.tier, name="tier"),
    path("challenges/", mission_views.challenges, name="challenges"),
    path("challenges/missions/", mission_views.challenges_missions, name="challenges_missions"),
    path("referrals/", referral_views.referrals, name="referrals"),
    path("leaderboards/<int:leaderboard_id>/join/", leaderboard_views.join, name="leaderboard_join"),
    path("leaderboards/<int:leaderboard_id>/nickname/", leaderboard_views.nickname, name="leaderboard_nickname"),
    path("leaderboards/<int:leaderboard_id>/leave/", leaderboard_views.leave, name="leaderboard_leave"),
    path("join/<str:code>/", referral_views.join, name="join"),
    path("gift/", gifting_views.gift, name="gift"),
    path("rewards/", rewards_views.rewards, name="rewards"),
    path("rewards/<slug:code>/", rewards_views.reward, name="reward"),
    path("vouchers/", rewards_views.vouchers, name="vouchers"),
    path("vouchers/<int:voucher_id>/", rewards_views.voucher, name="voucher"),
    path("vouchers/<int:voucher_id>/cancel/", rewards_views.voucher_cancel, name="voucher_cancel"),
    path("notifications/", notification_views.notifications, name="notifications"),
    path("notifications/badge/", notification_views.badge, name="notification_badge"),
    path("notifications/read/", notification_views.mark_all_read, name="notifications_mark_all_read"),
    path("notifications/<int:notification_id>/read/", notification_views.mark_read, name="notification_mark_read"),
    path("notifications/settings/", notification_views.notification_settings, name="notification_settings"),
    path("language/", views.language, name="language"),
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", TemplateView.as_view(template_name="portal/auth/signup_sent.html"), name="signup_sent"),
    path(
        "confirm/",
        views.access_link_request,
        {"template": "portal/auth/confirm_request.html"},
        name="confirm_request",
    ),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path(
        "activate/",
        views.access_link_request,
        {"template": "portal/auth/activate_request.html"},
        name="activate_request",
    ),
    path(
        "activate/sent/",
        TemplateView.as_view(template_name="portal/auth/access_link_sent.html"),
        name="access_link_sent",
    ),
    path("activate/<str:token>/", views.activate, name="activate"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/auth/password_reset_done.html"),
        name="password_reset_done",
    ),
    path("password-reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portal/auth/password_reset_complete.html"),
        name="password_reset_complete",
    ),
]
