"""Guideline versions: drafts, publishing, diffs and "what changed".

A project has at most one draft (a GuidelineVersion without a number) at a
time. Publishing gives the draft the next number and a publication time, after
which the row is immutable: ``GuidelineVersion.objects.edit_draft`` refuses it
in the application and a trigger (migration 0002) refuses it in the database.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotate.models import Annotation, GuidelineVersion, Project, PublishedGuidelineError, record_audit
from annotate.text import text_problem

__all__ = [
    "DiffHunk",
    "DiffRow",
    "DraftConflictError",
    "GuidelineError",
    "PublishedGuidelineError",
    "Segment",
    "changes_between",
    "diff_texts",
    "diff_versions",
    "discard_draft",
    "draft_for",
    "draft_revision",
    "last_version_worked_under",
    "publish_guideline",
    "save_draft",
    "save_or_publish",
]

# Longer texts are refused whole: cutting a guideline to fit would save one nobody wrote.
MAX_TEXT = 200_000
MAX_CHANGELOG = 500


class GuidelineError(ValueError):
    """A guideline action that cannot be done as asked; the message is for the user."""


class DraftConflictError(GuidelineError):
    """The draft changed since the editor loaded it; ``current`` is the draft now (None if there is none)."""

    def __init__(self, message: str, *, current: GuidelineVersion | None) -> None:
        super().__init__(message)
        self.current = current


class GuidelineTextRefused(GuidelineError):
    """The text or the changelog is over its limit or holds a character it may not; nothing was saved."""


# ---------------------------------------------------------------------------
# Drafts and publishing
# ---------------------------------------------------------------------------


def refuse_unstorable(*, text: str, changelog: str = "") -> None:
    """Raise GuidelineTextRefused when the text or the changelog is over its limit or holds what cannot be stored.

    A NUL cannot be stored at all, and bidirectional or invisible controls
    would make the rule annotators read differ from what it says
    (annotate/text.py).
    """
    if len(text) > MAX_TEXT:
        raise GuidelineTextRefused(
            f"The guideline is {len(text):,} characters long; the limit is {MAX_TEXT:,}. Nothing was saved."
        )
    if len(changelog) > MAX_CHANGELOG:
        raise GuidelineTextRefused(
            f"The changelog is {len(changelog):,} characters long; the limit is {MAX_CHANGELOG}. Nothing was saved."
        )
    for what, value in (("The guideline", text), ("The changelog", changelog)):
        if problem := text_problem(value, what=what):
            raise GuidelineTextRefused(f"{problem} Nothing was saved.")


def save_or_publish(
    *, project: Project, text: str, changelog: str, author: Any, expected: str | None, publish: bool
) -> GuidelineVersion:
    """The editor's save and publish: every check first, then the draft saved (and published) in one transaction.

    The limits are checked before anything is written, and a publish refused
    (no changelog, published meanwhile) leaves the draft as it was, so the
    next save is not a conflict with the editor's own half-saved text.
    """
    refuse_unstorable(text=text, changelog=changelog)
    # One transaction: a publish that raises rolls the draft's save back too.
    with transaction.atomic():
        draft = save_draft(project=project, text=text, author=author, expected=expected)
        if publish:
            return publish_guideline(draft=draft, changelog=changelog, author=author)
    return draft


def draft_for(project: Project) -> GuidelineVersion | None:
    """The project's current draft, if someone started one."""
    return GuidelineVersion.objects.drafts().filter(project=project).order_by("-created_at", "-pk").first()


def draft_revision(draft: GuidelineVersion | None) -> str:
    """A token for the draft as an editor loaded it: its id and a hash of its text, or "new" for no draft.

    Derived from the row rather than stored, so optimistic concurrency needs
    no migration. A hash of the text is enough: a draft saved again with the
    same text loses nothing for whoever loaded it.
    """
    if draft is None:
        return "new"
    return f"{draft.pk}:{hashlib.sha256(draft.text.encode()).hexdigest()[:16]}"


