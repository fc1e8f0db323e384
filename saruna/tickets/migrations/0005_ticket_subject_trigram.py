"""A trigram index for subject filters (``subject`` ``E``/``L``/``LIKE`` in the API, which
Django writes as ``UPPER(subject) LIKE UPPER(...)``), on PostgreSQL with pg_trgm only (the
search app's first migration creates the extension where it is allowed). Besides the index
scan for rare words, ANALYZE keeps statistics of the expression, so the planner knows how
common a word is: without them it guessed a handful of matches and sorted all of them."""

from django.db import migrations

CREATE = """
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    CREATE INDEX IF NOT EXISTS tickets_ticket_subject_trgm ON tickets_ticket
      USING gin (upper(subject) gin_trgm_ops);
    ANALYZE tickets_ticket;
  END IF;
END $$
"""
DROP = "DROP INDEX IF EXISTS tickets_ticket_subject_trgm"


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0001_initial"),
        ("tickets", "0004_saved_filter"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP)),
    ]
