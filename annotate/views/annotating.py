"""The annotate page, submit and skip, and the annotator's own recent work.

Views parse the form, check the role, call annotate.work.queue / annotate.work.annotating
and render. With htmx, submit and skip answer with the next item's fragment
(one request stores and fetches); without JavaScript the same forms post and
redirect back to the page, which leases the next item.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_POST

from annotate.access import project_for
from annotate.curation.annotator_agreement import MIN_COMPARED, annotator_agreement
from annotate.curation.flags import FlagError, clear_flag, set_flag
from annotate.models import OTHER_SKIP_REASON, Annotation, FlagReason, Item, ItemFlag, Label, Project, QueueEntry
from annotate.setup.labelset import label_keys
from annotate.types import UserRequest
from annotate.work.annotating import (
    Answer,
    NotHandedOut,
    RulesBroken,
    RulesByLabelId,
    RuleWarning,
    SkipReasonRefused,
    SubmitRefused,
    annotator_progress,
    answerable_labels,
    asked_labels,
    confidence_levels,
    earlier_answers,
    edit_annotation,
    guideline_changes_since,
    label_rules,
    skip_item,
    submit_annotation,
)
from annotate.work.queue import current_focus, next_item

PAGE = "annotate/annotate/page.html"
FLAG_PANEL = "annotate/annotate/_flag.html"
# My work marks an annotation "edited" when it changed this long after it was created.
EDITED_AFTER = timedelta(seconds=1)
LABEL_ROW = "annotate/annotate/_label_row.html"


@dataclass
class ItemForm:
    """What an item form posts: answers per label, plus the bookkeeping fields."""

    answers: dict[int, Answer]
    idempotency_key: uuid.UUID
    duration_ms: int | None
    focus_only: bool
    confirm_rules: bool


LABEL_FIELD = re.compile(r"label-[1-9][0-9]{0,18}")


def parse_item_form(data: Any, *, default_confidence: float) -> ItemForm:
    """Read the radios ``label-<id>`` (yes / no / empty) and selects ``conf-<id>``; ValueError if malformed.

    Every posted label is read, not only the labels active now: an answer to
    a label merged or retired since the page was shown must be refused with
    a message (``submit_annotation`` does), never dropped without a word.
    """
    answers: dict[int, Answer] = {}
    for key in data:
        if not key.startswith("label-"):
            continue
        # Only the form's own spelling: int() would also read "label-0007" or
        # "label- 7" and fold two fields into one answer.
        if not LABEL_FIELD.fullmatch(key):
            raise ValueError(f"Unknown field {key!r}.")
        label_id = int(key.removeprefix("label-"))
        state = data.get(key, "")
        if state not in ("yes", "no", ""):
            # A value the form never sends ("maybe"): refused, not read as not answered.
            raise ValueError(f"Unknown answer {state!r}.")
        if not state:
            continue
        confidence = float(data.get(f"conf-{label_id}") or default_confidence)
        answers[label_id] = Answer(value=1 if state == "yes" else 0, confidence=confidence)
    return ItemForm(
        answers=answers,
        idempotency_key=uuid.UUID(data.get("idempotency_key", "")),
        duration_ms=parse_duration(data.get("duration_ms", "")),
        focus_only=data.get("focus_only") == "1",
        # The hidden field and the "Submit anyway" button share the name; either says yes.
        confirm_rules="1" in data.getlist("confirm_rules"),
    )


def parse_duration(value: str) -> int | None:
    """The time spent as posted, in whole milliseconds; None if absent, ValueError if not a finite number."""
    if not value:
        return None
    try:
        # int() of an infinite float ("inf", "1e400") raises OverflowError, of NaN ValueError.
        return int(float(value))
    except OverflowError:
        raise ValueError(f"Time spent out of range: {value!r}.") from None


def guideline_url(project: Project) -> str:
    """The guideline page, when its route is installed (another area owns it)."""
    try:
        return reverse("guideline", args=[project.pk])
    except NoReverseMatch:
        return ""


@dataclass(frozen=True)
class LabelRow:
    """One label on the item form, with everything the template shows precomputed as text."""

    # Text, not a number: the template would run every number through localisation.
    id: str
    name: str
    color: str
    description: str
    key: str
    state: str  # "yes", "no" or "" (not answered)
    focus: bool
    missing: bool
    implies: str
    excludes: str
    # (level name, value as sent, selected)
    options: tuple[tuple[str, str, bool], ...]

    @property
    def html(self) -> str:
        # In development the template may change under a running server.
        return render_to_string(LABEL_ROW, {"row": self}) if settings.DEBUG else render_label_row(self)


@functools.lru_cache(maxsize=4096)
def render_label_row(row: LabelRow) -> str:
    """A row's HTML, memoised by the row's value.

    The row template reads nothing but the row, so equal rows render equally,
    and most rows repeat from item to item (same label, not answered, focus
    or not). Rendering 28 rows through the template engine was most of the
    CPU of a submit-and-next request (docs/annotating.md, "Speed").
    """
    return render_to_string(LABEL_ROW, {"row": row})


def label_rows(
    *,
    project: Project,
    labels: list[Label],
    rules: RulesByLabelId,
    focus: list[int],
    answers: dict[int, Answer],
    missing: set[int],
    keyed: list[Label] | None = None,
    marked: list[int] | None = None,
) -> list[LabelRow]:
    """The rows of the form: focus labels first (in the model's order), then the others in label order.

    ``marked`` are the labels shown with a focus badge (by default the focus labels).

    Keys are numbered over ``keyed`` (by default ``labels``): the page passes
    every answerable label, so a label keeps its key from item to item when
    only some labels are asked (docs/annotating.md, "Keys").
    """
    keys = label_keys(keyed if keyed is not None else labels)
    by_id = {label.pk: label for label in labels}
    ordered = [by_id[label_id] for label_id in focus if label_id in by_id]
    ordered += [label for label in labels if label.pk not in focus]
    levels = confidence_levels(project=project)
    rows = []
    for label in ordered:
        answer = answers.get(label.pk)
        confidence = answer.confidence if answer else project.default_confidence
        # An answer stored with a confidence that is not one of the levels
        # (through the API, say) keeps it, rather than being shown as another.
        row_levels = levels if any(abs(v - confidence) < 1e-9 for _, v in levels) else [*levels, ("stored", confidence)]
        rows.append(
            LabelRow(
                id=str(label.pk),
                name=label.name,
                color=label.color,
                description=label.description,
                key=keys.get(label.pk, ""),
                state="" if answer is None else ("yes" if answer.value == 1 else "no"),
                focus=label.pk in (focus if marked is None else marked),
                missing=label.pk in missing,
                implies=" ".join(map(str, rules.implies.get(label.pk, []))),
                excludes=" ".join(map(str, rules.excludes.get(label.pk, []))),
                options=tuple((name, repr(value), abs(value - confidence) < 1e-9) for name, value in row_levels),
            )
        )
    return rows


def item_context(
    *,
    request: UserRequest,
    project: Project,
    role: str,
    item: Item | None,
    entry: QueueEntry | None,
    labels: list[Label] | None = None,
    rules: RulesByLabelId | None = None,
    form: ItemForm | None = None,
    error: SubmitRefused | None = None,
    warnings: list[RuleWarning] | None = None,
    asking: bool = True,
) -> dict[str, Any]:
    """Everything the item form and the guideline panel need, for a new item or a re-shown one.

    ``asking`` shows the labels the queue asks this annotator (with their
    earlier answers of the item apart, read-only); the edit page passes
    False and shows every label.
    """
    labels = labels if labels is not None else answerable_labels(project=project)
    rules = rules if rules is not None else label_rules(labels=labels)
    focus = current_focus(
        focus=(entry.focus_labels or []) if entry else [], active_ids={label.pk for label in labels}, project=project
    )
    earlier = earlier_answers(annotator=request.user, item=item, entry=entry) if asking else None
    asked = (
        asked_labels(project=project, labels=labels, entry=entry, answered=earlier.answers if earlier else ())
        if asking
        else labels
    )
    # When every label shown is a focus label (an overlap or exploration
    # item asks all its unanswered labels; a "focus" project shows only the
    # labels it asks), a badge on each would single out nothing and "answer
    # only the focus labels" would change nothing. They keep the model's
    # order, most uncertain first.
    marked = [] if all(label.pk in focus for label in asked) else focus
    rows = label_rows(
        project=project,
        labels=asked,
        keyed=labels,
        rules=rules,
        focus=focus,
        marked=marked,
        answers=form.answers if form else {},
        missing={label.pk for label in error.unanswered} if error else set(),
    )
    guideline = project.current_guideline()
    since, changes = guideline_changes_since(project=project, annotator=request.user, current=guideline)
    by_id = {label.pk: label for label in labels}
    progress = annotator_progress(annotator=request.user, project=project)
    return {
        "progress": progress,
        "flag_reasons": FlagReason.choices,
        "my_flag": ItemFlag.objects.filter(item=item, annotator=request.user).first() if item else None,
        "project": project,
        "role": role,
        "item": item,
        "entry": entry,
        "rows": rows,
        "asks_some": len(asked) < len(labels),
        "no_labels": not labels,
        "earlier": earlier,
        "earlier_rows": [
            (by_id[label_id], answer)
            for label_id, answer in (earlier.answers.items() if earlier else ())
            if label_id in by_id
        ],
        "idempotency_key": form.idempotency_key if form else uuid.uuid4(),
        "focus_only": form.focus_only if form else False,
        "show_focus_only": bool(marked) and project.allow_focus_only and project.require_all_labels,
        "error": error,
        "warnings": warnings or [],
        "skip_reasons": project.skip_reasons,
        "other_skip_reason": OTHER_SKIP_REASON,
        "guideline": guideline,
        "guideline_since": since,
        "guideline_changes": changes,
        "guideline_url": guideline_url(project),
    }


def project_item(project: Project, item_id: int) -> Item:
    """The project's item, or 404; it shares the caller's project object rather than loading the project again."""
    item = get_object_or_404(Item, pk=item_id, project=project)
    item.project = project
    return item


def queue_entry(item: Item) -> QueueEntry | None:
    return QueueEntry.objects.filter(item=item).first()


def render_work(
    request: UserRequest, context: dict[str, Any], *, status: int = 200, partial: bool | None = None
) -> HttpResponse:
    """The whole page, or only the work area for htmx (the target of submit and skip)."""
    partial = bool(request.htmx) if partial is None else partial
    return render(request, f"{PAGE}#work" if partial else PAGE, context, status=status)


def render_next(
    request: UserRequest,
    project: Project,
    role: str,
    labels: list[Label] | None = None,
    rules: RulesByLabelId | None = None,
) -> HttpResponse:
    """Lease the next item and render it: the whole page, or for htmx the work area only.

    Without an active label there is nothing to answer: no item is leased,
    and the page says so instead of showing an item that can only be skipped.
    """
    labels = labels if labels is not None else answerable_labels(project=project)
    got = next_item(annotator=request.user, project=project) if labels else None
    item, entry = got if got else (None, None)
    context = item_context(
        request=request, project=project, role=role, item=item, entry=entry, labels=labels, rules=rules
    )
    return render_work(request, context)


@login_required
def annotate(request: UserRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id)
    return render_next(request, project, role)


@login_required
@require_POST
def submit(request: UserRequest, project_id: int, item_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id)
    item = project_item(project, item_id)
    labels = answerable_labels(project=project)
    rules = label_rules(labels=labels)
    try:
        form = parse_item_form(request.POST, default_confidence=project.default_confidence)
    except ValueError:
        return HttpResponseBadRequest("Malformed annotation form.")
    shown = {"request": request, "project": project, "role": role, "item": item, "labels": labels, "rules": rules}
    try:
        submit_annotation(
            annotator=request.user,
            item=item,
            answers=form.answers,
            idempotency_key=form.idempotency_key,
            duration_ms=form.duration_ms,
            focus_only=form.focus_only,
            labels=labels,
            rules=None if form.confirm_rules else rules,
            handed_out_only=True,
        )
    except NotHandedOut as refused:
        context = item_context(**shown, entry=queue_entry(item), form=form, error=refused)
        return render_work(request, context, status=409)
    except SubmitRefused as refused:
        context = item_context(**shown, entry=queue_entry(item), form=form, error=refused)
        return render_work(request, context, status=422)
    except RulesBroken as broken:
        context = item_context(**shown, entry=queue_entry(item), form=form, warnings=broken.warnings)
        return render_work(request, context, status=422)
    if not request.htmx:
        return redirect("annotate", project.pk)
    return render_next(request, project, role, labels, rules)


@login_required
@require_POST
def skip(request: UserRequest, project_id: int, item_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id)
    item = project_item(project, item_id)
    reason = request.POST.get("reason", "")
    own_words = reason == OTHER_SKIP_REASON
    if own_words:
        reason = request.POST.get("reason_other", "")
    try:
        key = uuid.UUID(request.POST.get("idempotency_key", ""))
        duration = parse_duration(request.POST.get("duration_ms", ""))
    except ValueError:
        return HttpResponseBadRequest("Malformed skip form.")
    try:
        skip_item(
            annotator=request.user,
            item=item,
            reason=reason,
            own_words=own_words,
            idempotency_key=key,
            duration_ms=duration,
            handed_out_only=True,
        )
    except SubmitRefused as refused:
        context = item_context(
            request=request, project=project, role=role, item=item, entry=queue_entry(item), error=refused
        )
        context["skip_open"] = True
        # A reason the project does not offer is a bad request (400, naming the field); the page
        # shows the project's reasons as they are now beside the message (static/js/annotate.js swaps it in).
        status = 400 if isinstance(refused, SkipReasonRefused) else 409 if isinstance(refused, NotHandedOut) else 422
        return render_work(request, context, status=status)
    if not request.htmx:
        return redirect("annotate", project.pk)
    return render_next(request, project, role)


@login_required
@require_POST
def flag(request: UserRequest, project_id: int, item_id: int) -> HttpResponse:
    """Flag the item for reviewers, or withdraw the flag; the item stays on the page (docs/annotating.md, "Flags").

    With htmx the answer is the flag panel alone; a refused flag is a 400
    with the message beside the field, and stores nothing.
    """
    project, _role = project_for(request.user, project_id)
    item = project_item(project, item_id)
    reason = request.POST.get("reason", "")
    comment = request.POST.get("comment", "")
    context: dict[str, Any] = {"project": project, "item": item, "flag_reasons": FlagReason.choices, "flag_open": True}
    status = 200
    try:
        if request.POST.get("action") == "clear":
            clear_flag(item=item, annotator=request.user)
            context["flag_saved"] = "Flag withdrawn."
        else:
            set_flag(item=item, annotator=request.user, reason=reason, comment=comment)
            context["flag_saved"] = "Flagged. Reviewers see it beside the answers; answer or skip the item as usual."
    except FlagError as refused:
        context |= {"flag_error": refused, "flag_form": {"reason": reason, "comment": comment}}
        status = 400
    if not request.htmx and status == 200:
        messages.success(request, context["flag_saved"])
        return redirect("annotate", project.pk)
    context["my_flag"] = ItemFlag.objects.filter(item=item, annotator=request.user).first()
    return render(request, FLAG_PANEL, context, status=status)


@login_required
def my_agreement(request: UserRequest, project_id: int) -> HttpResponse:
    """The annotator's own agreement per label: the annotate page loads it when they open it, never on submit.

    Only ever the requesting user's figures; nobody can ask for another's.
    """
    project, role = project_for(request.user, project_id)
    progress = annotator_progress(annotator=request.user, project=project)
    context = {
        "project": project,
        "role": role,
        "progress": progress,
        "my_agreement": annotator_agreement(annotator=request.user, project=project, answered=progress.total),
        "min_compared": MIN_COMPARED,
    }
    template = "annotate/annotate/_agreement.html" if request.htmx else "annotate/annotate/agreement.html"
    return render(request, template, context)


@login_required
def my_annotations(request: UserRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id)
    mine = (
        Annotation.objects.filter(annotator=request.user, item__project=project)
        .select_related("item", "guideline_version")
        .annotate(
            yes=Count("judgments", filter=Q(judgments__value=1)),
            no=Count("judgments", filter=Q(judgments__value=0)),
        )
        .order_by("-created_at", "-pk")
    )
    page = Paginator(mine, 50).get_page(request.GET.get("page"))
    for annotation in page:
        # A submit writes both times from one clock reading, but a row created
        # another way may differ by microseconds; an edit is a later request.
        annotation.edited = annotation.updated_at - annotation.created_at > EDITED_AFTER
    context = {"project": project, "role": role, "page": page, "label_count": project.active_labels().count()}
    return render(request, "annotate/annotate/mine.html", context)


@login_required
def edit(request: UserRequest, project_id: int, annotation_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id)
    annotation = get_object_or_404(
        Annotation.objects.select_related("item"), pk=annotation_id, annotator=request.user, item__project=project
    )
    labels = answerable_labels(project=project)
    rules = label_rules(labels=labels)
    shown = {"request": request, "project": project, "role": role, "item": annotation.item, "rules": rules}
    shown["entry"] = queue_entry(annotation.item)
    if request.method == "POST":
        try:
            form = parse_item_form(request.POST, default_confidence=project.default_confidence)
        except ValueError:
            return HttpResponseBadRequest("Malformed annotation form.")
        warnings: list[RuleWarning] = []
        error: SubmitRefused | None = None
        try:
            edit_annotation(
                annotation=annotation,
                editor=request.user,
                answers=form.answers,
                focus_only=form.focus_only,
                rules=None if form.confirm_rules else rules,
            )
        except SubmitRefused as refused:
            error = refused
        except RulesBroken as broken:
            warnings = broken.warnings
        else:
            messages.success(request, f"Saved your new answers for item {annotation.item.external_id}.")
            return redirect("my-annotations", project.pk)
        context = item_context(**shown, labels=labels, form=form, error=error, warnings=warnings, asking=False)
        return render(request, "annotate/annotate/edit.html", {**context, "annotation": annotation}, status=422)
    current = {
        judgment.label_id: Answer(judgment.value, judgment.confidence) for judgment in annotation.judgments.all()
    }
    form = ItemForm(
        answers=current, idempotency_key=uuid.uuid4(), duration_ms=None, focus_only=False, confirm_rules=False
    )
    context = item_context(**shown, labels=labels, form=form, asking=False)
    return render(request, "annotate/annotate/edit.html", {**context, "annotation": annotation})


urlpatterns = [
    path("projects/<int:project_id>/annotate/", annotate, name="annotate"),
    path("projects/<int:project_id>/annotate/<int:item_id>/submit/", submit, name="annotate-submit"),
    path("projects/<int:project_id>/annotate/<int:item_id>/skip/", skip, name="annotate-skip"),
    path("projects/<int:project_id>/annotate/<int:item_id>/flag/", flag, name="annotate-flag"),
    path("projects/<int:project_id>/mine/", my_annotations, name="my-annotations"),
    path("projects/<int:project_id>/mine/agreement/", my_agreement, name="my-agreement"),
    path("projects/<int:project_id>/mine/<int:annotation_id>/edit/", edit, name="annotation-edit"),
]