def save_draft(*, project: Project, text: str, author: Any, expected: str | None = None) -> GuidelineVersion:
    """Create the project's draft or replace its text.

    ``expected`` is the :func:`draft_revision` the editor loaded; if the
    draft changed since (another tab or person saved, discarded or published
    it), nothing is written and :class:`DraftConflictError` says so.
    ``None`` skips the check (scripts that mean to overwrite).

    Drafts are working copies, so saving one writes no audit event; the
    publish that makes a draft binding does.
    """
    with transaction.atomic():
        # Locking the project serialises saves, so two tabs saving at once
        # cannot both pass the check below.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        draft = draft_for(project)
        if expected is not None and draft_revision(draft) != expected:
            raise DraftConflictError(_conflict_message(draft), current=draft)
        if draft is None:
            return GuidelineVersion.objects.create(project=project, text=text, author=_user_or_none(author))
        GuidelineVersion.objects.edit_draft(draft, text=text, author=_user_or_none(author))
        return draft


def _conflict_message(draft: GuidelineVersion | None) -> str:
    if draft is None:
        return (
            "The draft was published or discarded since you opened the editor. "
            "Your text is still below; save again to start a new draft from it."
        )
    who = f" by {draft.author}" if draft.author else ""
    return (
        f"The draft was changed{who} since you opened the editor. Your text is still below, "
        "next to the draft as it is now; merge what you need and save again to replace it."
    )


def discard_draft(*, project: Project) -> bool:
    """Throw the project's draft away; published versions are never touched. Returns whether there was one."""
    deleted, _ = GuidelineVersion.objects.drafts().filter(project=project).delete()
    return bool(deleted)


def publish_guideline(*, draft: GuidelineVersion, changelog: str, author: Any) -> GuidelineVersion:
    """Publish a draft as the project's next version, in one transaction with its audit event."""
    changelog = changelog.strip()
    if not changelog:
        raise GuidelineError("Say in one line what changed: the changelog is what annotators read first.")
    if not draft.text.strip():
        raise GuidelineError("The guideline is empty: write what annotators should follow before publishing it.")
    if draft.is_published:
        raise PublishedGuidelineError(f"Guideline version {draft.number} is already published.")
    with transaction.atomic():
        # Locking the project serialises concurrent publishes, so two drafts
        # cannot both take the same number (the unique constraint is the
        # backstop if a writer skips this function).
        Project.objects.select_for_update().filter(pk=draft.project_id).first()
        previous = (
            GuidelineVersion.objects.published().filter(project_id=draft.project_id).aggregate(n=Max("number"))["n"]
        )
        number = (previous or 0) + 1
        GuidelineVersion.objects.edit_draft(
            draft, number=number, changelog=changelog, author=_user_or_none(author), published_at=timezone.now()
        )
        record_audit(
            action="guideline.publish",
            actor=author,
            project=draft.project,
            obj=draft,
            before={"number": previous},
            after={"number": number, "changelog": changelog, "text": draft.text},
        )
    return draft


def _user_or_none(user: Any) -> Any:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


# ---------------------------------------------------------------------------
# What changed
# ---------------------------------------------------------------------------


def changes_between(*, project: Project, since: int | None, until: int | None = None) -> list[GuidelineVersion]:
    """The published versions after ``since`` up to and including ``until`` (default: the latest), oldest first.

    Their changelogs are what an annotator who last worked under ``since``
    needs to read. ``since=None`` means "never worked here": every version.
    """
    versions = GuidelineVersion.objects.published().filter(project=project)
    if since is not None:
        versions = versions.filter(number__gt=since)
    if until is not None:
        versions = versions.filter(number__lte=until)
    return list(versions.select_related("author").order_by("number"))


def last_version_worked_under(*, project: Project, user: Any) -> int | None:
    """The guideline version number of the user's latest annotation in the project, if any."""
    latest = (
        Annotation.objects.filter(item__project=project, annotator=user, guideline_version__isnull=False)
        .order_by("-created_at", "-pk")
        .values_list("guideline_version__number", flat=True)
        .first()
    )
    return latest


# ---------------------------------------------------------------------------
# Diffs
# ---------------------------------------------------------------------------

RowKind = Literal["equal", "insert", "delete", "replace"]


@dataclass(frozen=True)
class Segment:
    """A run of text in a diff line; ``changed`` marks the words that differ within a replaced line."""

    text: str
    changed: bool = False


@dataclass(frozen=True)
class DiffRow:
    """One side-by-side row: the old line and the new line, either of which may be missing."""

    kind: RowKind
    old_number: int | None = None
    old: tuple[Segment, ...] = ()
    new_number: int | None = None
    new: tuple[Segment, ...] = ()


