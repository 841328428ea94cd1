"""A project's settings: which ones a manager may change, the range of each, and the one way to change them.

Every change writes one ``project.settings`` audit event holding only the
settings whose value differed; a change that alters nothing writes nothing.
The database checks some floors itself (``Project.Meta.constraints``); the
upper bounds here keep a typo from, say, leasing an item for a month.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from annotate import jobs
from annotate.models import AskMode, Project, record_audit

# The settings a manager may change, with the inclusive range of the numeric ones.
OVERLAP_COUNT = (1, 20)
OVERLAP_FRACTION = (0, 1)
RETRAIN_EVERY = (0, 1_000_000)
DEFAULT_CONFIDENCE = (0.01, 1)
LEASE_MINUTES = (1, 24 * 60)
FOCUS_SIZE = (1, 50)
EXPLORATION_SHARE = (0, 1)
DESCRIPTION_MAX_CHARS = 10_000
CHANGEABLE = (
    "description",
    "overlap_count",
    "overlap_fraction",
    "require_all_labels",
    "allow_focus_only",
    "retrain_every",
    "default_confidence",
    "lease_minutes",
    "ask_mode",
    "focus_size",
    "exploration_share",
)
# Settings the learner's ranking reads: a change asks for a retrain, whose re-rank writes the queue under them.
RANKING = {"ask_mode", "focus_size", "exploration_share", "overlap_count", "overlap_fraction"}
_RANGES: dict[str, tuple[float, float]] = {
    "overlap_count": OVERLAP_COUNT,
    "overlap_fraction": OVERLAP_FRACTION,
    "retrain_every": RETRAIN_EVERY,
    "default_confidence": DEFAULT_CONFIDENCE,
    "lease_minutes": LEASE_MINUTES,
    "focus_size": FOCUS_SIZE,
    "exploration_share": EXPLORATION_SHARE,
}


class ProjectSettingsError(ValueError):
    """A setting that cannot be changed, or a value outside its range; the message is for the user."""


def check_settings(changes: Mapping[str, Any]) -> None:
    for name, value in changes.items():
        if name not in CHANGEABLE:
            raise ProjectSettingsError(f"“{name}” is not a setting that can be changed.")
        if name in _RANGES:
            low, high = _RANGES[name]
            if not low <= value <= high:
                raise ProjectSettingsError(f"{name} must be from {low} to {high}.")
        if name == "ask_mode" and value not in AskMode.values:
            raise ProjectSettingsError(f"ask_mode must be one of {', '.join(AskMode.values)}.")
        if name == "description" and len(value) > DESCRIPTION_MAX_CHARS:
            raise ProjectSettingsError(f"The description is longer than {DESCRIPTION_MAX_CHARS:,} characters.")


def change_settings(*, project: Project, actor: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Set the settings in ``changes`` that differ from the project's and audit them; return those (maybe none).

    A change to what the ranking reads (what annotators are asked, the
    overlap) asks for a retrain, so the queue follows it (docs/annotating.md).
    """
    check_settings(changes)
    changed = {name: value for name, value in changes.items() if getattr(project, name) != value}
    if not changed:
        return changed
    with transaction.atomic():
        before = {name: getattr(project, name) for name in changed}
        for name, value in changed.items():
            setattr(project, name, value)
        # Only the changed columns: a full save would write back a stale
        # annotations_since_retrain that a concurrent submit has moved on.
        project.save(update_fields=list(changed))
        record_audit(action="project.settings", actor=actor, project=project, obj=project, before=before, after=changed)
        if RANKING & set(changed):
            jobs.request_retrain(project_id=project.pk, trigger="settings")
    return changed
