"""One annotator's own agreement with the others, per label, for their annotate page.

The rule is the dashboard's leave-one-out (docs/agreement.md): on every
(item, label) the annotator answered and someone else answered too, the
others' confidence-weighted consensus is compared with their answer, and
Cohen's kappa and the percent agreement are read off the 2x2 table. Only
the annotator sees their own figures (the page shows them to nobody else).

It loads the answers of the annotator's own items only, so its cost follows
their work, not the project's size; the result is cached per person and
refreshed every ``REFRESH_EVERY`` answers of theirs or after
``CACHE_SECONDS``, whichever comes first. The annotate page loads it only
when the annotator opens it, so it never slows submit-and-next
(docs/annotating.md, "Your progress", has the timings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from annotate.curation.answers import load_answers
from annotate.models import Annotation, Project
from annotate.stats.agreement import leave_one_out_by_person

# A label's figure is shown once this many of the annotator's answers on it
# could be compared with someone else's: below that a kappa swings with every
# answer and says more about luck than about reading the guideline alike.
MIN_COMPARED = 10
REFRESH_EVERY = 10
RECENT_ITEMS = 2_000
CACHE_SECONDS = 15 * 60


@dataclass(frozen=True)
class LabelAgreement:
    label: str
    color: str
    percent_agreement: float | None
    kappa: float | None
    compared: int


@dataclass(frozen=True)
class MyAgreement:
    labels: list[LabelAgreement]  # labels with at least MIN_COMPARED compared answers, in label order
    compared: int  # all compared answers, over every label

    @property
    def shown(self) -> bool:
        return bool(self.labels)


def annotator_agreement(*, annotator: Any, project: Project, answered: int) -> MyAgreement:
    """The annotator's agreement with the others' consensus per label, cached (see the module docstring).

    ``answered`` is the number of items they answered (the page has it from
    ``annotator_progress``); it is part of the cache key, rounded down to a
    multiple of ``REFRESH_EVERY``.
    """
    key = f"tagwise:my-agreement:v1:{project.pk}:{annotator.pk}:{answered // REFRESH_EVERY}"
    cached = cache.get(key)
    if cached is None:
        cached = compute_annotator_agreement(annotator=annotator, project=project)
        cache.set(key, cached, CACHE_SECONDS)
    return cached


def compute_annotator_agreement(*, annotator: Any, project: Project) -> MyAgreement:
    # The most recent items only: recent agreement says how the annotator
    # reads the guideline now, and the cost stays that of RECENT_ITEMS items
    # however much they have done (a whole 100k-item project took seconds).
    item_ids = list(
        Annotation.objects.filter(annotator=annotator, item__project=project, skipped=False)
        .order_by("-created_at", "-id")
        .values_list("item_id", flat=True)[:RECENT_ITEMS]
    )
    if not item_ids:
        return MyAgreement(labels=[], compared=0)
    labels = list(project.active_labels().select_related("introduced_in"))
    answers = load_answers(project=project, labels=labels, item_ids=item_ids)
    rows = []
    compared = 0
    for position, label in enumerate(labels):
        per_person = leave_one_out_by_person(
            answers.values[:, position : position + 1, :],
            answers.confidence[:, position : position + 1, :],
            answers.rater_ids,
        )
        mine = per_person.get(annotator.pk)
        if mine is None:
            continue
        compared += mine["n_units"]
        if mine["n_units"] >= MIN_COMPARED:
            rows.append(
                LabelAgreement(
                    label=label.name,
                    color=label.color,
                    percent_agreement=mine["percent_agreement"],
                    kappa=mine["kappa"],
                    compared=mine["n_units"],
                )
            )
    return MyAgreement(labels=rows, compared=compared)
