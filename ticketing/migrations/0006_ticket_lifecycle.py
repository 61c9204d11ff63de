"""The ticket lifecycle, held by the database: ticketing.booking.lifecycle is the table."""

from django.db import migrations, models

# Keep in step with ticketing.booking.lifecycle.TRANSITIONS: the test
# tests/ticketing/test_lifecycle.py tries every pair of states against this trigger.
GUARD = """
CREATE FUNCTION ticket_lifecycle_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_state text := CASE WHEN OLD.status = 'valid' THEN 'valid'
                            ELSE coalesce(nullif(OLD.void_reason, ''), 'cancelled') END;
    new_state text := CASE WHEN NEW.status = 'valid' THEN 'valid'
                          ELSE coalesce(nullif(NEW.void_reason, ''), 'cancelled') END;
    after_admission text;
BEGIN
    IF old_state = new_state THEN
        RETURN NEW;
    END IF;
    SELECT m.after_admission INTO after_admission
    FROM (VALUES ('valid', 'refunded', 'policy'),
                 ('valid', 'cancelled', 'policy'),
                 ('valid', 'transferred', 'never')) AS m(from_state, to_state, after_admission)
    WHERE m.from_state = old_state AND m.to_state = new_state;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ticket % cannot go from % to %', OLD.id, old_state, new_state
            USING ERRCODE = 'BX422';
    END IF;
    IF EXISTS (SELECT 1 FROM checkin_admission a WHERE a.ticket_id = OLD.id)
       AND NOT (after_admission = 'policy' AND coalesce(
           (SELECT p.refunds_after_entry FROM ticketing_eventpolicy p
            WHERE p.event_id = OLD.event_id), false)) THEN
        RAISE EXCEPTION 'ticket % was admitted at the door: it cannot become %', OLD.id, new_state
            USING ERRCODE = 'BX409';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER ticket_lifecycle_guard
    BEFORE UPDATE OF status, void_reason ON ticketing_ticket
    FOR EACH ROW EXECUTE FUNCTION ticket_lifecycle_guard();
"""

UNGUARD = """
DROP TRIGGER IF EXISTS ticket_lifecycle_guard ON ticketing_ticket;
DROP FUNCTION IF EXISTS ticket_lifecycle_guard();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ticketing", "0005_order_seat_ids_default"),
        # The guard reads admissions (checkin_admission) and the event's policy.
        ("checkin", "0002_reentry_device_links_offline"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventpolicy",
            name="refunds_after_entry",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="Allow refunding (or cancelling) a ticket that was already used to get in.",
            ),
        ),
        migrations.RunSQL(GUARD, UNGUARD),
    ]
