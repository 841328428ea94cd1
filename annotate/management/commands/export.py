"""manage.py export PROJECT --format jsonl|csv|parquet [filters] [-o FILE]: the API export, from the shell."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from annotate.dataset.export import FORMATS, SPLITS, ExportError, ExportOptions, PredictionsUnavailable, export_stream
from annotate.management.commands.import_items import find_project


class Command(BaseCommand):
    help = "Export a project's items with their consensus labels (null where unobserved), streamed."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("project", help="Project id or name.")
        parser.add_argument("--format", choices=FORMATS, default="jsonl")
        parser.add_argument("-o", "--output", default="-", help="File to write; '-' (the default) is stdout.")
        parser.add_argument("--resolved-only", action="store_true")
        parser.add_argument("--min-agreement", type=float)
        parser.add_argument("--guideline-version", type=int)
        parser.add_argument("--annotated-after", help="ISO 8601 date and time.")
        parser.add_argument("--labels", default="", help="Comma-separated label names.")
        parser.add_argument("--split", choices=SPLITS)
        parser.add_argument("--test-size", type=float, default=0.2)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--include-judgments", action="store_true")
        parser.add_argument("--predictions", action="store_true", help="Add the latest ready model version's scores.")
        parser.add_argument(
            "--no-formula-escaping",
            action="store_true",
            help="CSV: write text and metadata as stored, without the quote that stops spreadsheets running formulas.",
        )
        parser.add_argument("--user", default="", help="Username recorded as the actor in the audit trail.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = find_project(options["project"])
        after = None
        if options["annotated_after"]:
            after = parse_datetime(options["annotated_after"])
            if after is None:
                raise CommandError("--annotated-after must be an ISO 8601 date and time.")
        actor = get_user_model().objects.filter(username=options["user"]).first() if options["user"] else None
        try:
            export_options = ExportOptions(
                format=options["format"],
                resolved_only=options["resolved_only"],
                min_agreement=options["min_agreement"],
                guideline_version=options["guideline_version"],
                annotated_after=after,
                labels=tuple(name.strip() for name in options["labels"].split(",") if name.strip()),
                split=options["split"],
                test_size=options["test_size"],
                seed=options["seed"],
                include_judgments=options["include_judgments"],
                predictions=options["predictions"],
                escape_formulas=not options["no_formula_escaping"],
            )
            stream = export_stream(project=project, options=export_options, actor=actor)
        except PredictionsUnavailable as exc:
            raise CommandError(f"--predictions: {exc}") from exc
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        if options["output"] == "-":
            out = sys.stdout.buffer
            for part in stream:
                out.write(part)
            out.flush()
            return
        # Written beside the target and renamed at the end, so a failure never
        # leaves a partial or empty file under the name asked for.
        target = Path(options["output"])
        partial = target.with_name(f".{target.name}.partial")
        try:
            with partial.open("wb") as out:
                for part in stream:
                    out.write(part)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        self.stderr.write(self.style.SUCCESS(f"Wrote {options['output']}"))
