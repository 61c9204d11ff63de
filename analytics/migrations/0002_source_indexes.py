"""Indexes the summary refresh and the attendee search need on other apps' tables.

Raw SQL in this app on purpose: they serve analytics' reads only, so they live with it. The
refresh finds what changed since its watermark by these timestamps; the attendee search matches
names and emails by trigram similarity (typo-tolerant).
"""

from django.db import migrations

INDEXES = [
    ("analytics_src_order_paid", "ticketing_order (paid_at) WHERE paid_at IS NOT NULL"),
    ("analytics_src_refund_created", "ticketing_refund (created_at)"),
    ("analytics_src_transfer_decided", "ticketing_transfer (decided_at)"),
    ("analytics_src_scan_received", "checkin_scan (received_at)"),
    ("analytics_src_wl_entry_created", "waitlist_waitlistentry (created_at)"),
    ("analytics_src_offer_created", "waitlist_offer (created_at)"),
    ("analytics_src_offer_decided", "waitlist_offer (decided_at)"),
    ("analytics_src_feedback_updated", "events_feedback (updated_at)"),
    (
        "analytics_attendee_name_trgm",
        "ticketing_ticket USING gin (lower(attendee_name) gin_trgm_ops)",
    ),
    ("analytics_user_email_trgm", "accounts_user USING gin (lower(email) gin_trgm_ops)"),
    ("analytics_user_name_trgm", "accounts_user USING gin (lower(full_name) gin_trgm_ops)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_summary_tables"),
        ("accounts", "0001_initial"),
        ("checkin", "0002_reentry_device_links_offline"),
        ("events", "0003_discovery_agenda_feedback"),
        ("ticketing", "0005_order_seat_ids_default"),
        ("waitlist", "0002_offers"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm", reverse_sql=migrations.RunSQL.noop
        ),
        *(
            migrations.RunSQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON {target}",
                reverse_sql=f"DROP INDEX IF EXISTS {name}",
            )
            for name, target in INDEXES
        ),
    ]
