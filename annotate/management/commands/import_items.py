"""manage.py import_items PROJECT FILE --format FORMAT: the API import (every import format), from the shell."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotate.dataset.importers import FORMATS, UNTICKED_CHOICES, ImportFailed, ImportOptions, import_file
from annotate.models import Project
from annotate.text import is_whole_number


def find_project(ref: str) -> Project:
    """A project by id or by exact name."""
    project = Project.objects.filter(pk=int(ref)).first() if is_whole_number(ref) else None
    project = project or Project.objects.filter(name=ref).first()
    if project is None:
        raise CommandError(f"No project with id or name {ref!r}.")
    return project


class Command(BaseCommand):
    help = "Import items (and their annotations) from JSONL, CSV, Label Studio, doccano or Prodigy. All or nothing."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("project", help="Project id or name.")
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=FORMATS, required=True)
        parser.add_argument("--update", action="store_true", help="Update items whose external id exists.")
        parser.add_argument("--unticked", choices=UNTICKED_CHOICES, default="unobserved", help="Label Studio only.")
        parser.add_argument("--create-annotators", action="store_true", help="Create unknown annotators.")
        parser.add_argument(
            "--annotator-map",
            default="",
            help="Label Studio only: completed_by ids or emails to usernames, e.g. 7:ann1,9:ann2.",
        )
        parser.add_argument(
            "--annotator", default="", help="doccano (and Prodigy without _annotator_id): who answered."
        )
        parser.add_argument("--text-key", default="", help="Label Studio only: the data key that holds the text.")
        parser.add_argument(
            "--choices-control", default="", help="Label Studio only: the choices control whose ticks are labels."
        )
        parser.add_argument("--user", default="", help="Username recorded as the actor in the audit trail.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = find_project(options["project"])
        actor = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        pairs = [pair.split(":", 1) for pair in options["annotator_map"].split(",") if pair]
        if any(len(pair) != 2 for pair in pairs):
            raise CommandError("--annotator-map takes id:username pairs separated by commas, e.g. 7:ann1,9:ann2.")
        mapping = dict(pairs)
        import_options = ImportOptions(
            format=options["format"],
            update=options["update"],
            unticked=options["unticked"],
            create_annotators=options["create_annotators"],
            annotator_map={str(key): str(value) for key, value in mapping.items()},
            text_key=options["text_key"],
            choices_control=options["choices_control"],
            annotator=options["annotator"],
        )
        try:
            with options["file"].open("rb") as stream:
                result = import_file(project=project, stream=stream, options=import_options, actor=actor)
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {options['file']}") from exc
        except ImportFailed as failure:
            for error in failure.errors:
                self.stderr.write(f"{error.where() or 'the file'}: {error.message}")
            raise CommandError(f"{failure.total} error(s); nothing was imported.") from None
        self.stdout.write(self.style.SUCCESS(json.dumps(result.as_dict())))
