"""A project's life: create it (with its labels and a first guideline), clone it, archive it, delete it.

Each action is one transaction with one audit event. Creating and cloning
check every input before anything is written, so bad input creates nothing.
Deleting writes its audit event at site level (no project), so the record
outlives the project (docs/projects.md).
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from annotate.models import Annotation, GuidelineVersion, Label, Membership, Project, Role, record_audit
from annotate.setup.guidelines import GuidelineError, publish_guideline, refuse_unstorable
from annotate.setup.labelset import (
    LABEL_DESCRIPTION_MAX_CHARS as LABEL_DESCRIPTION_MAX_CHARS,  # Read from here by the serializers.
)
from annotate.setup.labelset import (
    LABEL_NAME_MAX_CHARS as LABEL_NAME_MAX_CHARS,
)
from annotate.setup.labelset import LabelSetError, _check_key, palette_color
from annotate.setup.project_settings import (
    CHANGEABLE,
    DESCRIPTION_MAX_CHARS,
    ProjectSettingsError,
    check_name,
    check_settings,
)
from annotate.setup.project_settings import (
    NAME_MAX_CHARS as NAME_MAX_CHARS,  # Read from here by the forms and serializers.
)
from annotate.text import hidden_in_name, quoted, text_problem

MAX_LABELS = 500
# A Label Studio config is a few kilobytes; this bounds the parser's work.
LABEL_CONFIG_MAX_CHARS = 200_000
FIRST_CHANGELOG = "First version."
# The permission that lets a user create projects (docs/projects.md). Django
# creates it with the Project model; superusers have every permission.
CREATE_PERMISSION = "annotate.add_project"
CREATE_REFUSED = (
    "Creating projects needs the permission “Can add project” (annotate.add_project), which a site admin grants."
)


class ProjectError(ValueError):
    """A project change that cannot be done as asked; ``field`` names the input at fault, for the form."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LabelSpec:
    """A label of a new project, before it exists."""

    name: str
    description: str = ""
    color: str = ""  # "": the palette's, by the label's place (labelset.palette_color)
    shortcut_key: str = ""


def may_create_projects(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm(CREATE_PERMISSION))


# ---------------------------------------------------------------------------
# Reading a label set
# ---------------------------------------------------------------------------


def parse_label_lines(text: str) -> list[LabelSpec]:
    """One label per line, optionally ``name: description``; blank lines are ignored."""
    specs = []
    for line in text.splitlines():
        name, _, description = line.partition(":")
        if name.strip():
            specs.append(LabelSpec(name=name.strip(), description=description.strip()))
        elif description.strip():
            raise ProjectError(f"The line {quoted(line.strip())} has a description but no label name.", field="labels")
    return specs


def parse_label_studio_config(text: str) -> list[LabelSpec]:
    """The labels of a Label Studio labelling config: every ``<Choice>`` inside a ``<Choices>``.

    Parsed with expat directly, refusing any document type declaration: a
    labelling config never has one, and refusing it rules out entity
    expansion attacks (billion laughs, external entities) without defusedxml.
    A Choice's ``hint`` becomes the label's description.
    """
    if len(text) > LABEL_CONFIG_MAX_CHARS:
        raise ProjectError(f"The labelling config is over {LABEL_CONFIG_MAX_CHARS:,} characters.", field="labels")
    specs: list[LabelSpec] = []
    depth_in_choices = 0

    def refuse_doctype(*args: Any) -> None:
        raise ProjectError("The labelling config may not contain a <!DOCTYPE> or entities.", field="labels")

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal depth_in_choices
        if tag == "Choices":
            depth_in_choices += 1
        elif tag == "Choice" and depth_in_choices:
            value = attributes.get("value", attributes.get("alias", "")).strip()
            if not value:
                raise ProjectError("A <Choice> in the labelling config has no value.", field="labels")
            specs.append(LabelSpec(name=value, description=attributes.get("hint", "").strip()))

    def end(tag: str) -> None:
        nonlocal depth_in_choices
        if tag == "Choices":
            depth_in_choices -= 1

    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.ExternalEntityRefHandler = refuse_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(text, True)
    except xml.parsers.expat.ExpatError as error:
        raise ProjectError(f"The labelling config is not valid XML: {error}.", field="labels") from None
    if not specs:
        raise ProjectError("The labelling config has no <Choice> inside a <Choices>.", field="labels")
    return specs


