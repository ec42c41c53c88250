from django.db import migrations


def create_policy(apps, schema_editor):
    apps.get_model("tiers", "TierPolicy").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("tiers", "0001_initial")]

    operations = [migrations.RunPython(create_policy, migrations.RunPython.noop)]
