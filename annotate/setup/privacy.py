"""Removing a person's personal data while their answers stay, under a pseudonym (docs/security.md).

The account row stays, because every annotation, resolution and audit event
points at it: agreement figures, consensus and exports keep counting the
person's answers as one annotator's. What identified the person goes: the
username becomes ``PSEUDONYM_PREFIX`` + the account's id (stable, and
meaningless outside this database), the names and the e-mail address are
emptied, the account can no longer log in, its API tokens and held items are
released, and the login throttle's records of its attempts are deleted.

Earlier audit events that named the person (membership changes record the
username, the account's creation its full name and e-mail) have the
username, the full name and the e-mail address replaced by the pseudonym,
wherever one is a whole value or a key; in the events about the account
itself the ``name`` and ``email`` fields are emptied whatever they hold (a
name given at creation may since have changed). This is the one rewrite the
append-only trail allows, and it is itself recorded, with the pseudonym and
the number of events rewritten, never the old name.
"""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from knox.models import AuthToken

from annotate.models import AuditEvent, Lease, Membership, Role, record_audit

PSEUDONYM_PREFIX = "removed-"


class PrivacyError(ValueError):
    """A removal that cannot be done as asked; the message is for the user."""


def pseudonym(user: Any) -> str:
    return f"{PSEUDONYM_PREFIX}{user.pk}"


def is_removed(user: Any) -> bool:
    return user.get_username() == pseudonym(user)


def may_remove(*, actor: Any, person: Any) -> bool:
    """A site admin may remove anyone but themselves; a manager, a non-admin who belongs only to projects they manage.

    A person who also works in a project the actor does not manage is not
    the actor's to remove: that project's managers would lose a named member.
    """
    if person.pk == actor.pk:
        return False
    if actor.is_superuser or actor.is_staff:
        return True
    if person.is_staff or person.is_superuser:
        return False
    projects = set(Membership.objects.filter(user=person).values_list("project_id", flat=True))
    managed = set(Membership.objects.filter(user=actor, role=Role.MANAGER).values_list("project_id", flat=True))
    return bool(projects) and projects <= managed


def shares_a_project(actor: Any, person: Any) -> bool:
    projects = Membership.objects.filter(user=actor).values("project_id")
    return Membership.objects.filter(user=person, project_id__in=projects).exists()


# The fields of the events about an account that hold what identified the person.
PERSONAL_FIELDS = ("name", "email")


def _replace(value: Any, old: set[str], new: str) -> Any:
    """``value`` (decoded JSON) with every string, value or key, equal to one of ``old`` replaced by ``new``."""
    if isinstance(value, str):
        return new if value in old else value
    if isinstance(value, list):
        return [_replace(entry, old, new) for entry in value]
    if isinstance(value, dict):
        return {_replace(key, old, new): _replace(entry, old, new) for key, entry in value.items()}
    return value


def _without_personal_fields(value: Any) -> Any:
    """An event's ``before`` or ``after`` about the account itself, its personal fields emptied."""
    if not isinstance(value, dict):
        return value
    return {key: "" if key in PERSONAL_FIELDS and entry else entry for key, entry in value.items()}


def remove_personal_data(*, person: Any, actor: Any) -> str:
    """Replace ``person``'s identifying data with a pseudonym, keeping their answers; return the pseudonym.

    The caller checks ``may_remove``. Removing an already removed person
    changes nothing and records nothing.
    """
    with transaction.atomic():
        person = get_user_model().objects.select_for_update().get(pk=person.pk)
        new_name = pseudonym(person)
        if is_removed(person) and not (person.email or person.first_name or person.last_name):
            return new_name
        old = {value for value in (person.get_username(), person.email, person.get_full_name().strip()) if value}

        person.username = new_name
        person.first_name = person.last_name = person.email = ""
        person.is_active = person.is_staff = person.is_superuser = False
        person.last_login = None
        # An unusable password also ends every session: Django checks each
        # session against a hash of the password.
        person.set_unusable_password()
        person.save()
        AuthToken.objects.filter(user=person).delete()
        Lease.objects.filter(annotator=person).delete()
        AccessAttempt.objects.filter(username__in=old).delete()
        AccessFailureLog.objects.filter(username__in=old).delete()
        AccessLog.objects.filter(username__in=old).delete()

        about_person = Q(object_type=person._meta.label, object_id=str(person.pk))
        named = about_person
        for value in old:
            named |= Q(before__icontains=value) | Q(after__icontains=value)
        rewritten = 0
        # The trail's own QuerySet refuses updates; this deliberate exception
        # goes through the base manager and is recorded just below.
        for event in AuditEvent.objects.filter(named).only("pk", "object_type", "object_id", "before", "after"):
            before, after = _replace(event.before, old, new_name), _replace(event.after, old, new_name)
            if (event.object_type, event.object_id) == (person._meta.label, str(person.pk)):
                before, after = _without_personal_fields(before), _without_personal_fields(after)
            if (before, after) != (event.before, event.after):
                AuditEvent._base_manager.filter(pk=event.pk).update(before=before, after=after)
                rewritten += 1
        record_audit(
            action="person.personal_data_removed",
            actor=actor,
            obj=person,
            after={"pseudonym": new_name, "audit_events_rewritten": rewritten},
        )
    return new_name
