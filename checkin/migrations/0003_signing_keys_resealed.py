"""Signing keys sealed by checkin's own derivation are re-sealed with core.sealed's newest key.

core.sealed still opens the old form (LEGACY_KEYS), so a server not yet migrated and one
already migrated both read every key during a rolling deploy.
"""

from django.db import migrations


def reseal_all(apps, schema_editor):
    from core.sealed import SIGNING_KEYS, reseal

    SigningKey = apps.get_model("checkin", "SigningKey")
    for key in SigningKey.objects.only("pk", "private_key_encrypted").iterator():
        SigningKey.objects.filter(pk=key.pk).update(
            private_key_encrypted=reseal(key.private_key_encrypted, purpose=SIGNING_KEYS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("checkin", "0002_reentry_device_links_offline"),
    ]

    operations = [migrations.RunPython(reseal_all, migrations.RunPython.noop)]
