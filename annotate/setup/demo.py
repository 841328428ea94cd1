"""The demo project that ships with the app: support messages, ten labels, a guideline.

Loading is idempotent: running it twice leaves one project, one set of
labels, items and seed annotations. The texts were written for this project
(annotate/setup/demo_data/README.md); nothing here reads ../shared.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from annotate.models import Annotation, AskMode, GuidelineVersion, Item, Judgment, Label, Membership, Project, Role
from annotate.work.queue import build_cold_start_queue

DEMO_DATA_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_PROJECT_NAME = "Demo: support inbox"
DEMO_ANNOTATORS = ["ann1", "ann2"]
DEMO_REVIEWER = "reviewer1"
# The first items get seed answers from both demo annotators, so the
# dashboard, the review queue and the first model have something to show.
SEEDED_ITEMS = 80


@dataclass
class DemoAccounts:
    password: str
    usernames: list[str]


def demo_password() -> str:
    """The password of the demo accounts: from TAGWISE_ADMIN_PASSWORD, else generated once per data directory."""
    import os

    given = os.environ.get("TAGWISE_ADMIN_PASSWORD")
    if given:
        return given
    path = Path(settings.DATA_DIR) / "admin_password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_admin(*, username: str = "admin") -> tuple[str, str]:
    """Create the superuser if missing; set its password to the demo password. Returns (username, password)."""
    user_model = get_user_model()
    password = demo_password()
    user, created = user_model.objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"}
    )
    if created or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return username, password


@transaction.atomic
def load_demo() -> tuple[Project, bool]:
    """Load the demo project; returns it and whether it was created by this call."""
    labels_spec = json.loads((DEMO_DATA_DIR / "labels.json").read_text())
    rows = [json.loads(line) for line in (DEMO_DATA_DIR / "items.jsonl").read_text().splitlines() if line.strip()]
    admin_name, password = ensure_admin()
    user_model = get_user_model()
    admin = user_model.objects.get(username=admin_name)

    project, created = Project.objects.get_or_create(
        name=DEMO_PROJECT_NAME,
        defaults={
            "description": "Customer-support messages of an online shop. Tag every label that applies.",
            "overlap_count": 2,
            "overlap_fraction": 0.3,
            "retrain_every": 25,
            # The demo shows what the product is for: once its first model is
            # trained, each item asks the labels the model is least sure about
            # (docs/annotating.md, "What annotators are asked").
            "ask_mode": AskMode.FOCUS,
            "focus_size": 4,
        },
    )
    Membership.objects.get_or_create(project=project, user=admin, defaults={"role": Role.MANAGER})
    for username, role in [(name, Role.ANNOTATOR) for name in DEMO_ANNOTATORS] + [(DEMO_REVIEWER, Role.REVIEWER)]:
        user, created = user_model.objects.get_or_create(username=username)
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": role})

    guideline = GuidelineVersion.objects.filter(project=project, number=1).first()
    if guideline is None:
        guideline = GuidelineVersion.objects.create(
            project=project,
            number=1,
            text=(DEMO_DATA_DIR / "guideline_v1.md").read_text(),
            changelog="First version.",
            author=admin,
            published_at=timezone.now(),
        )
        # Version 2 waits as a draft, so a manager can publish it and watch
        # "what changed" reach the annotators.
        GuidelineVersion.objects.create(
            project=project, text=(DEMO_DATA_DIR / "guideline_v2.md").read_text(), author=admin
        )

    labels: dict[str, Label] = {}
    for order, spec in enumerate(labels_spec):
        label, _ = Label.objects.get_or_create(
            project=project,
            name=spec["name"],
            defaults={
                "description": spec["description"],
                "shortcut_key": spec.get("shortcut_key", ""),
                "color": spec.get("color", "#4c78a8"),
                "order": order,
            },
        )
        labels[label.name] = label
    for spec in labels_spec:
        labels[spec["name"]].implies.add(*[labels[name] for name in spec.get("implies", [])])
        labels[spec["name"]].excludes.add(*[labels[name] for name in spec.get("excludes", [])])

    Item.objects.bulk_create(
        [
            Item(project=project, external_id=row["external_id"], text=row["text"], metadata=row.get("metadata", {}))
            for row in rows
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    build_cold_start_queue(project=project)
    _seed_annotations(project=project, guideline=guideline, labels=labels, rows=rows[:SEEDED_ITEMS])
    return project, created


def _seed_annotations(
    *, project: Project, guideline: GuidelineVersion, labels: dict[str, Label], rows: list[dict]
) -> None:
    """Answer the first items as two careful but imperfect annotators would.

    Each answers about four labels in five, flips about one answer in twelve,
    and is less sure on the flipped ones, so agreement is high but not
    perfect and some entries are disputed.
    """
    from annotate.models import QueueEntry, QueueReason

    user_model = get_user_model()
    items = {item.external_id: item for item in Item.objects.filter(project=project)}
    for annotator_index, username in enumerate(DEMO_ANNOTATORS):
        annotator = user_model.objects.get(username=username)
        rng = random.Random(1000 + annotator_index)
        for row in rows:
            item = items[row["external_id"]]
            annotation, created = Annotation.objects.get_or_create(
                item=item,
                annotator=annotator,
                defaults={"guideline_version": guideline, "duration_ms": rng.randint(4000, 25000)},
            )
            if not created:
                continue
            gold = set(row.get("gold", []))
            judgments = []
            for name, label in labels.items():
                if rng.random() < 0.2:
                    continue
                value = int(name in gold)
                flipped = rng.random() < 0.08
                if flipped:
                    value = 1 - value
                confidence = 0.55 if flipped else rng.choice([0.8, 0.8, 1.0])
                judgments.append(Judgment(annotation=annotation, label=label, value=value, confidence=confidence))
            Judgment.objects.bulk_create(judgments)
            # Both demo annotators answer these items, so they are the demo's
            # overlap items: never over their target (the agreement figures use them).
            QueueEntry.objects.filter(item=item).update(
                completed=item.annotations.filter(skipped=False).count(),
                required=max(project.overlap_count, len(DEMO_ANNOTATORS)),
                reason=QueueReason.OVERLAP,
            )
