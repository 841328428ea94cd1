"""A GIN index for the item browser's full-text search, on PostgreSQL only (annotate/db.py, search_text)."""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations

from annotate.db import TEXT_SEARCH_INDEX, text_search_vector


def index() -> GinIndex:
    # Built from the very expression the search filters on, so the planner can use it.
    return GinIndex(text_search_vector(), name=TEXT_SEARCH_INDEX)


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("annotate", "Item"), index())


def remove_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("annotate", "Item"), index())


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0013_project_skip_reasons"),
    ]

    operations = [migrations.RunPython(add_index, remove_index)]
