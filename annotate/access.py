"""Per-project permission checks shared by the HTML views and the API.

A user who is not a member of a project gets 404 for anything in it, so the
existence of other teams' projects does not leak. A member whose role is too
low for the page gets 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404

from annotate.models import ROLE_RANK, Membership, Project, Role


def role_allows(role: str | None, minimum: str) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


def project_for(user: Any, project_id: int, minimum: str = Role.ANNOTATOR) -> tuple[Project, str]:
    """Return the project and the user's role in it, or raise 404 / 403.

    One query: the role comes with the project as a subquery, because every
    page and every submit starts here.
    """
    role: str | None = None
    if user.is_authenticated:
        member_role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
        project = Project.objects.filter(pk=project_id).annotate(member_role=Subquery(member_role)).first()
        if project is not None:
            role = Role.MANAGER if user.is_superuser else project.member_role
    if role is None:
        raise Http404("No such project.")
    if not role_allows(role, minimum):
        raise PermissionDenied(f"This page needs the {minimum} role in {project.name}.")
    return project, role