@dataclass(frozen=True)
class InlineLine:
    kind: Literal["equal", "insert", "delete"]
    old_number: int | None
    new_number: int | None
    segments: tuple[Segment, ...]


@dataclass
class DiffHunk:
    """A run of changed lines with a few unchanged lines of context around it."""

    rows: list[DiffRow] = field(default_factory=list)

    def inline(self) -> Iterator[InlineLine]:
        """The hunk as an inline diff: within each changed block, the old lines, then the new lines."""
        pending_new: list[InlineLine] = []
        for row in self.rows:
            if row.kind == "equal":
                yield from pending_new
                pending_new = []
                yield InlineLine("equal", row.old_number, row.new_number, row.new)
                continue
            if row.old_number is not None:
                yield InlineLine("delete", row.old_number, None, row.old)
            if row.new_number is not None:
                pending_new.append(InlineLine("insert", None, row.new_number, row.new))
        yield from pending_new


@dataclass
class GuidelineDiff:
    hunks: list[DiffHunk]
    added: int
    removed: int

    @property
    def unchanged(self) -> bool:
        return not self.hunks


_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


def _intraline(old: str, new: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """Mark the words that differ between two versions of one line."""
    old_words, new_words = _WORDS.findall(old), _WORDS.findall(new)
    old_segments: list[Segment] = []
    new_segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        changed = tag != "equal"
        if i2 > i1:
            old_segments.append(Segment("".join(old_words[i1:i2]), changed))
        if j2 > j1:
            new_segments.append(Segment("".join(new_words[j1:j2]), changed))
    return _coalesce(old_segments), _coalesce(new_segments)


def _coalesce(segments: list[Segment]) -> tuple[Segment, ...]:
    """Join neighbouring segments, so "money back" is marked as one change, not two words and a space."""
    merged: list[Segment] = []
    for index, segment in enumerate(segments):
        between_changes = (
            not segment.changed
            and not segment.text.strip()
            and 0 < index < len(segments) - 1
            and segments[index - 1].changed
            and segments[index + 1].changed
        )
        changed = segment.changed or between_changes
        if merged and merged[-1].changed == changed:
            merged[-1] = Segment(merged[-1].text + segment.text, changed)
        else:
            merged.append(Segment(segment.text, changed))
    return tuple(merged)


def diff_texts(old_text: str, new_text: str, *, context: int | None = 3) -> GuidelineDiff:
    """Compare two guideline texts line by line, with word-level marks inside replaced lines.

    The result holds plain strings; templates escape them, so a guideline
    containing HTML shows as text in the diff. ``context=None`` keeps every
    unchanged line (one hunk for the whole document).
    """
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    if context is None:
        groups = [matcher.get_opcodes()] if old_lines != new_lines else []
    else:
        groups = list(matcher.get_grouped_opcodes(context)) if old_lines != new_lines else []
    hunks: list[DiffHunk] = []
    added = removed = 0
    for group in groups:
        hunk = DiffHunk()
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for offset in range(i2 - i1):
                    text = (Segment(old_lines[i1 + offset]),)
                    hunk.rows.append(DiffRow("equal", i1 + offset + 1, text, j1 + offset + 1, text))
                continue
            removed += i2 - i1
            added += j2 - j1
            for offset in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + offset, j1 + offset
                has_old, has_new = i < i2, j < j2
                if has_old and has_new:
                    old_segments, new_segments = _intraline(old_lines[i], new_lines[j])
                    hunk.rows.append(DiffRow("replace", i + 1, old_segments, j + 1, new_segments))
                elif has_old:
                    hunk.rows.append(DiffRow("delete", i + 1, (Segment(old_lines[i]),)))
                else:
                    hunk.rows.append(DiffRow("insert", new_number=j + 1, new=(Segment(new_lines[j]),)))
        hunks.append(hunk)
    return GuidelineDiff(hunks=hunks, added=added, removed=removed)


def diff_versions(old: GuidelineVersion, new: GuidelineVersion, *, context: int | None = 3) -> GuidelineDiff:
    if old.project_id != new.project_id:
        raise GuidelineError("Both versions must belong to the same project.")
    return diff_texts(old.text, new.text, context=context)
