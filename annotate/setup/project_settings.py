"""A project's settings: which ones a manager may change, the range of each, and the one way to change them.

Every change writes one ``project.settings`` audit event holding only the
settings whose value differed; a change that alters nothing writes nothing.
The name is changed the same way, under the rules a new project's name
follows (``check_name``, which creating a project calls too).
The database checks some floors itself (``Project.Meta.constraints``); the
upper bounds here keep a typo from, say, leasing an item for a month.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from annotate import jobs
from annotate.models import OTHER_SKIP_REASON, AskMode, Project, record_audit
from annotate.text import hidden_in_name, quoted, text_problem

# The settings a manager may change, with the inclusive range of the numeric ones.
OVERLAP_COUNT = (1, 20)
OVERLAP_FRACTION = (0, 1)
RETRAIN_EVERY = (0, 1_000_000)
DEFAULT_CONFIDENCE = (0.01, 1)
LEASE_MINUTES = (1, 24 * 60)
FOCUS_SIZE = (1, 50)
EXPLORATION_SHARE = (0, 1)
DESCRIPTION_MAX_CHARS = 10_000
NAME_MAX_CHARS = 200
# Few enough to read at a glance on the annotate page, short enough for one line each.
SKIP_REASONS_COUNT = (1, 12)
SKIP_REASON_MAX_CHARS = 80
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
    "skip_reasons",
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
    """A setting that cannot be changed, or a value outside its range; the message is for the user.

    ``field`` names the setting at fault, for the form and the API's error body.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def check_name(name: str, *, project: Project | None = None) -> str:
    """The project name to store, stripped; refused if empty, too long, hiding characters, or taken (any case).

    ``project`` is the project being renamed, which may keep its own name
    or change only its case.
    """
    name = name.strip()
    if not name:
        raise ProjectSettingsError("A project needs a name.", field="name")
    if len(name) > NAME_MAX_CHARS:
        raise ProjectSettingsError(f"A project name has at most {NAME_MAX_CHARS} characters.", field="name")
    if hidden := hidden_in_name(name):
        raise ProjectSettingsError(
            f"A project name cannot contain a line break, a control or an invisible character ({hidden}).",
            field="name",
        )
    others = Project.objects.exclude(pk=project.pk) if project else Project.objects.all()
    if others.filter(name__iexact=name).exists():
        raise ProjectSettingsError(f"There is already a project named “{name}”.", field="name")
    return name


def check_skip_reasons(reasons: Any) -> list[str]:
    """The skip reasons to store: each stripped, its inner spaces collapsed, the order kept.

    Refused: fewer than 1 or more than 12, an empty or over-long one, one
    that hides characters (the names' rule), a duplicate ignoring case, and
    "other", which the annotate page always offers for the annotator's own words.
    """
    if not isinstance(reasons, list | tuple) or not all(isinstance(reason, str) for reason in reasons):
        raise ProjectSettingsError("The skip reasons are a list of texts.", field="skip_reasons")
    low, high = SKIP_REASONS_COUNT
    if not low <= len(reasons) <= high:
        raise ProjectSettingsError(
            f"A project has from {low} to {high} skip reasons; this list has {len(reasons)}.", field="skip_reasons"
        )
    clean: list[str] = []
    seen: set[str] = set()
    for reason in reasons:
        reason = reason.strip()
        if hidden := hidden_in_name(reason):
            raise ProjectSettingsError(
                f"The skip reason {quoted(reason)} contains a line break, a control or an invisible character "
                f"({hidden}).",
                field="skip_reasons",
            )
        # The skip stores its reason with runs of spaces collapsed (annotate/work/annotating.py skip_item),
        # so the list holds the same spelling and a posted reason matches it exactly.
        reason = " ".join(reason.split())
        if not reason:
            raise ProjectSettingsError("A skip reason cannot be empty.", field="skip_reasons")
        if len(reason) > SKIP_REASON_MAX_CHARS:
            raise ProjectSettingsError(
                f"The skip reason {quoted(reason, max_chars=40)} is over {SKIP_REASON_MAX_CHARS} characters.",
                field="skip_reasons",
            )
        if reason.casefold() == OTHER_SKIP_REASON:
            raise ProjectSettingsError(
                "“Other” is always offered, with the annotator's own words; it need not be listed.",
                field="skip_reasons",
            )
        if reason.casefold() in seen:
            raise ProjectSettingsError(f"The skip reason “{reason}” is listed twice.", field="skip_reasons")
        seen.add(reason.casefold())
        clean.append(reason)
    return clean


def check_settings(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The settings to store: ``changes`` checked, with the skip reasons in the spelling they are stored in."""
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in CHANGEABLE:
            raise ProjectSettingsError(f"{quoted(name)} is not a setting that can be changed.", field=name)
        if name in _RANGES:
            low, high = _RANGES[name]
            if not low <= value <= high:
                raise ProjectSettingsError(f"{name} must be from {low} to {high}.", field=name)
        if name == "ask_mode" and value not in AskMode.values:
            raise ProjectSettingsError(f"ask_mode must be one of {', '.join(AskMode.values)}.", field=name)
        if name == "description" and (
            problem := text_problem(value, what="The description", max_chars=DESCRIPTION_MAX_CHARS)
        ):
            raise ProjectSettingsError(problem, field=name)
        clean[name] = check_skip_reasons(value) if name == "skip_reasons" else value
    return clean


def change_settings(*, project: Project, actor: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Set the settings in ``changes`` that differ from the project's and audit them; return those (maybe none).

    ``changes`` may hold the project's ``name`` beside the settings in
    ``CHANGEABLE``; a rename follows the rules of a new project's name.
    A change to what the ranking reads (what annotators are asked, the
    overlap) asks for a retrain, so the queue follows it (docs/annotating.md).
    """
    wanted = dict(changes)
    new_name = wanted.pop("name", None)
    clean = check_settings(wanted)
    if new_name is not None:
        clean = {"name": check_name(new_name, project=project), **clean}
    changed = {name: value for name, value in clean.items() if getattr(project, name) != value}
    if not changed:
        return changed
    before = {name: getattr(project, name) for name in changed}
    try:
        with transaction.atomic():
            for name, value in changed.items():
                setattr(project, name, value)
            # Only the changed columns: a full save would write back a stale
            # annotations_since_retrain that a concurrent submit has moved on.
            project.save(update_fields=list(changed))
            record_audit(
                action="project.settings", actor=actor, project=project, obj=project, before=before, after=changed
            )
            if RANKING & set(changed):
                jobs.request_retrain(project_id=project.pk, trigger="settings")
    except IntegrityError:
        # Another request took the name between the check and the update.
        for name, value in before.items():
            setattr(project, name, value)
        if "name" not in changed:
            raise
        raise ProjectSettingsError(f"There is already a project named “{changed['name']}”.", field="name") from None
    return changed
