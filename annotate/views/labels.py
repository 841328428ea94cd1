"""The label-set pages for managers: list, add, edit, re-order, retire, bring back, merge and rules.

Every change goes through two POSTs: the first renders a preview of its
effect (``confirm.html``), the second, with ``confirm=1`` and the same fields,
applies it. A merge also carries the counts the manager saw, so a merge whose
data changed in between is shown again instead of applied.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate.access import project_for
from annotate.models import Item, Label, Project, Role
from annotate.setup import labelset
from annotate.setup.labelset import LabelSetError, StalePreviewError


class LabelForm(forms.Form):
    name = forms.CharField(max_length=labelset.LABEL_NAME_MAX_CHARS)
    description = forms.CharField(
        required=False, max_length=labelset.LABEL_DESCRIPTION_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 2})
    )
    color = forms.CharField(max_length=7, initial="#4c78a8", widget=forms.TextInput(attrs={"type": "color"}))
    shortcut_key = forms.CharField(
        max_length=1,
        required=False,
        label="Shortcut key",
        widget=forms.TextInput(attrs={"aria-describedby": "key-hint"}),
    )


# Named in the help text of the shortcut field, so managers know before they try.
RESERVED_KEYS_TEXT = ", ".join(sorted(labelset.RESERVED_KEYS))


def _label(project: Project, label_id: int) -> Label:
    return get_object_or_404(Label, pk=label_id, project=project)


def _confirm(
    request: HttpRequest, project: Project, role: str, *, extra_hidden: dict[str, str] | None = None, **context: Any
) -> HttpResponse:
    """The preview page: what the change will do, and a button that posts the same fields with confirm=1."""
    extra_hidden = extra_hidden or {}
    skip = {"csrfmiddlewaretoken", "confirm", *extra_hidden}
    hidden = [(name, value) for name, values in request.POST.lists() if name not in skip for value in values]
    hidden += list(extra_hidden.items())
    return render(
        request,
        "annotate/labels/confirm.html",
        {"project": project, "role": role, "hidden": hidden, "action": request.path, **context},
    )


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirm") == "1"


def _form_error(form: LabelForm, error: LabelSetError) -> None:
    """Show a refused change beside the field at fault, or above the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error))


def _labels_page(request: HttpRequest, project: Project, role: str, form: LabelForm) -> HttpResponse:
    """The label list with the add form; a refused add comes back here with its typed values and errors."""
    labels = (
        project.labels.select_related("introduced_in", "retired_in", "merged_into")
        .prefetch_related("implies", "excludes")
        .annotate(
            positives=Count("judgments", filter=Q(judgments__value=1)),
            negatives=Count("judgments", filter=Q(judgments__value=0)),
        )
        .order_by("order", "id")
    )
    active = [label for label in labels if label.is_active]
    # The keys the annotate page uses: a label without a usable key of its own gets one automatically.
    keys = labelset.label_keys(active)
    shown_keys = [(label, keys.get(label.pk, "")) for label in active]
    retired = [label for label in labels if not label.is_active]
    conflicts = labelset.open_merge_conflicts(project=project)
    items = Item.objects.in_bulk([c.item_id for c in conflicts]) if conflicts else {}
    people = get_user_model().objects.in_bulk([c.annotator_id for c in conflicts]) if conflicts else {}
    context = {
        "project": project,
        "role": role,
        "active": shown_keys,
        "retired": retired,
        "form": form,
        "reserved_keys": RESERVED_KEYS_TEXT,
        "conflicts": [(c, items.get(c.item_id), people.get(c.annotator_id)) for c in conflicts],
        "current": project.current_guideline(),
    }
    # A refused add answers 400, as every form of the app does (docs/projects.md).
    status = 400 if request.method == "POST" else 200
    return render(request, "annotate/labels/labels.html", context, status=status)


@login_required
@require_GET
def labels_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    # The colour input starts on the palette's next colour, so labels added one by one differ.
    return _labels_page(request, project, role, LabelForm(initial={"color": labelset.next_color(project)}))


