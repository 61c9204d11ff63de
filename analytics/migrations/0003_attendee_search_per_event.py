"""Attendee search and paging of one event without reading all of its tickets.

At seed scale (1M tickets, one event with 50,000) the name-only trigram index could not be
combined with the event: PostgreSQL read every ticket of the event and ran the trigram
comparison on each (about 0.7 s per search, far more under load). A GIN index on
(event_id, lower(attendee_name)) (btree_gin lets a GIN index hold the uuid) finds the event's
matching names directly; it replaces the name-only one, so a sale writes no more index entries
than before. The (event_id, issued_at, id) btree serves the unfiltered table and the API's cursor
in their order without sorting the event's tickets.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0002_source_indexes"),
        ("ticketing", "0011_attendee_answers"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS btree_gin", reverse_sql=migrations.RunSQL.noop
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS analytics_attendee_event_name_trgm ON ticketing_ticket "
            "USING gin (event_id, lower(attendee_name) gin_trgm_ops)",
            reverse_sql="DROP INDEX IF EXISTS analytics_attendee_event_name_trgm",
        ),
        migrations.RunSQL(
            "DROP INDEX IF EXISTS analytics_attendee_name_trgm",
            reverse_sql="CREATE INDEX IF NOT EXISTS analytics_attendee_name_trgm "
            "ON ticketing_ticket USING gin (lower(attendee_name) gin_trgm_ops)",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS analytics_ticket_event_issued "
            "ON ticketing_ticket (event_id, issued_at, id)",
            reverse_sql="DROP INDEX IF EXISTS analytics_ticket_event_issued",
        ),
    ]
