"""Read the answers of a project from the database into the arrays of annotate/stats/answer_arrays.py.

The agreement figures, the review queue, the export and the learner's
training targets all start here, so they all see the same answers in the
same three states: 1.0 yes, 0.0 no, NaN unobserved.

Raters are *slots*, not people: slot 0 of an item is its first annotation,
slot 1 its second, and so on. That keeps the arrays (items, labels, slots)
small whatever the size of the team (a project with 40 annotators and
overlap 3 has three slots, not forty columns). ``rater_ids`` says who sits
in each slot, for the figures that are about people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from annotate.db import judgment_rows
from annotate.models import Annotation, Item, Label, Project, Resolution
from annotate.stats.agreement import Consensus, consensus
from annotate.stats.answer_arrays import answer_cubes, slots_within_items


@dataclass
class AnswerArrays:
    item_ids: npt.NDArray[np.int64]  # (I,) Item primary keys, ascending
    label_ids: list[int]  # (L,) Label primary keys, in the order of the label axis
    label_names: list[str]
    rater_ids: npt.NDArray[np.int64]  # (I, R) annotator user id per slot, -1 where empty
    values: npt.NDArray[np.float64]  # (I, L, R) 1.0 yes, 0.0 no, NaN unobserved
    confidence: npt.NDArray[np.float64]  # (I, L, R) confidence of each observed answer
    version: npt.NDArray[np.int64]  # (I, R) guideline version number of the slot's annotation, -1 if none
    resolution: npt.NDArray[np.float64]  # (I, L) reviewer's value, NaN if unresolved
    label_introduced: npt.NDArray[np.int64]  # (L,) version number a label was introduced in, 0 = from the start

    def consensus(self) -> Consensus:
        return consensus(self.values, self.confidence, self.resolution)


def load_answers(
    *,
    project: Project,
    labels: Sequence[Label] | None = None,
    item_ids: Sequence[int] | None = None,
    answered_only: bool = False,
) -> AnswerArrays:
    """Every non-skipped answer of the project's items for the given labels (default: active labels).

    ``item_ids`` restricts the items (for the export's chunks); by default
    every item of the project is on the item axis, answered or not, so the
    learner can fit features on all texts. ``answered_only`` keeps only the
    items with an answer or a resolution: every figure about agreement and
    disputes is the same without the others, and a 100,000-item project with
    a few thousand answered items is read and counted in a fraction of the
    time (docs/benchmarks.md, "Load and faults").
    """
    labels = list(project.active_labels().select_related("introduced_in") if labels is None else labels)
    label_index = {label.pk: position for position, label in enumerate(labels)}
    annotations = Annotation.objects.filter(item__project=project, skipped=False)
    resolved = Resolution.objects.filter(item__project=project, label_id__in=list(label_index))
    if item_ids is not None:
        wanted = list(item_ids)
        annotations = annotations.filter(item_id__in=wanted)
        resolved = resolved.filter(item_id__in=wanted)
    rows = np.array(
        list(
            annotations.order_by("item_id", "id").values_list(
                "id", "item_id", "annotator_id", "guideline_version__number"
            )
        ),
        dtype=object,
    ).reshape(-1, 4)
    resolutions = list(resolved.values_list("item_id", "label_id", "value"))
    if answered_only:
        ids = np.union1d(
            rows[:, 1].astype(np.int64), np.array([item_id for item_id, _, _ in resolutions], dtype=np.int64)
        )
    else:
        items = Item.objects.filter(project=project)
        if item_ids is not None:
            items = items.filter(pk__in=wanted)
        ids = np.array(sorted(items.values_list("pk", flat=True)), dtype=np.int64)
    annotation_ids = rows[:, 0].astype(np.int64)
    annotation_items = np.searchsorted(ids, rows[:, 1].astype(np.int64))
    slots = slots_within_items(annotation_items, annotation_ids)
    n_slots = int(slots.max()) + 1 if len(rows) else 1

    n_items, n_labels = len(ids), len(labels)
    rater_ids = np.full((n_items, n_slots), -1, dtype=np.int64)
    version = np.full((n_items, n_slots), -1, dtype=np.int64)
    if len(rows):
        rater_ids[annotation_items, slots] = rows[:, 2].astype(np.int64)
        version[annotation_items, slots] = np.array([v if v is not None else 0 for v in rows[:, 3]], dtype=np.int64)

    judgments = _judgment_rows(annotation_ids=annotation_ids, label_ids=list(label_index))
    order = np.argsort(annotation_ids)
    where = order[np.searchsorted(annotation_ids, judgments[:, 0], sorter=order)] if len(judgments) else order[:0]
    label_keys = np.array(list(label_index), dtype=np.int64)
    label_order = np.argsort(label_keys)
    label_positions = (
        np.array(list(label_index.values()), dtype=np.int64)[
            label_order[np.searchsorted(label_keys, judgments[:, 1].astype(np.int64), sorter=label_order)]
        ]
        if len(judgments)
        else np.zeros(0, dtype=np.int64)
    )
    values, confidence = answer_cubes(
        shape=(n_items, n_labels, n_slots),
        item_positions=annotation_items[where],
        label_positions=label_positions,
        slots=slots[where],
        values=judgments[:, 2],
        confidences=judgments[:, 3],
    )

    resolution = np.full((n_items, n_labels), np.nan)
    for item_id, label_id, value in resolutions:
        resolution[np.searchsorted(ids, item_id), label_index[label_id]] = value

    introduced = np.array(
        [
            label.introduced_in.number if label.introduced_in_id and label.introduced_in.number else 0
            for label in labels
        ],
        dtype=np.int64,
    )
    return AnswerArrays(
        item_ids=ids,
        label_ids=[label.pk for label in labels],
        label_names=[label.name for label in labels],
        rater_ids=rater_ids,
        values=values,
        confidence=confidence,
        version=version,
        resolution=resolution,
        label_introduced=introduced,
    )


def _judgment_rows(*, annotation_ids: npt.NDArray[np.int64], label_ids: list[int]) -> npt.NDArray[np.float64]:
    """(annotation id, label id, value, confidence) rows of the given annotations and labels."""
    if not len(annotation_ids) or not label_ids:
        return np.empty((0, 4))
    return judgment_rows(annotation_ids=annotation_ids, label_ids=label_ids)
