"""A project's settings: the one place they change, from the settings page and the API alike."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotate import jobs
from annotate.models import Project, record_audit

# The settings a manager may change, each checked by the form or serializer that reads it.
EDITABLE_SETTINGS = (
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
# Settings the learner's ranking reads: a change re-ranks the queue (a retrain) so it takes effect.
RANKING_SETTINGS = {"ask_mode", "focus_size", "exploration_share", "overlap_count", "overlap_fraction"}


def change_settings(*, project: Project, actor: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply the validated ``changes``; one audit event with the values before and after. Returns what changed.

    A value equal to the current one is no change and writes nothing. A
    change to what the ranking reads asks for a retrain, whose re-rank
    writes the queue under the new settings (docs/annotating.md).
    """
    unknown = set(changes) - set(EDITABLE_SETTINGS)
    if unknown:
        raise ValueError(f"Not a setting a manager may change: {', '.join(sorted(unknown))}.")
    changed = {name: value for name, value in changes.items() if getattr(project, name) != value}
    if not changed:
        return {}
    with transaction.atomic():
        before = {name: getattr(project, name) for name in changed}
        for name, value in changed.items():
            setattr(project, name, value)
        project.save(update_fields=list(changed))
        record_audit(action="project.settings", actor=actor, project=project, obj=project, before=before, after=changed)
        if RANKING_SETTINGS & set(changed):
            jobs.request_retrain(project_id=project.pk, trigger="settings")
    return changed
