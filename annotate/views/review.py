"""The review page: disputed entries first, every annotator's answer, and a one-key resolution.

Two orders of the same open disputes: by entry (one (item, label) per card,
the most contested first) and by item (every open disputed label of one item
together, with "accept the majority for this item"). Every change answers
with the counts of open disputes and of decisions as out-of-band swaps, so
both tabs' badges follow without a reload (an undo moves one entry from
Resolved back to Disputed); a decision on one label of a by-item card also
swaps the card's header (its open labels) and its majority form.

Reviewers and managers only: the page shows who answered what, which an
annotator must never see (annotators get 403, non-members 404). With htmx a
resolution swaps its entry in place to show the decision; without
JavaScript the same form posts and redirects back to the page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from annotate.access import project_for
from annotate.curation.review import (
    ResolutionError,
    ReviewItem,
    ReviewPage,
    StaleResolutionError,
    accept_majority,
    clear_resolution,
    item_review,
    open_disputes,
    resolved_entries,
    review_by_item,
    review_entries,
    review_queue,
    set_resolution,
)
from annotate.models import Item, Label, Project, Role
from annotate.text import is_whole_number

PAGE = "annotate/review/review.html"
PAGE_SIZE = 20
ITEMS_PAGE_SIZE = 10
TABS = ("disputed", "resolved")
COUNT = "annotate/review/_open_count.html"
RESOLVED_COUNT = "annotate/review/_resolved_count.html"
OPEN_ITEMS = "annotate/review/_open_items.html"
CARD_MAX_LABELS = 500


# Offsets and ids beyond a 32-bit integer can match nothing, and SQLite
# refuses integers beyond 64 bits, so anything larger is clamped here.
MAX_INT = 2**31 - 1


def _int(value: str | None, default: int = 0) -> int:
    try:
        return min(max(int(value or default), 0), MAX_INT)
    except ValueError:
        return default


def _after(value: str | None) -> tuple[int, int] | None:
    """An "item-label" cursor from the query string, or None if absent or malformed."""
    item, _, label = (value or "").partition("-")
    if not (is_whole_number(item) and is_whole_number(label)):
        return None
    return min(int(item), MAX_INT), min(int(label), MAX_INT)


@login_required
@require_GET
def review_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    show = request.GET.get("show") if request.GET.get("show") in TABS else "disputed"
    by_item = show == "disputed" and request.GET.get("by") == "item"
    offset = _int(request.GET.get("offset"))
    context = {"project": project, "role": role, "show": show, "by_item": by_item, "here": request.get_full_path()}
    if by_item:
        after_item = _int(request.GET.get("after")) if request.GET.get("after") else None
        items = review_by_item(project=project, limit=ITEMS_PAGE_SIZE, after=after_item, allow_stale=True)
        context |= {"items_page": items, "open_count": open_count(project), "resolved_count": resolved_count(project)}
        return render(request, PAGE, context)
    if show == "resolved":
        page = resolved_entries(project=project, limit=PAGE_SIZE, offset=offset)
        context |= {"open_count": open_count(project), "resolved_count": page.total}
    else:
        page = review_queue(
            project=project, limit=PAGE_SIZE, offset=offset, after=_after(request.GET.get("after")), allow_stale=True
        )
        context |= {"open_count": page.total, "resolved_count": resolved_count(project)}
    context |= {
        "page": page,
        "previous_offset": max(page.offset - PAGE_SIZE, 0),
        "next_offset": page.offset + PAGE_SIZE,
        "shown_from": page.offset + 1,
        "shown_to": page.offset + len(page.entries),
    }
    return render(request, PAGE, context)


def open_count(project: Project) -> int:
    """The number of open disputes, the Disputed tab's badge."""
    return open_disputes(project=project, allow_stale=True).total_open


def open_items_count(project: Project) -> int:
    """The number of items with an open dispute, the total of review by item."""
    return open_disputes(project=project, allow_stale=True).items_open


