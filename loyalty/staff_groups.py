"""The staff groups and their permissions, kept in step by data migrations.

Program manager: configures everything (tiers and the gift policy too), closes members'
accounts, sets a member's tier by hand (a status match is a program decision), merges
members (``members.merge_member``). Support agent: looks up members, adjusts points and
reverses entries with a reason, suspends and reactivates members, helps them log in
(``members.change_member``: a password-reset e-mail, lifting a login lock), reviews flagged
referrals, and reads the catalog and what members redeemed (to answer a call about a
voucher), and the badges members earned and the leaderboards' nicknames (a complaint about
one). Program managers edit and import the catalog and the gift card pools; only they
export the pools' codes in full (``rewards.export_vouchercode``: codes are money). Analyst:
reads only (the catalog too, and exports it; never the codes). Program managers register partners' webhook
endpoints and resend deliveries (webhooks); analysts read them. Every group reads the notifications
sent to members (support reads them on a call; nobody changes them). Nobody deletes members or
partners (they are closed or deactivated); only periodic tasks can be deleted.

CSV exports of the admin's lists (loyalty/reports/exports.py): program managers export
members (personal data: ``members.export_member``), entries and vouchers; analysts export
entries and vouchers (member numbers, no names or e-mails); support agents, who answer for
one member at a time, export nothing but campaign results, which anyone who reads campaigns
exports.

Configuration history: whoever views a model with a history views its history
(``view_historical<model>``, given beside ``view_<model>``); nobody gets the historical
models' add, change or delete permissions (the history is never edited).

After a change here, add a data migration that runs ``sync_staff_groups`` again.
"""

# What members were told (the notifications admin and the member page): read-only for every group.
NOTIFICATIONS_READ = ["notifications.view_notification", "notifications.view_expiryreminder"]

PROGRAM_APPS = [
    "ledger",
    "members",
    "tiers",
    "referrals",
    "rewards",
    "campaigns",
    "badges",
    "streaks",
    "leaderboards",
    "partners",
    "webhooks",
    "django_celery_beat",
]

GROUPS = {
    "Program manager": {
        "apps": PROGRAM_APPS,
        "actions": ["add", "change", "view"],
        "permissions": [
            "django_celery_beat.delete_periodictask",
            "django_celery_beat.delete_crontabschedule",
            "django_celery_beat.delete_intervalschedule",
            "django_celery_beat.delete_clockedschedule",
            "django_celery_beat.delete_solarschedule",
            "webhooks.delete_webhookendpoint",
            *NOTIFICATIONS_READ,
        ],
    },
    "Support agent": {
        "permissions": [
            "members.view_member",
            "members.change_member",
            "ledger.view_account",
            "ledger.view_entry",
            "ledger.view_lot",
            "ledger.view_hold",
            "referrals.view_referral",
            "campaigns.view_purchase",
            "campaigns.view_event",
            "campaigns.view_campaign",
            "rewards.view_reward",
            "rewards.view_charity",
            "rewards.view_redemption",
            "rewards.view_voucher",
            "rewards.view_donation",
            "badges.view_badge",
            "badges.view_memberbadge",
            "leaderboards.view_leaderboard",
            "leaderboards.view_leaderboardentry",
            *NOTIFICATIONS_READ,
        ]
    },
    "Analyst": {"apps": PROGRAM_APPS, "actions": ["view"], "permissions": NOTIFICATIONS_READ},
}
EXTRA_PERMISSIONS = {
    "Program manager": [
        "ledger.adjust_points",
        "members.suspend_member",
        "members.close_member",
        "tiers.set_tier",
        "referrals.review_referral",
        "members.merge_member",
        "campaigns.approve_event",
        "rewards.export_vouchercode",
        "members.export_member",
        "ledger.export_entry",
        "rewards.export_voucher",
    ],
    "Support agent": [
        "ledger.adjust_points",
        "members.suspend_member",
        "referrals.review_referral",
        "campaigns.approve_event",
    ],
    "Analyst": [
        "ledger.export_entry",
        "rewards.export_voucher",
    ],
}
HISTORY_WRITES = r"^(add|change|delete)_historical"


def sync_staff_groups(apps, schema_editor=None) -> None:
    """Create the groups and set their permissions (for a migration's RunPython)."""
    from django.contrib.auth.management import create_permissions
    from django.db.models import Q

    for app_config in apps.get_app_configs():
        # A migration's (historical) app configs have no models module, and create_permissions skips those.
        # Put back what was there: on the project's own registry (a test calls this with it) None would make
        # every later post_migrate skip the app, so a test database's flush would leave no permissions.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, rule in GROUPS.items():
        wanted = Q(pk__in=[])
        if "apps" in rule:
            for action in rule["actions"]:
                wanted |= Q(content_type__app_label__in=rule["apps"], codename__startswith=f"{action}_")
        for dotted in [*rule.get("permissions", []), *EXTRA_PERMISSIONS.get(name, [])]:
            app_label, codename = dotted.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(
            Permission.objects.filter(wanted).exclude(codename__regex=HISTORY_WRITES).select_related("content_type")
        )
        histories = Q(pk__in=[])
        for permission in permissions:
            if permission.codename.startswith("view_"):
                model = permission.codename.removeprefix("view_")
                label = permission.content_type.app_label
                histories |= Q(content_type__app_label=label, codename=f"view_historical{model}")
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([*permissions, *Permission.objects.filter(histories)])
