"""The guideline pages: the current version and its history for everyone, diffs, and the editor.

Every member reads the guideline, its history and diffs. Reviewers and
managers edit the project's draft with a live Markdown preview and publish it
with a changelog line.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate.access import project_for, role_allows
from annotate.models import GuidelineVersion, Project, Role
from annotate.setup.guidelines import (
    MAX_TEXT,
    DraftConflictError,
    GuidelineError,
    PublishedGuidelineError,
    diff_texts,
    diff_versions,
    discard_draft,
    draft_for,
    draft_revision,
    save_or_publish,
)


def _published(project: Project) -> list[GuidelineVersion]:
    return list(project.guideline_versions.published().select_related("author").order_by("-number"))


def _version(project: Project, number: str | None, default: GuidelineVersion | None) -> GuidelineVersion | None:
    if not number:
        return default
    try:
        return project.guideline_versions.published().get(number=int(number))
    except (ValueError, GuidelineVersion.DoesNotExist):
        raise Http404("No such guideline version.") from None


@login_required
@require_GET
def guideline(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id)
    versions = _published(project)
    current = versions[0] if versions else None
    shown = _version(project, request.GET.get("version"), current)
    context = {
        "project": project,
        "role": role,
        "versions": versions,
        "current": current,
        "shown": shown,
        "can_edit": role_allows(role, Role.REVIEWER),
        "draft": draft_for(project) if role_allows(role, Role.REVIEWER) else None,
    }
    return render(request, "annotate/guidelines/guideline.html", context)


@login_required
@require_GET
def guideline_diff(request: HttpRequest, project_id: int) -> HttpResponse:
    """The diff between two published versions, inline or side by side; an htmx request gets the diff alone."""
    project, role = project_for(request.user, project_id)
    versions = _published(project)
    if not versions:
        raise Http404("No guideline version is published yet.")
    new = _version(project, request.GET.get("new"), versions[0])
    old = _version(project, request.GET.get("old"), versions[1] if len(versions) > 1 else versions[0])
    if old.number > new.number:
        old, new = new, old
    mode = "side" if request.GET.get("mode") == "side" else "inline"
    context = {
        "project": project,
        "role": role,
        "versions": versions,
        "old": old,
        "new": new,
        "mode": mode,
        "old_title": f"Version {old.number}",
        "new_title": f"Version {new.number}",
        "diff": diff_versions(old, new, context=None if request.GET.get("full") else 3),
        "full": bool(request.GET.get("full")),
        "between": [v for v in reversed(versions) if old.number < v.number <= new.number],
    }
    template = "annotate/guidelines/diff.html"
    if request.htmx:
        template += "#diff"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def guideline_edit(request: HttpRequest, project_id: int) -> HttpResponse:
    """The editor. POST ``action``: "save" keeps a draft, "publish" publishes it, "discard" drops it,
    "preview" is the no-JS preview.

    The form carries the draft's revision as the editor loaded it; a save or
    publish from a stale tab is refused with the user's text kept in the form
    and the draft as it is now beside it, instead of overwriting someone's work.
    """
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    current = project.current_guideline()
    draft = draft_for(project)
    text = draft.text if draft else (current.text if current else "")
    revision = draft_revision(draft)
    changelog = ""
    conflict: DraftConflictError | None = None
    status = 200
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if request.method == "POST":
        text = request.POST.get("text", "").replace("\r\n", "\n")
        changelog = request.POST.get("changelog", "").strip()
        # The preview keeps the revision the editor loaded, so a later save is still checked against it.
        revision = request.POST.get("revision") or revision
        if action == "discard":
            if discard_draft(project=project):
                messages.success(request, "Draft discarded.")
            return redirect("guideline", project.pk)
        if action in ("save", "publish"):
            try:
                saved = save_or_publish(
                    project=project,
                    text=text,
                    changelog=changelog,
                    author=request.user,
                    expected=request.POST.get("revision"),
                    publish=action == "publish",
                )
                if saved.is_published:
                    messages.success(request, f"Published version {saved.number}: {saved.changelog}")
                    return redirect("guideline", project.pk)
                messages.success(request, "Draft saved. Nobody sees it until you publish it.")
                return redirect("guideline-edit", project.pk)
            except DraftConflictError as error:
                # The next save is checked against the draft as it is now, so
                # saving again after reading it is a deliberate replacement.
                conflict, draft, revision, status = error, error.current, draft_revision(error.current), 409
            except PublishedGuidelineError as error:
                # Published from another tab meanwhile: a conflict, not a form error.
                messages.error(request, str(error))
                status = 409
            except GuidelineError as error:
                # Too long, a character it may not hold, or no changelog: nothing was saved.
                messages.error(request, str(error))
                status = 400
    context = {
        "project": project,
        "role": role,
        "current": current,
        "draft": draft,
        "text": text,
        "revision": revision,
        "changelog": changelog,
        "conflict": conflict,
        "conflict_diff": diff_texts(conflict.current.text if conflict.current else "", text) if conflict else None,
        "show_preview": action == "preview",
        "diff": diff_texts(current.text if current else "", text),
    }
    return render(request, "annotate/guidelines/edit.html", context, status=status)


@login_required
@require_POST
def guideline_preview(request: HttpRequest, project_id: int) -> HttpResponse:
    """The rendered Markdown and the diff against the current version, for the editor's live preview (htmx)."""
    project, _role = project_for(request.user, project_id, Role.REVIEWER)
    current = project.current_guideline()
    text = request.POST.get("text", "")[:MAX_TEXT].replace("\r\n", "\n")
    context = {
        "project": project,
        "current": current,
        "text": text,
        "diff": diff_texts(current.text if current else "", text),
    }
    return render(request, "annotate/guidelines/edit.html#preview", context)


urlpatterns = [
    path("projects/<int:project_id>/guideline/", guideline, name="guideline"),
    path("projects/<int:project_id>/guideline/diff/", guideline_diff, name="guideline-diff"),
    path("projects/<int:project_id>/guideline/edit/", guideline_edit, name="guideline-edit"),
    path("projects/<int:project_id>/guideline/preview/", guideline_preview, name="guideline-preview"),
]
