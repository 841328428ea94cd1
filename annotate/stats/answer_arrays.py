"""Answers as arrays: the one place judgments become (items, labels, slots) cubes with NaN for unobserved.

Pure numpy. ``annotate/curation/answers.py`` (agreement, review, training)
and ``annotate/dataset/export.py`` (the export's chunks) read their rows from
the database in their own ways, for speed, and both build their arrays here,
so the three states come out the same everywhere: 1.0 yes, 0.0 no, NaN
unobserved (docs/architecture.md, the three-state rule).

Raters are *slots*, not people: slot 0 of an item is its first annotation,
slot 1 its second, and so on.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def slots_within_items(
    item_positions: npt.NDArray[np.int64], annotation_ids: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """The slot of each row's annotation: its rank among the annotations of its item, oldest (lowest id) first.

    Rows may come in any order, and several rows (judgments) may share one
    annotation; they then share its slot.
    """
    rows = np.asarray(item_positions, dtype=np.int64)
    annotations = np.asarray(annotation_ids, dtype=np.int64)
    order = np.lexsort((annotations, rows))
    sorted_rows, sorted_annotations = rows[order], annotations[order]
    new_annotation = np.ones(len(order), dtype=bool)
    new_annotation[1:] = (sorted_rows[1:] != sorted_rows[:-1]) | (sorted_annotations[1:] != sorted_annotations[:-1])
    new_item = np.ones(len(order), dtype=bool)
    new_item[1:] = sorted_rows[1:] != sorted_rows[:-1]
    annotation_number = np.cumsum(new_annotation) - 1
    first_of_item = np.maximum.accumulate(np.where(new_item, annotation_number, 0))
    slots = np.empty(len(order), dtype=np.int64)
    slots[order] = annotation_number - first_of_item
    return slots


def answer_cubes(
    *,
    shape: tuple[int, int, int],
    item_positions: npt.NDArray[np.int64],
    label_positions: npt.NDArray[np.int64],
    slots: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    confidences: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(values, confidence) arrays of ``shape`` (items, labels, slots), NaN wherever no judgment says otherwise."""
    value_cube = np.full(shape, np.nan)
    confidence_cube = np.full(shape, np.nan)
    value_cube[item_positions, label_positions, slots] = values
    confidence_cube[item_positions, label_positions, slots] = confidences
    return value_cube, confidence_cube
