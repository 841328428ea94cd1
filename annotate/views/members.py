"""The members page for managers: add a user by username with a role, change roles, remove members."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from annotate.access import project_for
from annotate.models import Membership, Project, Role
from annotate.setup import members
from annotate.setup.accounts import display_name, email_configured
from annotate.setup.members import MembershipError

PAGE = "annotate/members/members.html"


def members_context(project: Project, role: str) -> dict[str, Any]:
    """What the members page shows; the new-person form adds what was typed when it refuses it."""
    return {
        "project": project,
        "role": role,
        "memberships": project.memberships.select_related("user").order_by("user__username"),
        "roles": Role.choices,
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        "email_configured": email_configured(),
        "new_person": {"role": Role.ANNOTATOR},
    }


@login_required
@require_GET
def members_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    return render(request, PAGE, members_context(project, role))


@login_required
@require_POST
def member_add(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _role = project_for(request.user, project_id, Role.MANAGER)
    try:
        membership = members.add_member(
            project=project,
            username=request.POST.get("username", ""),
            role=request.POST.get("role", Role.ANNOTATOR),
            actor=request.user,
        )
        messages.success(request, f"Added {display_name(membership.user)} as {membership.get_role_display().lower()}.")
    except MembershipError as error:
        messages.error(request, str(error))
    return redirect("members", project.pk)


@login_required
@require_POST
def member_role(request: HttpRequest, project_id: int, membership_id: int) -> HttpResponse:
    project, _role = project_for(request.user, project_id, Role.MANAGER)
    membership = get_object_or_404(Membership, pk=membership_id, project=project)
    try:
        changed = members.change_role(membership=membership, role=request.POST.get("role", ""), actor=request.user)
        messages.success(request, f"{display_name(changed.user)} is now {changed.get_role_display().lower()}.")
    except MembershipError as error:
        messages.error(request, str(error))
    return redirect("members", project.pk)


@login_required
@require_POST
def member_remove(request: HttpRequest, project_id: int, membership_id: int) -> HttpResponse:
    project, _role = project_for(request.user, project_id, Role.MANAGER)
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, project=project)
    try:
        members.remove_member(membership=membership, actor=request.user)
        messages.success(request, f"Removed {display_name(membership.user)}. Their annotations stay in the project.")
    except MembershipError as error:
        messages.error(request, str(error))
    return redirect("members", project.pk)


urlpatterns = [
    path("projects/<int:project_id>/members/", members_page, name="members"),
    path("projects/<int:project_id>/members/add/", member_add, name="member-add"),
    path("projects/<int:project_id>/members/<int:membership_id>/role/", member_role, name="member-role"),
    path("projects/<int:project_id>/members/<int:membership_id>/remove/", member_remove, name="member-remove"),
]
