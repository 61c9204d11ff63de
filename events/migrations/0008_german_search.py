from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0007_attendee_questions'),
    ]

    operations = [
        # The search document takes the German title and description too (a frozen copy of
        # events/search_sql.py), then events that have German texts are indexed again.
        migrations.RunSQL(
            "\nCREATE OR REPLACE FUNCTION events_event_search_document() RETURNS trigger AS $$\nDECLARE\n    venue_text text;\n    city_text text;\n    category_text text;\n    speakers_text text;\n    title_de text := coalesce(NEW.translations->'de'->>'title', '');\n    description_de text := coalesce(NEW.translations->'de'->>'description', '');\nBEGIN\n    SELECT v.name, v.city INTO venue_text, city_text FROM events_venue v WHERE v.id = NEW.venue_id;\n    SELECT c.name INTO category_text FROM events_category c WHERE c.id = NEW.category_id;\n    SELECT string_agg(DISTINCT s.name, ' ') INTO speakers_text\n      FROM events_session ses\n      JOIN events_session_speakers ss ON ss.session_id = ses.id\n      JOIN events_speaker s ON s.id = ss.speaker_id\n     WHERE ses.event_id = NEW.id;\n    NEW.search_vector :=\n        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A')\n        || setweight(to_tsvector('english', concat_ws(' ', NEW.performers, speakers_text,\n                                                      category_text)), 'B')\n        || setweight(to_tsvector('english', concat_ws(' ', venue_text, city_text)), 'C')\n        || setweight(to_tsvector('english', left(coalesce(NEW.description, ''), 20000)), 'D')\n        || setweight(to_tsvector('german', title_de), 'A')\n        || setweight(to_tsvector('german', left(description_de, 20000)), 'D');\n    NEW.search_text := lower(concat_ws(' ', NEW.title, nullif(title_de, ''),\n                                       nullif(NEW.performers, ''), speakers_text,\n                                       category_text, venue_text, city_text));\n    INSERT INTO events_searchword (word)\n    SELECT DISTINCT w FROM regexp_split_to_table(NEW.search_text, '[^[:alnum:]]+') AS w\n     WHERE length(w) BETWEEN 3 AND 100 AND w !~ '^[0-9]+$'\n    ON CONFLICT DO NOTHING;\n    RETURN NEW;\nEND\n$$ LANGUAGE plpgsql;\n\nDROP TRIGGER IF EXISTS events_event_search_document ON events_event;\nCREATE TRIGGER events_event_search_document\n    BEFORE INSERT OR UPDATE OF title, description, translations, performers, venue_id, category_id\n    ON events_event FOR EACH ROW EXECUTE FUNCTION events_event_search_document();\n",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE events_event SET title = title WHERE translations <> '{}'::jsonb",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
