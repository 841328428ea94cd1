"""The review page: disputed entries first, every annotator's answer, and a one-key resolution.

Reviewers and managers only: the page shows who answered what, which an
annotator must never see (annotators get 403, non-members 404). With htmx a
resolution swaps its entry in place to show the decision; without
JavaScript the same form posts and redirects back to the page.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from annotate.access import project_for
from annotate.curation.review import (
    ResolutionError,
    ReviewPage,
    StaleResolutionError,
    clear_resolution,
    resolved_entries,
    review_entries,
    review_queue,
    set_resolution,
)
from annotate.models import Item, Label, Project, Role

PAGE = "annotate/review/review.html"
PAGE_SIZE = 20
TABS = ("disputed", "resolved")


# Offsets and ids beyond a 32-bit integer can match nothing, and SQLite
# refuses integers beyond 64 bits, so anything larger is clamped here.
MAX_INT = 2**31 - 1


def _int(value: str | None, default: int = 0) -> int:
    try:
        return min(max(int(value or default), 0), MAX_INT)
    except ValueError:
        return default


@login_required
@require_GET
def review_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    show = request.GET.get("show") if request.GET.get("show") in TABS else "disputed"
    offset = _int(request.GET.get("offset"))
    if show == "resolved":
        page = resolved_entries(project=project, limit=PAGE_SIZE, offset=offset)
    else:
        page = review_queue(project=project, limit=PAGE_SIZE, offset=offset, allow_stale=True)
    context = {
        "project": project,
        "role": role,
        "show": show,
        "page": page,
        "previous_offset": max(offset - PAGE_SIZE, 0),
        "next_offset": offset + PAGE_SIZE,
        "shown_from": offset + 1,
        "shown_to": offset + len(page.entries),
        "here": request.get_full_path(),
    }
    return render(request, PAGE, context)


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
    context = {"project": project, "role": role, "here": back, "conflict": conflict}
    if request.htmx:
        return render(request, f"{PAGE}#entry", {**context, "entry": entries[0]}, status=status)
    # Without JavaScript, a page with just this entry shows the current decision and asks again.
    page = ReviewPage(entries=entries, total=len(entries), offset=0, limit=1)
    context |= {"show": "resolved" if entries[0].resolution else "disputed", "page": page, "single": True}
    return render(request, PAGE, context, status=status)


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
        return HttpResponseBadRequest(str(error))
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
        return HttpResponseBadRequest(str(error))
    return _entry_response(request, project=project, role=role, item=item, label=label)


urlpatterns = [
    path("projects/<int:project_id>/review/", review_page, name="review"),
    path("projects/<int:project_id>/review/resolve/", resolve, name="review-resolve"),
    path("projects/<int:project_id>/review/unresolve/", unresolve, name="review-unresolve"),
]