def resolved_count(project: Project) -> int:
    """The number of decided entries, the Resolved tab's badge (the count alone: an empty page of them)."""
    return resolved_entries(project=project, limit=0).total


def _with_count(
    request: HttpRequest, response: HttpResponse, project: Project, *, by_item: bool = False
) -> HttpResponse:
    """Add the tabs' counts (open disputes, decisions) as htmx out-of-band swaps, so the badges follow each change.

    From review by item, also the number of items still open, which the
    page shows above the cards and in its pager.
    """
    if request.htmx and response.status_code in (200, 409):
        response.content += render_to_string(COUNT, {"open_count": open_count(project), "oob": True}).encode()
        response.content += render_to_string(
            RESOLVED_COUNT, {"resolved_count": resolved_count(project), "oob": True}
        ).encode()
        if by_item:
            response.content += render_to_string(OPEN_ITEMS, {"open_items": open_items_count(project)}).encode()
    return response


def _posted_note(request: HttpRequest) -> str | None:
    """The note to store, or None to keep the existing one: only an explicit edit of the note box changes it.

    The form sends the note it showed (``note_seen``); a note box left as it
    was, or an empty one from a form that showed no note, keeps the note.
    """
    note = request.POST.get("note", "").strip()
    seen = request.POST.get("note_seen")
    if seen is None:
        return note or None
    return None if note == seen.strip() else note


def _entry_response(
    request: HttpRequest,
    *,
    project: Project,
    role: str,
    item: Item,
    label: Label,
    conflict: str = "",
    status: int = 200,
) -> HttpResponse:
    """The entry as it is now: swapped in place for htmx, else the page (after a conflict) or a redirect."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("review", args=[project.pk])
    if not request.htmx and not conflict:
        return redirect(back)
    entries = review_entries(project=project, pairs=[(item.pk, label.pk)])
    by_item = request.POST.get("by") == "item"
    context = {"project": project, "role": role, "here": back, "conflict": conflict, "by_item": by_item}
    if request.htmx:
        card = (_card_labels(request.POST) or []) if by_item else []
        if label.pk in card:
            context |= {"card": ",".join(map(str, card)), "number": card.index(label.pk) + 1}
        response = render(request, f"{PAGE}#entry", {**context, "entry": entries[0]}, status=status)
        if label.pk in card:
            response.content += _card_parts(request, context, item_review(project=project, item=item, label_ids=card))
        return _with_count(request, response, project, by_item=by_item)
    # Without JavaScript, a page with just this entry shows the current decision and asks again.
    page = ReviewPage(entries=entries, total=len(entries), offset=0, limit=1)
    context |= {
        "show": "resolved" if entries[0].resolution else "disputed",
        "page": page,
        "single": True,
        "open_count": open_count(project),
        "resolved_count": resolved_count(project),
    }
    return render(request, PAGE, context, status=status)


def _card_labels(data: QueryDict) -> list[int] | None:
    """The labels of the by-item card a form was posted from (``card``, comma-separated ids); None if absent.

    A card holds one item's disputed labels, so a list longer than any label
    set is a hand-made request and is ignored rather than queried.
    """
    ids = [value for value in data.get("card", "").split(",") if value]
    if not ids or len(ids) > CARD_MAX_LABELS or not all(is_whole_number(value) for value in ids):
        return None
    return list(dict.fromkeys(min(int(value), MAX_INT) for value in ids))


def _card_parts(request: HttpRequest, context: dict[str, Any], review_item: ReviewItem) -> bytes:
    """The card's header (open labels left) and majority form, as htmx out-of-band swaps after a decision in it."""
    parts = {**context, "review_item": review_item, "oob": True}
    return b"".join(
        render_to_string(f"{PAGE}#{part}", parts, request=request).encode() for part in ("item_head", "item_majority")
    )


def _entry_from_post(request: HttpRequest, project: Project) -> tuple[Item, Label]:
    item = get_object_or_404(Item, project=project, pk=_int(request.POST.get("item")))
    label = get_object_or_404(Label, project=project, pk=_int(request.POST.get("label")))
    return item, label


