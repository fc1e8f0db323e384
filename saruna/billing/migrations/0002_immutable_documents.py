"""Finalised invoices and credit notes (``number`` set) and their lines cannot be updated or
deleted, whatever writes to the database: the model refuses too, this is the last line."""

from django.db import migrations

MESSAGE = "finalised billing documents are immutable"

SQLITE = [
    f"""CREATE TRIGGER billing_document_no_update BEFORE UPDATE ON billing_billingdocument
    WHEN OLD.number IS NOT NULL BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER billing_document_no_delete BEFORE DELETE ON billing_billingdocument
    WHEN OLD.number IS NOT NULL BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER billing_line_no_insert BEFORE INSERT ON billing_documentline
    WHEN (SELECT number FROM billing_billingdocument WHERE id = NEW.document_id) IS NOT NULL
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER billing_line_no_update BEFORE UPDATE ON billing_documentline
    WHEN (SELECT number FROM billing_billingdocument WHERE id = OLD.document_id) IS NOT NULL
      OR (SELECT number FROM billing_billingdocument WHERE id = NEW.document_id) IS NOT NULL
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER billing_line_no_delete BEFORE DELETE ON billing_documentline
    WHEN (SELECT number FROM billing_billingdocument WHERE id = OLD.document_id) IS NOT NULL
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER {name}" for name in (
        "billing_document_no_update", "billing_document_no_delete", "billing_line_no_insert",
        "billing_line_no_update", "billing_line_no_delete",
    )
]

POSTGRESQL = [
    f"""CREATE FUNCTION billing_refuse_finalised_document() RETURNS trigger AS $$
    BEGIN
        IF OLD.number IS NOT NULL THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER billing_document_immutable BEFORE UPDATE OR DELETE
    ON billing_billingdocument FOR EACH ROW EXECUTE FUNCTION billing_refuse_finalised_document()""",
    f"""CREATE FUNCTION billing_refuse_finalised_line() RETURNS trigger AS $$
    BEGIN
        IF (TG_OP <> 'INSERT' AND EXISTS (SELECT 1 FROM billing_billingdocument
                WHERE id = OLD.document_id AND number IS NOT NULL))
           OR (TG_OP <> 'DELETE' AND EXISTS (SELECT 1 FROM billing_billingdocument
                WHERE id = NEW.document_id AND number IS NOT NULL)) THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER billing_line_immutable BEFORE INSERT OR UPDATE OR DELETE
    ON billing_documentline FOR EACH ROW EXECUTE FUNCTION billing_refuse_finalised_line()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER billing_line_immutable ON billing_documentline",
    "DROP FUNCTION billing_refuse_finalised_line()",
    "DROP TRIGGER billing_document_immutable ON billing_billingdocument",
    "DROP FUNCTION billing_refuse_finalised_document()",
]


class RunSQLOn(migrations.RunSQL):
    """RunSQL that runs only on one database vendor."""

    def __init__(self, vendor, sql, reverse_sql):
        super().__init__(sql, reverse_sql)
        self.vendor = vendor

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        RunSQLOn("sqlite", SQLITE, SQLITE_REVERSE),
        RunSQLOn("postgresql", POSTGRESQL, POSTGRESQL_REVERSE),
    ]
