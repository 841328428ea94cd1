"""Checking parsed rows against the project: labels, annotators, guideline versions, external ids."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from django.contrib.auth import get_user_model
from django.utils.text import Truncator

from annotate.dataset.importers.base import (
    WRITE_BATCH,
    AnnotatorRef,
    Errors,
    ImportFailed,
    ImportOptions,
    Notes,
    ParsedAnnotation,
    ParsedItem,
    RowError,
)
from annotate.dataset.importers.csv_reader import read_csv
from annotate.dataset.importers.doccano import read_doccano
from annotate.dataset.importers.jsonl import read_jsonl
from annotate.dataset.importers.labelstudio import read_labelstudio
from annotate.dataset.importers.prodigy import read_prodigy
from annotate.dataset.importers.validate import JSON_SPELLING
from annotate.models import GuidelineVersion, Item, Project
from annotate.text import username_problem


@dataclass
class _Person:
    user_id: int | None
    username: str
    email: str = ""
    needs_membership: bool = False


class Checker:
    """Checks parsed rows against the project and remembers what the writer needs."""

    def __init__(self, project: Project, options: ImportOptions, errors: Errors) -> None:
        self.project = project
        self.options = options
        self.errors = errors
        self.labels = {
            label.name: label for label in project.labels.select_related("merged_into", "introduced_in", "retired_in")
        }
        # A name in the file matches a label whatever its case and surrounding
        # space ("Shipping " is shipping), unless two labels differ only in case.
        folded: dict[str, list[str]] = {}
        for name in self.labels:
            folded.setdefault(name.strip().casefold(), []).append(name)
        self.folded = {key: names[0] for key, names in folded.items() if len(names) == 1}
        # What the reader counted beside the answers (ImportResult.notes).
        self.notes: Notes = Counter()
        # Per label name: the name it was merged into (or None) and the
        # guideline versions that introduced and retired it (or None), read
        # once instead of through the related objects for each of hundreds of
        # thousands of answers.
        self.label_rules = {
            name: (
                label.merged_into.name if label.merged_into_id is not None else None,
                label.introduced_in.number if label.introduced_in is not None else None,
                label.retired_in.number if label.retired_in is not None else None,
            )
            for name, label in self.labels.items()
        }
        self.versions = dict(
            GuidelineVersion.objects.filter(project=project, published_at__isnull=False).values_list("number", "pk")
        )
        current = project.current_guideline()
        self.current_version = current.number if current else None
        self.existing = dict(Item.objects.filter(project=project).values_list("external_id", "pk"))
        self.seen: dict[str, int] = {}
        self.people: dict[AnnotatorRef, _Person | None] = {}
        self.member_ids = set(project.memberships.values_list("user_id", flat=True))

    def check(self, item: ParsedItem) -> bool:
        ok = True
        line = item.line
        if item.external_id in self.seen:
            self.errors.add(
                line,
                "external_id",
                f"duplicate external id '{item.external_id}' (first on line {self.seen[item.external_id]})",
            )
            ok = False
        else:
            self.seen[item.external_id] = line
        if item.external_id in self.existing and not self.options.update:
            self.errors.add(
                line,
                "external_id",
                f"external id '{item.external_id}' already exists; import with update=true to update it",
            )
            ok = False
        annotators: set[str] = set()
        for annotation in item.annotations:
            line = annotation.line or item.line
            where = annotation.where
            spelling = annotation.spelling or JSON_SPELLING
            person = self._person(annotation.annotator, line, spelling.name(where, "annotator"))
            if person is None:
                ok = False
            else:
                annotation.user_key = person.username
                if person.username in annotators:
                    self.errors.add(
                        line,
                        spelling.name(where, "annotator"),
                        f"{annotation.annotator.describe()} annotates this item twice",
                    )
                    ok = False
                annotators.add(person.username)
            ok = self._check_version(annotation, line, where) and ok
            ok = self._check_labels(annotation, line, where) and ok
        return ok

    def _check_version(self, annotation: ParsedAnnotation, line: int, where: str) -> bool:
        if annotation.guideline_version is None:
            annotation.guideline_version = self.current_version
        if annotation.guideline_version is None:
            return True
        version_id = self.versions.get(annotation.guideline_version)
        if version_id is None:
            spelling = annotation.spelling or JSON_SPELLING
            self.errors.add(
                line,
                spelling.name(where, "guideline_version"),
                f"version {annotation.guideline_version} is not a published guideline",
            )
            return False
        annotation.version_id = version_id
        return True

    def _check_labels(self, annotation: ParsedAnnotation, line: int, where: str) -> bool:
        ok = True
        version = annotation.guideline_version
        renamed: dict[str, str] = {}
        for name in annotation.answers:
            rule = self.label_rules.get(name)
            if rule is None and (known := self.folded.get(name.strip().casefold())) is not None:
                renamed[name] = known
                rule = self.label_rules[known]
            if rule is not None:
                merged_into, introduced, retired = rule
                asked = (introduced is None or version is None or introduced <= version) and (
                    retired is None or (version is not None and version < retired)
                )
                if merged_into is None and asked:
                    continue
            spot = (annotation.label_spots or {}).get(name) or (annotation.spelling or JSON_SPELLING).label(where, name)
            if rule is None:
                self.errors.add(line, spot, f"unknown label '{name}'{self._did_you_mean(name)}")
            elif merged_into is not None:
                self.errors.add(line, spot, f"label '{name}' was merged into '{merged_into}'; use that")
            elif retired is not None and (version is None or version >= retired):
                self.errors.add(
                    line,
                    spot,
                    f"label '{name}' was retired in guideline version {retired}; "
                    "only answers given under earlier versions can be imported",
                )
            else:
                self.errors.add(
                    line,
                    spot,
                    f"label '{name}' was introduced in guideline version {introduced}, "
                    f"after this annotation's version {version}",
                )
            ok = False
        if renamed and ok:
            ok = self._rename(annotation, renamed, line, where)
        return ok

    def _rename(self, annotation: ParsedAnnotation, renamed: dict[str, str], line: int, where: str) -> bool:
        """Give answers the project's spelling of their label; two spellings of one label are an error."""
        answers: dict[str, tuple[int, float | None]] = {}
        for name, answer in annotation.answers.items():
            label = renamed.get(name, name)
            if label in answers:
                spot = (annotation.label_spots or {}).get(name) or (annotation.spelling or JSON_SPELLING).label(
                    where, name
                )
                self.errors.add(line, spot, f"answers the label '{label}' twice (spelled differently)")
                return False
            answers[label] = answer
        annotation.answers = answers
        return True

    def _did_you_mean(self, name: str) -> str:
        """A hint naming the closest label, for a typo such as 'shiping'."""
        close = difflib.get_close_matches(name.strip().casefold(), list(self.folded), n=1, cutoff=0.6)
        return f"; did you mean '{self.folded[close[0]]}'?" if close else ""

    def _person(self, ref: AnnotatorRef, line: int, where: str) -> _Person | None:
        if ref not in self.people:
            self.people[ref] = self._find_person(ref)
        person = self.people[ref]
        if person is None:
            self.errors.add(
                line, where, f"unknown annotator: {ref.describe()} (import with create_annotators=true to create them)"
            )
        elif person.user_id is None and (problem := _account_problem(person)):
            # A new account gets the name as its username, which must follow
            # Django's rules to be used anywhere else (login, admin, API filters).
            self.errors.add(
                line,
                where,
                f"cannot create the annotator '{Truncator(person.username).chars(60)}': {problem} "
                "(map it to an existing user, or rename it in the file)",
            )
            return None
        elif person.needs_membership and not self.options.create_annotators:
            self.errors.add(line, where, f"{ref.describe()} is not a member of this project")
            return None
        return person

    def _find_person(self, ref: AnnotatorRef) -> _Person | None:
        users = get_user_model().objects
        user = None
        mapped = self.options.annotator_map.get(ref.labelstudio_id or ref.email or ref.username)
        if mapped:
            user = users.filter(username=mapped).first()
            ref = AnnotatorRef(username=mapped)
        elif ref.labelstudio_id:
            # The account an earlier import created for this Label Studio
            # user is reused, so one person stays one annotator.
            user = users.filter(username=labelstudio_username(ref.labelstudio_id)).first()
        elif ref.email:
            matches = list(users.filter(email__iexact=ref.email)[:2])
            user = matches[0] if len(matches) == 1 else users.filter(username=ref.email).first()
        else:
            user = users.filter(username=ref.username).first()
        if user is not None:
            member = user.pk in self.member_ids or user.is_superuser
            return _Person(user_id=user.pk, username=user.get_username(), needs_membership=not member)
        if not self.options.create_annotators:
            return None
        username = ref.username or ref.email or labelstudio_username(ref.labelstudio_id)
        return _Person(user_id=None, username=username, email=ref.email, needs_membership=True)


