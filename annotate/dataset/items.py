"""Adding one item to a project outside an import: the item and its queue entry are written together.

Annotators are handed items through their queue entries, so an item without
one would never be annotated: the item and its entry are written in one
transaction. Many items at once go through the importer instead.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from annotate.models import Item, Project
from annotate.text import quoted
from annotate.work.queue import build_cold_start_queue


class DuplicateItem(ValueError):
    """The project already has an item with this external id; the message is for the user."""


def add_item(*, project: Project, external_id: str, text: str, metadata: dict[str, Any] | None = None) -> Item:
    """Create the item and give it a cold-start place in the queue; raise DuplicateItem for a known external id."""
    try:
        with transaction.atomic():
            item = Item.objects.create(project=project, external_id=external_id, text=text, metadata=metadata or {})
            build_cold_start_queue(project=project)
    except IntegrityError:
        raise DuplicateItem(f"An item with external id {quoted(external_id)} already exists in the project.") from None
    return item
