from django.db import migrations

ADDITION, CHANGE = 1, 2


def move_key_log_entries(apps, schema_editor):
    """The admin log's rows about keys become key events, then go: their object id was the key's primary key,
    which holds its hash."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    LogEntry = apps.get_model("admin", "LogEntry")
    PartnerAPIKey = apps.get_model("partners", "PartnerAPIKey")
    PartnerAPIKeyEvent = apps.get_model("partners", "PartnerAPIKeyEvent")
    key_type = ContentType.objects.filter(app_label="partners", model="partnerapikey").first()
    if key_type is None:
        return
    rows = LogEntry.objects.filter(content_type=key_type).order_by("action_time", "pk")
    for row in rows.iterator(chunk_size=500):
        prefix = (row.object_id or "").partition(".")[0]
        key = PartnerAPIKey.objects.filter(prefix=prefix).only("prefix", "partner_id").first()
        if key is not None and row.action_flag in (ADDITION, CHANGE):
            PartnerAPIKeyEvent.objects.create(
                key_id=key.prefix,
                partner_id=key.partner_id,
                action="created" if row.action_flag == ADDITION else "revoked",
                name=row.object_repr[:50],
                scopes=[],
                actor_id=row.user_id,
                created_at=row.action_time,
            )
    rows.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0005_partner_api_key_events"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(move_key_log_entries, migrations.RunPython.noop)]
