"""Short references are made even when a bulk load skips triggers.

Loaders that copy rows consistent by construction (the scale seed, a restore) set
session_replication_role = replica to skip the per-row foreign-key checks. That also skips
ordinary triggers, and a row without its reference then fails the format CHECK. Marking the
reference triggers ALWAYS keeps the database the one place references are made.
"""

from django.db import migrations

ALWAYS = """
ALTER TABLE ticketing_order ENABLE ALWAYS TRIGGER ticketing_order_ref;
ALTER TABLE ticketing_ticket ENABLE ALWAYS TRIGGER ticketing_ticket_ref;
"""

ORIGIN = """
ALTER TABLE ticketing_order ENABLE TRIGGER ticketing_order_ref;
ALTER TABLE ticketing_ticket ENABLE TRIGGER ticketing_ticket_ref;
"""


class Migration(migrations.Migration):
    dependencies = [("ticketing", "0009_order_attendee_names")]

    operations = [migrations.RunSQL(ALWAYS, ORIGIN)]
