from django.db import migrations

# code, name, name_fr, points, limit, limit_period, per_day, requires_approval
BUILTIN_EVENT_TYPES = [
    ("sign_up", "Sign-up", "Inscription", 100, "once", "year", 1, False),
    ("birthday", "Birthday", "Anniversaire", 200, "per_period", "year", 1, False),
    ("profile_completed", "Profile completed", "Profil complété", 50, "once", "year", 1, False),
    ("review", "Review written", "Avis rédigé", 20, "per_day", "year", 3, True),
    ("survey", "Survey answered", "Questionnaire rempli", 30, "per_day", "year", 1, False),
    ("social_share", "Social share", "Partage sur les réseaux", 10, "per_day", "year", 2, False),
    ("app_installed", "App installed", "Application installée", 50, "once", "year", 1, False),
]


def create(apps, schema_editor):
    apps.get_model("campaigns", "EarningPolicy").objects.get_or_create(pk=1)
    EventType = apps.get_model("campaigns", "EventType")
    for code, name, name_fr, points, limit, period, per_day, approval in BUILTIN_EVENT_TYPES:
        EventType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_fr": name_fr,
                "points": points,
                "limit": limit,
                "limit_period": period,
                "per_day": per_day,
                "requires_approval": approval,
                "builtin": True,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