@login_required
@require_POST
def resolve(request: HttpRequest, project_id: int) -> HttpResponse:
    """Set or change the final value of one (item, label) with an optional note.

    The form carries the decision the reviewer saw (``seen``); if the entry
    was decided or undone since, nothing is written and the answer is 409
    with the entry as it is now, so pressing again is an informed change.
    """
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    item, label = _entry_from_post(request, project)
    value = request.POST.get("value")
    if value not in ("0", "1"):
        return HttpResponseBadRequest("value must be 1 (yes) or 0 (no)")
    try:
        set_resolution(
            item=item,
            label=label,
            value=int(value),
            note=_posted_note(request),
            reviewer=request.user,
            expected=request.POST.get("seen"),
        )
    except StaleResolutionError as error:
        return _entry_response(
            request, project=project, role=role, item=item, label=label, conflict=str(error), status=409
        )
    except ResolutionError as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    return _entry_response(request, project=project, role=role, item=item, label=label)


@login_required
@require_POST
def unresolve(request: HttpRequest, project_id: int) -> HttpResponse:
    """Undo a decision: the entry goes back to its votes, disputed again if they disagree (audited)."""
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    item, label = _entry_from_post(request, project)
    try:
        clear_resolution(item=item, label=label, reviewer=request.user, expected=request.POST.get("seen"))
    except StaleResolutionError as error:
        return _entry_response(
            request, project=project, role=role, item=item, label=label, conflict=str(error), status=409
        )
    except ResolutionError as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    return _entry_response(request, project=project, role=role, item=item, label=label)


@login_required
@require_POST
def accept_item_majority(request: HttpRequest, project_id: int) -> HttpResponse:
    """Resolve every listed open label of one item to its majority, in one press (key a on the page).

    The form lists each label with the decision the page showed; an entry
    decided since is left as it is and named, an exact tie stays open.
    """
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    item = get_object_or_404(Item, project=project, pk=_int(request.POST.get("item")))
    seen = _posted_seen(request.POST)
    if seen is None:
        return HttpResponseBadRequest("label: list the labels of the item, each with its seen-<label> field")
    result = accept_majority(project=project, item=item, seen=seen, reviewer=request.user)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("review", args=[project.pk]) + "?by=item"
    if not request.htmx:
        return redirect(back)
    notes = []
    if result.tied:
        notes.append("Left open, the answers are split evenly: " + ", ".join(e.label.name for e in result.tied) + ".")
    if result.stale:
        notes.append(
            "Decided by someone else since your page loaded: " + ", ".join(e.label.name for e in result.stale) + "."
        )
    # The card keeps every label it showed, those decided one by one included, so its header counts them all.
    card = _card_labels(request.POST) or list(seen)
    review_item = item_review(project=project, item=item, label_ids=card)
    context = {
        "project": project,
        "role": role,
        "here": back,
        "by_item": True,
        "review_item": review_item,
        "item_note": " ".join(notes),
    }
    return _with_count(request, render(request, f"{PAGE}#item_card", context), project, by_item=True)


def _posted_seen(data: QueryDict) -> dict[int, str] | None:
    """{label id: seen} from the repeated ``label`` fields and their ``seen-<id>``; None if malformed."""
    seen: dict[int, str] = {}
    for value in data.getlist("label"):
        if not is_whole_number(value) or f"seen-{value}" not in data:
            return None
        seen[min(int(value), MAX_INT)] = data[f"seen-{value}"]
    return seen or None


urlpatterns = [
    path("projects/<int:project_id>/review/", review_page, name="review"),
    path("projects/<int:project_id>/review/resolve/", resolve, name="review-resolve"),
    path("projects/<int:project_id>/review/unresolve/", unresolve, name="review-unresolve"),
    path("projects/<int:project_id>/review/majority/", accept_item_majority, name="review-majority"),
]
