"""manage.py remove_personal_data USERNAME [--user ACTOR] [--yes]: pseudonymise a person, keeping their answers."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotate.setup.privacy import may_remove, remove_personal_data
from annotate.text import is_whole_number


class Command(BaseCommand):
    help = (
        "Replace a person's username, names and e-mail with a pseudonym and close their account; "
        "their annotations stay, attributed to the pseudonym (docs/security.md)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username", help="The person's username (or their user id).")
        parser.add_argument("--user", default="", help="Username recorded as the actor in the audit trail.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        name = options["username"]
        by_id = users.filter(pk=name).first() if is_whole_number(name) else None
        person = users.filter(username=name).first() or by_id
        if person is None:
            raise CommandError(f"There is no user {name!r}.")
        actor = None
        if options["user"]:
            actor = users.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"There is no user {options['user']!r} to record as the actor.")
            # The actor named is held to the page's rule (docs/security.md): an
            # admin removes anyone but themselves, a manager only their own people.
            if not may_remove(actor=actor, person=person):
                raise CommandError(
                    f"{actor.get_username()} may not remove {person.get_username()}: an admin removes anyone but "
                    "themselves, a manager only people who belong to projects they manage. Nothing was changed."
                )
        if person.is_superuser and not users.filter(is_superuser=True, is_active=True).exclude(pk=person.pk).exists():
            raise CommandError(
                f"{person.get_username()} is the only active admin; create another first "
                "(manage.py createsuperuser). Nothing was changed."
            )
        if not options["yes"]:
            answer = input(f"Remove the personal data of {person.get_username()} (id {person.pk})? Type yes: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Nothing was changed.")
        new_name = remove_personal_data(person=person, actor=actor)
        self.stdout.write(f"{name} is now {new_name}; their annotations are kept under that name.")
