"""The search document of an event, built by a PostgreSQL trigger on every insert or update.

A trigger rather than a service call because events are written by services, the admin, test
factories and the scale seeder's COPY alike, and every one of them must leave the event findable.
Weights: A title; B performers, speakers and category; C venue and city; D description.
The German title and description (translations->'de') go in with the German stemmer at the same
weights, so a query stemmed both ways (events.search._tsquery) finds an event by either text.
`search_text` is the short, lower-cased part (no description) that pg_trgm matches typos against;
its words also go into events_searchword, the vocabulary misspelt query words are corrected to.
Changing a venue, category or a session's speakers does not touch the event row, so those
services call events.search.search_refresh, which "touches" the title to fire the trigger.
"""

SEARCH_TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION events_event_search_document() RETURNS trigger AS $$
DECLARE
    venue_text text;
    city_text text;
    category_text text;
    speakers_text text;
    title_de text := coalesce(NEW.translations->'de'->>'title', '');
    description_de text := coalesce(NEW.translations->'de'->>'description', '');
BEGIN
    SELECT v.name, v.city INTO venue_text, city_text FROM events_venue v WHERE v.id = NEW.venue_id;
    SELECT c.name INTO category_text FROM events_category c WHERE c.id = NEW.category_id;
    SELECT string_agg(DISTINCT s.name, ' ') INTO speakers_text
      FROM events_session ses
      JOIN events_session_speakers ss ON ss.session_id = ses.id
      JOIN events_speaker s ON s.id = ss.speaker_id
     WHERE ses.event_id = NEW.id;
    NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A')
        || setweight(to_tsvector('english', concat_ws(' ', NEW.performers, speakers_text,
                                                      category_text)), 'B')
        || setweight(to_tsvector('english', concat_ws(' ', venue_text, city_text)), 'C')
        || setweight(to_tsvector('english', left(coalesce(NEW.description, ''), 20000)), 'D')
        || setweight(to_tsvector('german', title_de), 'A')
        || setweight(to_tsvector('german', left(description_de, 20000)), 'D');
    NEW.search_text := lower(concat_ws(' ', NEW.title, nullif(title_de, ''),
                                       nullif(NEW.performers, ''), speakers_text,
                                       category_text, venue_text, city_text));
    INSERT INTO events_searchword (word)
    SELECT DISTINCT w FROM regexp_split_to_table(NEW.search_text, '[^[:alnum:]]+') AS w
     WHERE length(w) BETWEEN 3 AND 100 AND w !~ '^[0-9]+$'
    ON CONFLICT DO NOTHING;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS events_event_search_document ON events_event;
CREATE TRIGGER events_event_search_document
    BEFORE INSERT OR UPDATE OF title, description, translations, performers, venue_id, category_id
    ON events_event FOR EACH ROW EXECUTE FUNCTION events_event_search_document();
"""

SEARCH_TRIGGER_DROP_SQL = """
DROP TRIGGER IF EXISTS events_event_search_document ON events_event;
DROP FUNCTION IF EXISTS events_event_search_document();
"""
