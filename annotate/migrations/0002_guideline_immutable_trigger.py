"""A database trigger that refuses any update of a published guideline version.

The model and the forms refuse it too, but the rule must hold for every
writer, including raw SQL and the admin, so the database enforces it.
"""

from django.db import migrations

SQLITE_CREATE = """
CREATE TRIGGER guideline_published_immutable
BEFORE UPDATE ON annotate_guidelineversion
WHEN OLD.published_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'published guideline versions are immutable');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS guideline_published_immutable;"

POSTGRES_CREATE = """
CREATE OR REPLACE FUNCTION guideline_published_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.published_at IS NOT NULL THEN
        RAISE EXCEPTION 'published guideline versions are immutable' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER guideline_published_immutable
BEFORE UPDATE ON annotate_guidelineversion
FOR EACH ROW EXECUTE FUNCTION guideline_published_immutable();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS guideline_published_immutable ON annotate_guidelineversion;
DROP FUNCTION IF EXISTS guideline_published_immutable();
"""


def create_trigger(apps, schema_editor):
    sql = POSTGRES_CREATE if schema_editor.connection.vendor == "postgresql" else SQLITE_CREATE
    schema_editor.execute(sql)


def drop_trigger(apps, schema_editor):
    sql = POSTGRES_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP
    schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("annotate", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