@login_required
@require_POST
def label_add(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    form = LabelForm(request.POST)
    if not form.is_valid():
        return _labels_page(request, project, role, form)
    try:
        if _confirmed(request):
            label = labelset.add_label(project=project, actor=request.user, **form.cleaned_data)
            messages.success(request, f"Added “{label.name}”. It is asked from now on.")
            return redirect("labels", project.pk)
        preview = labelset.preview_add_label(project=project, **form.cleaned_data)
    except LabelSetError as error:
        # Shown again with what the manager typed, so nothing has to be re-entered.
        _form_error(form, error)
        return _labels_page(request, project, role, form)
    return _confirm(request, project, role, title=f"Add “{preview.name}”", message=preview.message)


@login_required
@require_http_methods(["GET", "POST"])
def label_edit(request: HttpRequest, project_id: int, label_id: int) -> HttpResponse:
    """Rename, re-colour, describe or re-key a label; it keeps its id and every answer."""
    project, role = project_for(request.user, project_id, Role.MANAGER)
    label = _label(project, label_id)
    if request.method == "GET":
        initial = {name: getattr(label, name) for name in ("name", "description", "color", "shortcut_key")}
        form = LabelForm(initial=initial)
    else:
        form = LabelForm(request.POST)
        if form.is_valid():
            try:
                if _confirmed(request):
                    labelset.update_label(label=label, actor=request.user, **form.cleaned_data)
                    messages.success(request, f"Updated “{label.name}”.")
                    return redirect("labels", project.pk)
                preview = labelset.preview_update_label(label=label, **form.cleaned_data)
                if not preview.changes:
                    messages.info(request, preview.message)
                    return redirect("labels", project.pk)
                changes = [(name.replace("_", " "), before, after) for name, (before, after) in preview.changes.items()]
                return _confirm(request, project, role, title=f"Update “{label.name}”", changes=changes)
            except LabelSetError as error:
                _form_error(form, error)
    context = {"project": project, "role": role, "label": label, "form": form, "reserved_keys": RESERVED_KEYS_TEXT}
    return render(request, "annotate/labels/edit.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def label_move(request: HttpRequest, project_id: int, label_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    label = _label(project, label_id)
    step = -1 if request.POST.get("step") == "-1" else 1
    try:
        if _confirmed(request):
            labelset.move_label(label=label, actor=request.user, step=step)
            return redirect("labels", project.pk)
        names = list(project.active_labels().values_list("name", flat=True))
        if label.name not in names:
            raise LabelSetError("Only active labels can be re-ordered.")
        index = names.index(label.name)
        names.insert(min(max(index + step, 0), len(names) - 1), names.pop(index))
    except LabelSetError as error:
        messages.error(request, str(error))
        return redirect("labels", project.pk)
    message = f"Move “{label.name}” {'up' if step < 0 else 'down'}. New order: {', '.join(names)}."
    return _confirm(request, project, role, title="Re-order the labels", message=message)


@login_required
@require_POST
def label_retire(request: HttpRequest, project_id: int, label_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    label = _label(project, label_id)
    try:
        if _confirmed(request):
            labelset.retire_label(label=label, actor=request.user)
            messages.success(request, f"Retired “{label.name}”. Its answers are kept.")
            return redirect("labels", project.pk)
        preview = labelset.preview_retire(label=label)
    except LabelSetError as error:
        messages.error(request, str(error))
        return redirect("labels", project.pk)
    return _confirm(request, project, role, title=f"Retire “{label.name}”", message=preview.message, danger=True)


@login_required
@require_POST
def label_restore(request: HttpRequest, project_id: int, label_id: int) -> HttpResponse:
    """Bring a retired label back (docs/guidelines.md, "Bring back"): a preview, then the change."""
    project, role = project_for(request.user, project_id, Role.MANAGER)
    label = _label(project, label_id)
    try:
        if _confirmed(request):
            labelset.restore_label(label=label, actor=request.user)
            messages.success(request, f"“{label.name}” is back. It is asked from now on.")
            return redirect("labels", project.pk)
        preview = labelset.preview_restore(label=label)
    except LabelSetError as error:
        messages.error(request, str(error))
        return redirect("labels", project.pk)
    return _confirm(request, project, role, title=f"Bring back “{label.name}”", message=preview.message)


@login_required
@require_http_methods(["GET", "POST"])
def label_merge(request: HttpRequest, project_id: int, label_id: int) -> HttpResponse:
    """Choose a target, see the counts, confirm. The confirm carries the counts seen."""
    project, role = project_for(request.user, project_id, Role.MANAGER)
    source = _label(project, label_id)
    targets = [label for label in project.active_labels() if label.pk != source.pk]
    if request.method == "POST" and request.POST.get("target"):
        try:
            target_id = int(request.POST["target"])
            expected = json.loads(request.POST.get("expected") or "null")
        except ValueError:
            # A hand-made request (the form sends an id and the counts it showed).
            return HttpResponseBadRequest("Malformed merge form: target must be a label id, expected JSON counts.")
        target = get_object_or_404(Label, pk=target_id, project=project)
        try:
            if _confirmed(request):
                plan = labelset.merge_labels(source=source, target=target, actor=request.user, expected=expected)
                messages.success(request, plan.message)
                return redirect("labels", project.pk)
            plan = labelset.preview_merge(source=source, target=target)
        except StalePreviewError as error:
            messages.warning(request, str(error))
            plan = labelset.preview_merge(source=source, target=target)
        except LabelSetError as error:
            messages.error(request, str(error))
            return redirect("label-merge", project.pk, source.pk)
        counts = [(name.replace("_", " ").capitalize(), value) for name, value in plan.counts.items()]
        return _confirm(
            request,
            project,
            role,
            title=f"Merge “{source.name}” into “{target.name}”",
            message=plan.message,
            counts=counts,
            extra_hidden={"expected": json.dumps(plan.counts)},
            danger=True,
        )
    context = {"project": project, "role": role, "source": source, "targets": targets}
    return render(request, "annotate/labels/merge.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def edit_label_rules(request: HttpRequest, project_id: int, label_id: int) -> HttpResponse:
    """Edit what a label implies and excludes; the annotate page warns and the learner uses them."""
    project, role = project_for(request.user, project_id, Role.MANAGER)
    label = _label(project, label_id)
    others = [other for other in project.active_labels() if other.pk != label.pk]
    if request.method == "POST":
        by_id = {str(other.pk): other for other in others}
        implies = [by_id[pk] for pk in request.POST.getlist("implies") if pk in by_id]
        excludes = [by_id[pk] for pk in request.POST.getlist("excludes") if pk in by_id]
        try:
            if _confirmed(request):
                labelset.set_label_rules(label=label, actor=request.user, implies=implies, excludes=excludes)
                messages.success(request, f"Saved the rules of “{label.name}”.")
                return redirect("labels", project.pk)
            preview = labelset.preview_rules(label=label, implies=implies, excludes=excludes)
            if not preview.changed:
                messages.info(request, preview.message)
                return redirect("labels", project.pk)
            return _confirm(request, project, role, title=f"Rules of “{label.name}”", message=preview.message)
        except LabelSetError as error:
            messages.error(request, str(error))
    rules = {
        "implies": set(label.implies.values_list("pk", flat=True)),
        "excludes": set(label.excludes.values_list("pk", flat=True)),
    }
    context = {"project": project, "role": role, "label": label, "others": others, "rules": rules}
    return render(request, "annotate/labels/rules.html", context)


urlpatterns = [
    path("projects/<int:project_id>/labels/", labels_page, name="labels"),
    path("projects/<int:project_id>/labels/add/", label_add, name="label-add"),
    path("projects/<int:project_id>/labels/<int:label_id>/edit/", label_edit, name="label-edit"),
    path("projects/<int:project_id>/labels/<int:label_id>/move/", label_move, name="label-move"),
    path("projects/<int:project_id>/labels/<int:label_id>/retire/", label_retire, name="label-retire"),
    path("projects/<int:project_id>/labels/<int:label_id>/restore/", label_restore, name="label-restore"),
    path("projects/<int:project_id>/labels/<int:label_id>/merge/", label_merge, name="label-merge"),
    path("projects/<int:project_id>/labels/<int:label_id>/rules/", edit_label_rules, name="label-rules"),
]
