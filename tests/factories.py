"""Small hand-written factories for tests: explicit arguments, sensible defaults."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from annotate.models import Annotation, GuidelineVersion, Item, Judgment, Label, Membership, Project, Role

_counter = itertools.count(1)


def make_user(username: str | None = None, **fields: Any) -> Any:
    username = username or f"user{next(_counter)}"
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, **fields)
    return user


def make_project(name: str | None = None, **fields: Any) -> Project:
    return Project.objects.create(name=name or f"Project {next(_counter)}", **fields)


def add_member(project: Project, user: Any, role: str = Role.ANNOTATOR) -> Membership:
    return Membership.objects.create(project=project, user=user, role=role)


def make_guideline(
    project: Project, number: int | None = None, *, published: bool = True, **fields: Any
) -> GuidelineVersion:
    if number is None and published:
        number = (project.guideline_versions.exclude(number=None).count() or 0) + 1
    return GuidelineVersion.objects.create(
        project=project,
        number=number,
        text=fields.pop("text", f"# Guideline v{number}"),
        published_at=timezone.now() if published else None,
        **fields,
    )


def make_labels(project: Project, names: list[str], **fields: Any) -> list[Label]:
    return [
        Label.objects.create(project=project, name=name, order=index, shortcut_key=str(index + 1)[-1], **fields)
        for index, name in enumerate(names)
    ]


def make_items(project: Project, count: int, prefix: str = "item") -> list[Item]:
    return Item.objects.bulk_create(
        [Item(project=project, external_id=f"{prefix}-{index}", text=f"Text number {index}") for index in range(count)]
    )


def annotate_item(
    item: Item,
    annotator: Any,
    answers: dict[Label, int | tuple[int, float]],
    *,
    guideline: GuidelineVersion | None = None,
    **fields: Any,
) -> Annotation:
    """Store an annotation with the given answers; labels not in ``answers`` stay unobserved."""
    annotation = Annotation.objects.create(item=item, annotator=annotator, guideline_version=guideline, **fields)
    judgments = []
    for label, answer in answers.items():
        value, confidence = answer if isinstance(answer, tuple) else (answer, 1.0)
        judgments.append(Judgment(annotation=annotation, label=label, value=value, confidence=confidence))
    Judgment.objects.bulk_create(judgments)
    return annotation