def parse_labels(text: str) -> list[LabelSpec]:
    """A pasted label set: a Label Studio config if it starts with "<", else one label per line."""
    if text.lstrip().startswith("<"):
        return parse_label_studio_config(text)
    return parse_label_lines(text)


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def _check_name(name: str) -> str:
    """A new project's name; a rename checks the same rules (annotate/setup/project_settings.py ``check_name``)."""
    try:
        return check_name(name)
    except ProjectSettingsError as error:
        raise ProjectError(str(error), field="name") from None


def _check_labels(specs: Sequence[LabelSpec]) -> list[LabelSpec]:
    if len(specs) > MAX_LABELS:
        raise ProjectError(f"A project has at most {MAX_LABELS} labels; this set has {len(specs)}.", field="labels")
    seen: dict[str, str] = {}
    keys: set[str] = set()
    clean = []
    for spec in specs:
        name = spec.name.strip()
        if not name:
            raise ProjectError("Every label needs a name.", field="labels")
        if len(name) > LABEL_NAME_MAX_CHARS:
            raise ProjectError(
                f"The label {quoted(name, max_chars=40)} is over {LABEL_NAME_MAX_CHARS} characters.", field="labels"
            )
        if "," in name:
            # The export selects labels by a comma-separated list of names.
            raise ProjectError(f"The label {quoted(name)} contains a comma, which label names cannot.", field="labels")
        if hidden := hidden_in_name(name):
            raise ProjectError(
                f"The label {quoted(name)} contains a line break, a control or an invisible character ({hidden}).",
                field="labels",
            )
        if name.lower() in seen:
            raise ProjectError(f"The label “{name}” is listed twice.", field="labels")
        if problem := text_problem(
            spec.description, what=f"The description of “{name}”", max_chars=LABEL_DESCRIPTION_MAX_CHARS
        ):
            raise ProjectError(problem, field="labels")
        try:
            key = _check_key(spec.shortcut_key, Label.objects.none())
        except LabelSetError as error:
            raise ProjectError(str(error), field="labels") from None
        if key and key in keys:
            key = ""  # A clone keeps the first label's key; the annotate page assigns the rest.
        keys.add(key)
        seen[name.lower()] = name
        clean.append(LabelSpec(name=name, description=spec.description.strip(), color=spec.color, shortcut_key=key))
    return clean


# ---------------------------------------------------------------------------
# Create and clone
# ---------------------------------------------------------------------------


def create_project(
    *,
    creator: Any,
    name: str,
    description: str = "",
    labels: Sequence[LabelSpec] = (),
    guideline: str = "",
    settings: Mapping[str, Any] | None = None,
    audit_extra: Mapping[str, Any] | None = None,
) -> Project:
    """Create a project with its labels and, if given, its first guideline published as version 1.

    The creator becomes its manager. Every input is checked first; the
    project, its labels, membership, guideline and audit event are written
    in one transaction, so a refused input leaves nothing behind.
    """
    name = _check_name(name)
    description = description.strip()
    if problem := text_problem(description, what="The description", max_chars=DESCRIPTION_MAX_CHARS):
        raise ProjectError(problem, field="description")
    specs = _check_labels(labels)
    try:
        chosen = check_settings({key: value for key, value in (settings or {}).items() if key != "description"})
    except ProjectSettingsError as error:
        raise ProjectError(str(error), field="settings") from None
    try:
        refuse_unstorable(text=guideline)
    except GuidelineError as error:
        raise ProjectError(str(error), field="guideline") from None
    try:
        with transaction.atomic():
            project = Project.objects.create(name=name, description=description, **chosen)
            Membership.objects.create(project=project, user=creator, role=Role.MANAGER)
            Label.objects.bulk_create(
                [
                    Label(
                        project=project,
                        name=spec.name,
                        description=spec.description,
                        color=spec.color or palette_color(index),
                        shortcut_key=spec.shortcut_key,
                        order=index,
                    )
                    for index, spec in enumerate(specs)
                ]
            )
            record_audit(
                action="project.create",
                actor=creator,
                project=project,
                obj=project,
                after={
                    "name": name,
                    "labels": [spec.name for spec in specs],
                    "settings": dict(chosen),
                    **(audit_extra or {}),
                },
            )
            if guideline.strip():
                draft = GuidelineVersion.objects.create(project=project, text=guideline, author=creator)
                publish_guideline(draft=draft, changelog=FIRST_CHANGELOG, author=creator)
    except IntegrityError:
        # Another request took the name between the check and the insert.
        raise ProjectError(f"There is already a project named “{name}”.", field="name") from None
    return project


