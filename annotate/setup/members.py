"""Project membership: add a user with a role, change the role, remove them. Each writes one audit event.

A project always keeps at least one manager, so nobody can lock a team out of
its own label set and members page (a superuser could still get in, but a
team should not need one).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from annotate.models import Membership, Project, Role, record_audit
from annotate.text import hidden_in_name, login_name, quoted
from annotate.work.queue import release_leases


class MembershipError(ValueError):
    """A membership change that cannot be done as asked; the message is for the user."""


class UnknownUser(MembershipError):
    """No account has the name given: bad input (the API's 400), not a conflict with the project's state."""


def _state(membership: Membership) -> dict[str, Any]:
    return {"user": membership.user.get_username(), "user_id": membership.user_id, "role": membership.role}


def _check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise MembershipError(f"Unknown role {quoted(str(role))}.") from None


def _keeps_a_manager(membership: Membership, new_role: str | None) -> None:
    if membership.role != Role.MANAGER or new_role == Role.MANAGER:
        return
    others = Membership.objects.filter(project_id=membership.project_id, role=Role.MANAGER).exclude(pk=membership.pk)
    if not others.exists():
        raise MembershipError("A project needs at least one manager: make someone else a manager first.")


def add_member(*, project: Project, username: str, role: str, actor: Any) -> Membership:
    role = _check_role(role)
    username = login_name(username)
    # A user name never holds such a character (and PostgreSQL cannot even compare a NUL).
    user = None if hidden_in_name(username) else get_user_model().objects.filter(username=username).first()
    if user is None:
        raise UnknownUser(f"There is no user called {quoted(username)}.")
    with transaction.atomic():
        if Membership.objects.filter(project=project, user=user).exists():
            raise MembershipError(f"{user.get_username()} is already a member; change their role instead.")
        membership = Membership.objects.create(project=project, user=user, role=role)
        record_audit(
            action="member.add", actor=actor, project=project, obj=membership, before=None, after=_state(membership)
        )
    return membership


def change_role(*, membership: Membership, role: str, actor: Any) -> Membership:
    role = _check_role(role)
    with transaction.atomic():
        locked = Membership.objects.select_for_update().select_related("user", "project").get(pk=membership.pk)
        if locked.role == role:
            return locked
        _keeps_a_manager(locked, role)
        before = _state(locked)
        Membership.objects.filter(pk=locked.pk).update(role=role)
        locked.role = role
        record_audit(
            action="member.role", actor=actor, project=locked.project, obj=locked, before=before, after=_state(locked)
        )
    return locked


def remove_member(*, membership: Membership, actor: Any) -> None:
    """Remove a member. Their annotations stay: they are the project's data, not the member's."""
    with transaction.atomic():
        locked = Membership.objects.select_for_update().select_related("user", "project").get(pk=membership.pk)
        _keeps_a_manager(locked, None)
        before = _state(locked)
        record_audit(action="member.remove", actor=actor, project=locked.project, obj=locked, before=before, after=None)
        locked.delete()
        # Items they held go back to the pool now, not when the leases expire.
        release_leases(annotator=locked.user, project=locked.project)
