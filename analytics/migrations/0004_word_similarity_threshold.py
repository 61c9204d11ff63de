"""Typo tolerance for a swapped pair of letters.

The trigram index answers `name %> query` only above pg_trgm.word_similarity_threshold, 0.6 by
default. One swapped pair ("schnieder" for "Schneider") leaves 6 of 10 trigrams in common,
a word similarity of 0.43, so the default found nothing; a dropped letter ("quigly") scores
0.6 and a typo at the start of a short name less. 0.4 finds the swap and still refuses names
that share only a syllable. Set on the database, not per session, so every connection (through
PgBouncer's transaction pooling too, and on the replica, which copies the setting) searches
alike; public event search uses the same operator and gains the same forgiveness.
"""

from django.db import migrations

SET = """
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET pg_trgm.word_similarity_threshold = 0.4', current_database());
END $$;
SET pg_trgm.word_similarity_threshold = 0.4;
"""
RESET = """
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I RESET pg_trgm.word_similarity_threshold', current_database());
END $$;
RESET pg_trgm.word_similarity_threshold;
"""


class Migration(migrations.Migration):
    dependencies = [("analytics", "0003_attendee_search_per_event")]

    operations = [migrations.RunSQL(SET, reverse_sql=RESET)]