def copy_name(source: Project) -> str:
    """A free name for a clone of ``source``: "Name (copy)", then "(copy 2)" and on, the name cut to fit the limit."""
    taken = {name.casefold() for name in Project.objects.filter(name__icontains="(copy").values_list("name", flat=True)}
    number = 1
    while True:
        suffix = " (copy)" if number == 1 else f" (copy {number})"
        name = source.name[: NAME_MAX_CHARS - len(suffix)].rstrip() + suffix
        if name.casefold() not in taken:
            return name
        number += 1


def clone_project(*, source: Project, creator: Any, name: str) -> Project:
    """A new, empty project with the source's settings, active labels, label rules and current guideline.

    Items, answers, members and models stay behind; the creator is the
    clone's only member, as its manager.
    """
    labels = list(source.active_labels())
    guideline = source.current_guideline()
    with transaction.atomic():
        clone = create_project(
            creator=creator,
            name=name,
            description=source.description,
            labels=[
                LabelSpec(
                    name=label.name, description=label.description, color=label.color, shortcut_key=label.shortcut_key
                )
                for label in labels
            ],
            guideline=guideline.text if guideline else "",
            settings={key: getattr(source, key) for key in CHANGEABLE},
            audit_extra={"cloned_from": {"id": source.pk, "name": source.name}},
        )
        by_name = {label.name: label for label in clone.labels.all()}
        for label in labels:
            copy = by_name[label.name]
            copy.implies.set([by_name[other.name] for other in label.implies.all() if other.name in by_name])
            copy.excludes.set([by_name[other.name] for other in label.excludes.all() if other.name in by_name])
    return clone


# ---------------------------------------------------------------------------
# Archive and delete
# ---------------------------------------------------------------------------


def archive_project(*, project: Project, actor: Any) -> bool:
    """Make the project read-only; returns whether it changed (it may be archived already)."""
    now = timezone.now()
    with transaction.atomic():
        if not Project.objects.filter(pk=project.pk, archived_at__isnull=True).update(archived_at=now):
            return False
        project.archived_at = now
        record_audit(action="project.archive", actor=actor, project=project, obj=project, before=None, after=None)
    return True


def unarchive_project(*, project: Project, actor: Any) -> bool:
    """Open an archived project again; returns whether it changed."""
    with transaction.atomic():
        if not Project.objects.filter(pk=project.pk, archived_at__isnull=False).update(archived_at=None):
            return False
        project.archived_at = None
        record_audit(action="project.unarchive", actor=actor, project=project, obj=project, before=None, after=None)
    return True


@dataclass(frozen=True)
class DeleteSummary:
    """What deleting a project removes, shown before the manager confirms and kept in the audit event."""

    items: int
    annotations: int
    labels: int
    members: int
    guideline_versions: int


def delete_summary(project: Project) -> DeleteSummary:
    return DeleteSummary(
        items=project.items.count(),
        annotations=Annotation.objects.filter(item__project=project).count(),
        labels=project.labels.count(),
        members=project.memberships.count(),
        guideline_versions=project.guideline_versions.count(),
    )


def delete_project(*, project: Project, actor: Any, confirmation: str) -> DeleteSummary:
    """Delete the project and everything in it, once ``confirmation`` is its exact name.

    The audit event is written at site level (project null) before the
    delete, in the same transaction, so it outlives the project. The
    project's earlier audit events stay too, with their project set to null.
    """
    if confirmation.strip() != project.name:
        raise ProjectError("Type the project's name exactly to confirm.", field="confirmation")
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        summary = delete_summary(locked)
        record_audit(
            action="project.delete",
            actor=actor,
            project=None,
            obj=locked,
            before={
                "id": locked.pk,
                "name": locked.name,
                "items": summary.items,
                "annotations": summary.annotations,
                "labels": summary.labels,
                "members": summary.members,
            },
            after=None,
        )
        locked.delete()
    return summary
