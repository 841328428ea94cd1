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
from annotate.models import Item, Label, Role
from annotate.review import ResolutionError, resolved_entries, review_entries, review_queue, set_resolution

PAGE = "annotate/review/review.html"
PAGE_SIZE = 20
TABS = ("disputed", "resolved")


def _int(value: str | None, default: int = 0) -> int:
    try:
        return max(int(value or default), 0)
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


@login_required
@require_POST
def resolve(request: HttpRequest, project_id: int) -> HttpResponse:
    """Set or change the final value of one (item, label) with an optional note."""
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    item = get_object_or_404(Item, project=project, pk=_int(request.POST.get("item")))
    label = get_object_or_404(Label, project=project, pk=_int(request.POST.get("label")))
    value = request.POST.get("value")
    if value not in ("0", "1"):
        return HttpResponseBadRequest("value must be 1 (yes) or 0 (no)")
    try:
        set_resolution(
            item=item, label=label, value=int(value), note=request.POST.get("note", "").strip(), reviewer=request.user
        )
    except ResolutionError as error:
        return HttpResponseBadRequest(str(error))
    if request.htmx:
        (entry,) = review_entries(project=project, pairs=[(item.pk, label.pk)])
        context = {"project": project, "role": role, "entry": entry, "here": request.POST.get("next", "")}
        return render(request, f"{PAGE}#entry", context)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("review", args=[project.pk])
    return redirect(back)


urlpatterns = [
    path("projects/<int:project_id>/review/", review_page, name="review"),
    path("projects/<int:project_id>/review/resolve/", resolve, name="review-resolve"),
]
