"""People: accounts a manager creates, one-time links to set a password, deactivation.

A one-time link is Django's password-reset link: its token is made by
``PasswordResetTokenGenerator`` from the account's password hash and last
login, so it stops working once the password is set (single use) and after
``PASSWORD_RESET_TIMEOUT`` seconds (limited validity). The link itself is
never stored or audited; only the fact that one was issued is.

A manager may act on a person only if every project the person is in is one
the manager manages, and the person is not staff: otherwise a manager of one
small project could take over (by issuing a password link) the account of a
manager elsewhere or of an admin. Superusers may act on anyone but themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from annotate.models import Membership, Project, Role, record_audit
from annotate.setup.members import MembershipError, add_member
from annotate.text import text_problem, username_problem
from annotate.work.queue import release_leases

NAME_MAX_CHARS = 150


class AccountError(ValueError):
    """An account change that cannot be done as asked; ``field`` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PasswordLink:
    user: Any
    path: str
    emailed: bool


def display_name(user: Any) -> str:
    """How people appear in pages: their full name, else their username. Exports keep usernames."""
    if user is None:
        return ""
    return user.get_full_name().strip() or user.get_username()


def display_names(user_ids: Iterable[int]) -> dict[int, str]:
    """{user id: the name pages show} for many people in one query; an unknown id is left out."""
    wanted = list(set(user_ids))
    users = get_user_model().objects.in_bulk(wanted) if wanted else {}
    return {user_id: display_name(user) for user_id, user in users.items()}


def email_configured() -> bool:
    return bool(getattr(settings, "EMAIL_CONFIGURED", False))


def may_manage_person(*, actor: Any, person: Any) -> bool:
    """Whether ``actor`` may issue a password link for, deactivate or reactivate ``person``."""
    if not actor.is_authenticated or actor.pk == person.pk:
        return False
    if actor.is_superuser:
        return True
    if person.is_superuser or person.is_staff:
        return False
    projects = set(Membership.objects.filter(user=person).values_list("project_id", flat=True))
    managed = set(
        Membership.objects.filter(user=actor, role=Role.MANAGER, project_id__in=projects).values_list(
            "project_id", flat=True
        )
    )
    return bool(projects) and projects == managed


def _refuse_unless_manageable(actor: Any, person: Any) -> None:
    if actor.is_authenticated and actor.pk == person.pk:
        raise AccountError(
            "Nobody acts on their own account here: change your password from the menu (your name), "
            "and ask another manager or an admin for the rest."
        )
    if not may_manage_person(actor=actor, person=person):
        raise AccountError(
            f"{display_name(person)} is also in projects you do not manage (or is an admin); ask an admin instead."
        )


def password_link_path(user: Any) -> str:
    """The path of a fresh one-time link to set the account's password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


def _send_link(*, user: Any, url: str, project: Project) -> bool:
    if not (email_configured() and user.email):
        return False
    send_mail(
        subject=f"Your Tagwise account for {project.name}",
        message=(
            f"Hello {display_name(user)},\n\nSet your password with this link (it works once, "
            f"for {settings.PASSWORD_RESET_TIMEOUT // 3600} hours):\n\n{url}\n\n"
            f"Your user name is {user.get_username()}.\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )
    return True


def create_person(
    *, project: Project, actor: Any, username: str, full_name: str, email: str, role: str, base_url: str
) -> PasswordLink:
    """Create an account without a password, add it to the project, and return a one-time link to set one.

    ``base_url`` (scheme and host) makes the link absolute for the e-mail,
    which is sent only if e-mail is configured and an address was given.
    """
    User = get_user_model()
    username = username.strip()
    full_name = " ".join(full_name.split())
    email = email.strip()
    if not username:
        raise AccountError("A person needs a user name to log in with.", field="username")
    if problem := username_problem(username):
        raise AccountError(problem[0].upper() + problem[1:] + ".", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError(
            f"There is already an account called “{username}”: add it as a member by user name instead.",
            field="username",
        )
    if problem := text_problem(full_name, what="The name", max_chars=NAME_MAX_CHARS * 2, name=True):
        # A name shows in members lists, the audit trail and reviews: it must say what it reads as.
        raise AccountError(problem, field="full_name")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise AccountError("This is not an e-mail address.", field="email") from None
    first, _, last = full_name.partition(" ")
    with transaction.atomic():
        user = User(username=username, first_name=first[:NAME_MAX_CHARS], last_name=last[:NAME_MAX_CHARS], email=email)
        user.set_unusable_password()
        user.save()
        try:
            add_member(project=project, username=username, role=role, actor=actor)
        except MembershipError as error:
            raise AccountError(str(error), field="role") from None
        record_audit(
            action="person.create",
            actor=actor,
            project=project,
            obj=user,
            after={"user": username, "name": full_name, "email": email, "role": role},
        )
    path = password_link_path(user)
    emailed = _send_link(user=user, url=base_url + path, project=project)
    return PasswordLink(user=user, path=path, emailed=emailed)


def issue_password_link(*, person: Any, actor: Any, project: Project, base_url: str) -> PasswordLink:
    """A new one-time link for a person who forgot their password (or never set it)."""
    _refuse_unless_manageable(actor, person)
    if not person.is_active:
        raise AccountError(f"{display_name(person)} is deactivated; reactivate them first.")
    record_audit(
        action="person.password_link", actor=actor, project=project, obj=person, after={"user": person.username}
    )
    path = password_link_path(person)
    emailed = _send_link(user=person, url=base_url + path, project=project)
    return PasswordLink(user=person, path=path, emailed=emailed)


def deactivate_person(*, person: Any, actor: Any) -> int:
    """Stop a person from logging in, and give back the items they hold; returns the leases released.

    Their answers stay: they are the projects' data. Their memberships stay
    too, so a reactivated person finds their projects again. One audit event
    per project they are in, so each project's trail shows it.
    """
    _refuse_unless_manageable(actor, person)
    User = get_user_model()
    released = 0
    with transaction.atomic():
        if not User.objects.filter(pk=person.pk, is_active=True).update(is_active=False):
            return 0
        person.is_active = False
        for membership in Membership.objects.filter(user=person).select_related("project"):
            released += release_leases(annotator=person, project=membership.project)
            record_audit(
                action="person.deactivate",
                actor=actor,
                project=membership.project,
                obj=person,
                before={"user": person.username, "active": True},
                after={"user": person.username, "active": False},
            )
    return released


def reactivate_person(*, person: Any, actor: Any) -> bool:
    _refuse_unless_manageable(actor, person)
    User = get_user_model()
    with transaction.atomic():
        if not User.objects.filter(pk=person.pk, is_active=False).update(is_active=True):
            return False
        person.is_active = True
        for membership in Membership.objects.filter(user=person).select_related("project"):
            record_audit(
                action="person.reactivate",
                actor=actor,
                project=membership.project,
                obj=person,
                before={"user": person.username, "active": False},
                after={"user": person.username, "active": True},
            )
    return True
