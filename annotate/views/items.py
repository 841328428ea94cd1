"""The item browser for reviewers and managers: filter a project's items, open one to see everything about it.

Annotators get 403 (the page shows who answered what), non-members 404. A
filter value the page never offers is a 400 naming the field, so a typo in a
bookmarked URL is not silently read as "no filter". The model filters and
the model's scores appear only when a model version stored scores for the
project (``model_scores``); without one, asking for them is such a 400.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.views.decorators.http import require_GET

from annotate.access import project_for
from annotate.curation.flags import flags_of_items
from annotate.curation.items import (
    LABEL_STATES,
    MODEL_STATES,
    ORDERS,
    UNSURE_BAND,
    ItemFilters,
    ModelScores,
    browse_items,
    item_history,
    model_scores,
)
from annotate.curation.review import review_entries
from annotate.models import Annotation, Item, Membership, Project, Role
from annotate.setup.accounts import display_name
from annotate.text import is_whole_number, quoted

PAGE_SIZE = 50
MAX_INT = 2**31 - 1


class BadFilter(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _optional_int(data: Any, name: str) -> int | None:
    value = data.get(name, "")
    if value == "":
        return None
    if not is_whole_number(value) or int(value) > MAX_INT:
        raise BadFilter(name, f"{name}: a whole number was expected, not {quoted(value)}.")
    return int(value)


def parse_filters(data: Any, project: Project, scores: ModelScores | None) -> ItemFilters:
    """The filters from the query string; BadFilter names the field of a value the form never sends."""
    state = data.get("state", "")
    if state and state not in LABEL_STATES:
        raise BadFilter("state", f"state: one of {', '.join(LABEL_STATES)}.")
    annotator_id = _optional_int(data, "annotator")
    # Someone removed from the project keeps their annotations, so a link to
    # their items still works though the form offers only members.
    if annotator_id is not None and not (
        project.memberships.filter(user_id=annotator_id).exists()
        or Annotation.objects.filter(annotator_id=annotator_id, item__project=project).exists()
    ):
        raise BadFilter("annotator", "annotator: nobody by that id is in this project or annotated in it.")
    version = _optional_int(data, "version")
    if version is not None and not project.guideline_versions.published().filter(number=version).exists():
        raise BadFilter("version", "version: no such published guideline version in this project.")
    label_id = _optional_int(data, "label")
    label = project.labels.filter(pk=label_id).first() if label_id is not None else None
    if label_id is not None and label is None:
        raise BadFilter("label", "label: no such label in this project.")
    if state in ("yes", "no", "unobserved") and label is None:
        raise BadFilter("label", f"label: choose the label that should be {state}.")
    flagged = data.get("flagged", "")
    if flagged not in ("", "1"):
        raise BadFilter("flagged", "flagged: 1 or nothing.")
    model = data.get("model", "")
    if model and model not in MODEL_STATES:
        raise BadFilter("model", f"model: one of {', '.join(MODEL_STATES)}.")
    if model and label is None:
        raise BadFilter("label", "label: choose the label the model should say yes, no or unsure about.")
    order = data.get("order", "") or "id"
    if order not in ORDERS:
        raise BadFilter("order", f"order: one of {', '.join(ORDERS)}.")
    if (model or order == "uncertain") and scores is None:
        field = "model" if model else "order"
        raise BadFilter(field, f"{field}: no model has scored this project's items yet.")
    return ItemFilters(
        text=data.get("q", "").strip()[:200],
        flagged=flagged == "1",
        label=label,
        state=state,
        annotator_id=annotator_id,
        guideline_version=version,
        model=model,
        order=order,
    )


def _people(project: Project) -> list[Any]:
    """The annotator filter's choices: the project's members, by the name pages show and in its order.

    The option's value stays the user's id, so a link keeps working when a
    name changes (docs/agreement.md, "The item browser").
    """
    users = [membership.user for membership in Membership.objects.filter(project=project).select_related("user")]
    return sorted(users, key=lambda user: (display_name(user).casefold(), user.pk))


def _shared_names(users: list[Any]) -> set[int]:
    """The ids of people whose name another choice shares: their option adds the username, to tell them apart."""
    names = Counter(display_name(user).casefold() for user in users)
    return {user.pk for user in users if names[display_name(user).casefold()] > 1}


@login_required
@require_GET
def item_list(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    scores = model_scores(project=project)
    annotators = _people(project)
    context: dict[str, Any] = {
        "project": project,
        "role": role,
        "labels": list(project.active_labels()),
        "states": LABEL_STATES,
        "scores": scores,
        "model_states": MODEL_STATES,
        "unsure_band": UNSURE_BAND,
        "annotators": annotators,
        "shared_names": _shared_names(annotators),
        "versions": list(project.guideline_versions.published().order_by("number").values_list("number", flat=True)),
        "query": request.GET,
    }
    try:
        filters = parse_filters(request.GET, project, scores)
        after = _optional_int(request.GET, "after")
    except BadFilter as bad:
        return render(request, "annotate/items/list.html", {**context, "error": bad}, status=400)
    if filters.annotator_id is not None and all(user.pk != filters.annotator_id for user in annotators):
        # A former member, asked for by a link: offered while chosen, so the form shows the filter it applies.
        annotators.append(get_user_model().objects.get(pk=filters.annotator_id))
        context["shared_names"] = _shared_names(annotators)
    page = browse_items(project=project, filters=filters, after=after, limit=PAGE_SIZE, scores=scores)
    # The next page's link keeps every filter and moves the cursor.
    params = request.GET.copy()
    params["after"] = str(page.next_after or "")
    first = request.GET.copy()
    first.pop("after", None)
    context |= {
        "page": page,
        "filters": filters,
        "score_column": scores is not None and (filters.label is not None or filters.order == "uncertain"),
        "next_query": params.urlencode(),
        "first_query": first.urlencode(),
        "paged": after is not None,
        # An item's link carries the list's query, so its "← Items" returns to the same filters and page.
        "list_query": request.GET.urlencode(),
        # An empty first page says "no items yet" rather than "loosen a filter" when there is nothing to find.
        "no_items": not page.rows and after is None and not project.items.exists(),
    }
    return render(request, "annotate/items/list.html", context)


@login_required
@require_GET
def item_detail(request: HttpRequest, project_id: int, item_id: int) -> HttpResponse:
    """Every answer on every active label, the decisions and their history, the model's scores, the flags."""
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    item = get_object_or_404(Item, project=project, pk=item_id)
    labels = list(project.active_labels())
    entries = review_entries(project=project, pairs=[(item.pk, label.pk) for label in labels])
    scores = model_scores(project=project)
    item_scores = scores.scores_of(item_id=item.pk) if scores else None
    by_label = {score.label_id: score for score in item_scores or []}
    context = {
        "project": project,
        "role": role,
        "item": item,
        # Each label's answers beside the model's score (None: the version does not know the label).
        "rows": [(entry, by_label.get(entry.label.pk)) for entry in entries],
        "scores": scores,
        "scored": item_scores is not None,
        "flags": flags_of_items([item.pk]).get(item.pk, []),
        "annotations": item.annotations.select_related("annotator", "guideline_version").order_by("created_at"),
        "history": item_history(item=item),
        # The list's filters and page, which the detail page only hands back to "← Items".
        "list_query": request.GET.urlencode(),
    }
    return render(request, "annotate/items/detail.html", context)


urlpatterns = [
    path("projects/<int:project_id>/items/", item_list, name="items"),
    path("projects/<int:project_id>/items/<int:item_id>/", item_detail, name="item-detail"),
]