def read_and_check(
    *, project: Project, stream: IO[bytes], options: ImportOptions, progress: Callable[[int], None] | None = None
) -> tuple[list[ParsedItem], Checker]:
    """Parse and validate the whole file; raise ImportFailed with the errors, or return the rows."""
    errors = Errors()
    checker = Checker(project, options, errors)
    rows: Iterable[ParsedItem]
    if options.format == "jsonl":
        rows = read_jsonl(stream, errors)
    elif options.format == "csv":
        rows = read_csv(stream, errors)
    elif options.format == "doccano":
        rows = read_doccano(stream, errors, unticked=options.unticked, annotator=options.annotator)
    elif options.format == "prodigy":
        rows = read_prodigy(stream, errors, annotator=options.annotator)
    else:
        rows = read_labelstudio(
            stream,
            errors,
            checker.notes,
            unticked=options.unticked,
            text_key=options.text_key,
            choices_control=options.choices_control,
        )
    items: list[ParsedItem] = []
    for count, item in enumerate(rows, start=1):
        if checker.check(item):
            items.append(item)
        if progress is not None and count % WRITE_BATCH == 0:
            progress(count)
    if errors.total:
        raise ImportFailed(sorted(errors.kept, key=lambda error: error.line), errors.total)
    if not items:
        raise ImportFailed([RowError(line=0, field="", message="the file holds no items")], 1)
    return items, checker


def _account_problem(person: _Person) -> str:
    """Why an import cannot create an account for this person ("" when it can).

    A name too long for the username column is refused, never cut: a cut
    name could merge two people, or clash with the account an earlier
    import created.
    """
    email_max = get_user_model()._meta.get_field("email").max_length or 254
    if problem := username_problem(person.username):
        return problem
    if len(person.email) > email_max:
        return f"an e-mail address has at most {email_max} characters; this one has {len(person.email)}"
    return ""


def labelstudio_username(labelstudio_id: object) -> str:
    """The username an import gives a Label Studio user it creates, and finds again on later imports."""
    return f"labelstudio-{labelstudio_id}"
