"""Short references for orders and tickets, made by the database.

One definition for every path that inserts (the ORM, the single-statement fast path, COPY in
the scale seed): a BEFORE INSERT trigger gives a row without a reference 8 characters of
core.refs.REF_ALPHABET, drawn again while the event already has that reference. The UNIQUE
(event, ref) constraints are the guarantee; the redraw makes hitting them practically never.
"""

from django.conf import settings
from django.db import migrations, models

# Random bytes from gen_random_uuid() (a strong source, built in since PostgreSQL 13), skipping
# the two bytes that carry the UUID's version and variant bits, and bytes >= 248 (31 * 8) so
# every one of the 31 characters is equally likely.
FUNCTIONS = """
CREATE FUNCTION boxoffice_short_ref() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
    bytes bytea;
    result text := '';
    i int := 16;
    b int;
BEGIN
    WHILE length(result) < 8 LOOP
        IF i >= 16 THEN
            bytes := uuid_send(gen_random_uuid());
            i := 0;
        END IF;
        b := get_byte(bytes, i);
        IF i NOT IN (6, 8) AND b < 248 THEN
            result := result || substr(alphabet, b % 31 + 1, 1);
        END IF;
        i := i + 1;
    END LOOP;
    RETURN result;
END $$;

CREATE FUNCTION boxoffice_unique_ref(tbl regclass, event uuid) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    candidate text;
    taken boolean;
BEGIN
    LOOP
        candidate := boxoffice_short_ref();
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE event_id = $1 AND ref = $2)', tbl)
            INTO taken USING event, candidate;
        IF NOT taken THEN
            RETURN candidate;
        END IF;
    END LOOP;
END $$;

CREATE FUNCTION boxoffice_assign_ref() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.ref IS NULL OR NEW.ref = '' THEN
        NEW.ref := boxoffice_unique_ref(TG_RELID::regclass, NEW.event_id);
    END IF;
    RETURN NEW;
END $$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION boxoffice_assign_ref();
DROP FUNCTION boxoffice_unique_ref(regclass, uuid);
DROP FUNCTION boxoffice_short_ref();
"""

# Existing rows, one UPDATE each so every draw sees the references given before it.
BACKFILL = """
CREATE INDEX ticketing_order_ref_backfill ON ticketing_order (event_id, ref);
CREATE INDEX ticketing_ticket_ref_backfill ON ticketing_ticket (event_id, ref);
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT id, event_id FROM ticketing_order WHERE ref = '' LOOP
        UPDATE ticketing_order SET ref = boxoffice_unique_ref('ticketing_order', r.event_id)
        WHERE id = r.id;
    END LOOP;
    FOR r IN SELECT id, event_id FROM ticketing_ticket WHERE ref = '' LOOP
        UPDATE ticketing_ticket SET ref = boxoffice_unique_ref('ticketing_ticket', r.event_id)
        WHERE id = r.id;
    END LOOP;
END $$;
DROP INDEX ticketing_order_ref_backfill;
DROP INDEX ticketing_ticket_ref_backfill;
"""

TRIGGERS = """
CREATE TRIGGER ticketing_order_ref BEFORE INSERT ON ticketing_order
    FOR EACH ROW EXECUTE FUNCTION boxoffice_assign_ref();
CREATE TRIGGER ticketing_ticket_ref BEFORE INSERT ON ticketing_ticket
    FOR EACH ROW EXECUTE FUNCTION boxoffice_assign_ref();
"""

DROP_TRIGGERS = """
DROP TRIGGER ticketing_order_ref ON ticketing_order;
DROP TRIGGER ticketing_ticket_ref ON ticketing_ticket;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0003_discovery_agenda_feedback'),
        ('ticketing', '0007_transfer_token_hash'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='ref',
            field=models.CharField(db_default='', editable=False, max_length=8),
        ),
        migrations.AddField(
            model_name='ticket',
            name='ref',
            field=models.CharField(db_default='', editable=False, max_length=8),
        ),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.UniqueConstraint(fields=('event', 'ref'), name='unique_order_ref_per_event'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('ref__regex', '^[2-9A-HJKMNP-Z]{8}$')), name='order_ref_format'),
        ),
        migrations.AddConstraint(
            model_name='ticket',
            constraint=models.UniqueConstraint(fields=('event', 'ref'), name='unique_ticket_ref_per_event'),
        ),
        migrations.AddConstraint(
            model_name='ticket',
            constraint=models.CheckConstraint(condition=models.Q(('ref__regex', '^[2-9A-HJKMNP-Z]{8}$')), name='ticket_ref_format'),
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
