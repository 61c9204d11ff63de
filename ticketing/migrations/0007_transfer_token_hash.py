"""Transfer tokens at rest become their SHA-256: links already sent keep working."""

import hashlib

from django.db import migrations


def hash_tokens(apps, schema_editor):
    Transfer = apps.get_model("ticketing", "Transfer")
    for transfer in Transfer.objects.only("pk", "token_hash").iterator():
        Transfer.objects.filter(pk=transfer.pk).update(
            token_hash=hashlib.sha256(transfer.token_hash.encode()).hexdigest()
        )


class Migration(migrations.Migration):
    dependencies = [("ticketing", "0006_ticket_lifecycle")]

    # Not reversible: a hash does not give the token back.
    operations = [
        migrations.RenameField(model_name="transfer", old_name="token", new_name="token_hash"),
        migrations.RunPython(hash_tokens, migrations.RunPython.noop),
    ]
