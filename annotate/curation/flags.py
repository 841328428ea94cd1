"""Item flags: an annotator says an item is unclear under the guideline, broken, or something else.

A flag is for reviewers (shown beside the answers on the review page and
filterable in the item browser); it changes no answer and no queue entry.
Each change is an "item.flag" or "item.unflag" audit event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotate.models import Annotation, FlagReason, Item, ItemFlag, record_audit
from annotate.setup.accounts import display_name
from annotate.text import text_problem
from annotate.work.queue import holds_lease

COMMENT_MAX = 1000


class FlagError(ValueError):
    """A flag that cannot be stored as asked; ``field`` names the form field, the message is for the user."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FlagShown:
    """A flag as reviewers see it, with the annotator's name rather than an id."""

    annotator: str
    reason: str
    reason_display: str
    comment: str
    created_at: Any


def _state(flag: ItemFlag | None) -> dict[str, Any] | None:
    if flag is None:
        return None
    return {"item_id": flag.item_id, "reason": flag.reason, "comment": flag.comment}


def may_flag(*, item: Item, annotator: Any) -> bool:
    """Whether the annotator was shown the item: a lease (live or expired) or an annotation of theirs."""
    return (
        holds_lease(annotator=annotator, item=item)
        or Annotation.objects.filter(item=item, annotator=annotator).exists()
    )


def _refuse_archived(item: Item) -> None:
    """An archived project is read-only (docs/projects.md, "Archiving"): its flags stay as they are."""
    if item.project.archived_at is not None:
        raise FlagError("This project is archived: it is read-only, so nothing was saved.", field="item")


def set_flag(*, item: Item, annotator: Any, reason: str, comment: str) -> ItemFlag:
    """Create or replace the annotator's flag on the item; refuse an unknown reason or a bare "other".

    Only an item the queue handed to the annotator may be flagged, so an
    item id typed into a form cannot reach an item they were never shown.
    """
    _refuse_archived(item)
    comment = comment.strip()
    if reason not in FlagReason.values:
        raise FlagError("Choose why you flag the item.", field="reason")
    if reason == FlagReason.OTHER and not comment:
        raise FlagError("Say what is wrong with the item.", field="comment")
    if problem := text_problem(comment, what="The comment", max_chars=COMMENT_MAX):
        raise FlagError(problem, field="comment")
    if not may_flag(item=item, annotator=annotator):
        raise FlagError("You can flag only an item you were given to annotate.", field="item")
    with transaction.atomic():
        existing = ItemFlag.objects.select_for_update().filter(item=item, annotator=annotator).first()
        before = _state(existing)
        if existing is None:
            flag = ItemFlag.objects.create(item=item, annotator=annotator, reason=reason, comment=comment)
        else:
            existing.reason, existing.comment, existing.created_at = reason, comment, timezone.now()
            existing.save(update_fields=["reason", "comment", "created_at"])
            flag = existing
        record_audit(
            action="item.flag", actor=annotator, project=item.project, obj=flag, before=before, after=_state(flag)
        )
    return flag


def clear_flag(*, item: Item, annotator: Any) -> bool:
    """Withdraw the annotator's flag on the item (audited); returns whether there was one."""
    _refuse_archived(item)
    with transaction.atomic():
        existing = ItemFlag.objects.select_for_update().filter(item=item, annotator=annotator).first()
        if existing is None:
            return False
        record_audit(action="item.unflag", actor=annotator, project=item.project, obj=existing, before=_state(existing))
        existing.delete()
    return True


def flags_of_items(item_ids: Iterable[int]) -> dict[int, list[FlagShown]]:
    """Every flag on the given items, oldest first, keyed by item id (one query)."""
    flags: dict[int, list[FlagShown]] = defaultdict(list)
    rows = ItemFlag.objects.filter(item_id__in=list(item_ids)).select_related("annotator").order_by("created_at", "id")
    for flag in rows:
        flags[flag.item_id].append(
            FlagShown(
                annotator=display_name(flag.annotator),
                reason=flag.reason,
                reason_display=flag.get_reason_display(),
                comment=flag.comment,
                created_at=flag.created_at,
            )
        )
    return flags
