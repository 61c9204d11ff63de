from django.db import migrations, models

import notifications.models


def seal_existing(apps, schema_editor):
    from core.sealed import WEBHOOK_SECRETS, seal

    WebhookEndpoint = apps.get_model("notifications", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.only("pk", "secret").iterator():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            secret_sealed=seal(endpoint.secret, purpose=WEBHOOK_SECRETS)
        )


def unseal_existing(apps, schema_editor):
    from core.sealed import WEBHOOK_SECRETS, unseal

    WebhookEndpoint = apps.get_model("notifications", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.only("pk", "secret_sealed").iterator():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            secret=unseal(endpoint.secret_sealed, purpose=WEBHOOK_SECRETS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_waitlist_transfer_and_session_messages"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="secret_sealed",
            field=models.CharField(default="", max_length=500),
            preserve_default=False,
        ),
        migrations.RunPython(seal_existing, unseal_existing),
        migrations.RemoveField(model_name="webhookendpoint", name="secret"),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret_sealed",
            field=models.CharField(
                default=notifications.models.new_sealed_webhook_secret, max_length=500
            ),
        ),
    ]
