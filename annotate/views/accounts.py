"""People on the members page: new accounts with a one-time password link, new links, deactivation.

The password pages themselves (change, reset by link) are Django's auth
views, routed in config/urls.py with templates in templates/registration/.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from annotate.access import project_for
from annotate.models import Membership, Role
from annotate.setup import accounts
from annotate.setup.accounts import AccountError, PasswordLink, display_name
from annotate.views.members import PAGE as members_page_template
from annotate.views.members import members_context


def _base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _show_link(request: HttpRequest, project: Any, role: str, link: PasswordLink, *, new: bool) -> HttpResponse:
    """The link is shown once, on this answer to the POST, and never stored."""
    context = {
        "project": project,
        "role": role,
        "person": link.user,
        "url": _base_url(request) + link.path,
        "emailed": link.emailed,
        "new": new,
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    return render(request, "annotate/members/link.html", context)


@login_required
@require_POST
def person_create(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    try:
        link = accounts.create_person(
            project=project,
            actor=request.user,
            username=request.POST.get("username", ""),
            full_name=request.POST.get("full_name", ""),
            email=request.POST.get("email", ""),
            role=request.POST.get("role", Role.ANNOTATOR),
            base_url=_base_url(request),
        )
    except AccountError as error:
        # The page again with what was typed and the message beside its field: a redirect would empty the form.
        context = members_context(project, role)
        typed = ("username", "full_name", "email", "role")
        context["new_person"] = {name: request.POST.get(name, "") for name in typed}
        context["new_person_error"] = {"field": error.field or "username", "message": str(error)}
        return render(request, members_page_template, context, status=400)
    return _show_link(request, project, role, link, new=True)


def _member(project: Any, membership_id: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, project=project)


@login_required
@require_POST
def person_password_link(request: HttpRequest, project_id: int, membership_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    person = _member(project, membership_id).user
    try:
        link = accounts.issue_password_link(
            person=person, actor=request.user, project=project, base_url=_base_url(request)
        )
    except AccountError as error:
        messages.error(request, str(error))
        return redirect("members", project.pk)
    return _show_link(request, project, role, link, new=False)


@login_required
@require_POST
def person_active(request: HttpRequest, project_id: int, membership_id: int) -> HttpResponse:
    """Deactivate (``active=0``) or reactivate (``active=1``) a member's account."""
    project, _role = project_for(request.user, project_id, Role.MANAGER)
    person = _member(project, membership_id).user
    try:
        if request.POST.get("active") == "1":
            accounts.reactivate_person(person=person, actor=request.user)
            messages.success(request, f"{display_name(person)} can log in again.")
        else:
            released = accounts.deactivate_person(person=person, actor=request.user)
            messages.success(
                request,
                f"{display_name(person)} can no longer log in; {released} item(s) they held went back to the queue. "
                "Their answers stay.",
            )
    except AccountError as error:
        messages.error(request, str(error))
    return redirect("members", project.pk)


class PasswordResetView(auth_views.PasswordResetView):
    """Reset by e-mail when e-mail is configured; otherwise the page says to ask a manager for a link."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not accounts.email_configured():
            return render(request, "registration/password_reset_by_manager.html")
        return super().dispatch(request, *args, **kwargs)


urlpatterns = [
    path("projects/<int:project_id>/members/new-person/", person_create, name="person-create"),
    path(
        "projects/<int:project_id>/members/<int:membership_id>/password-link/",
        person_password_link,
        name="person-password-link",
    ),
    path("projects/<int:project_id>/members/<int:membership_id>/active/", person_active, name="person-active"),
]
