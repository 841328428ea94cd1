"""Build the arrays of annotate/stats/agreement.py straight from the database, for label-set tests.

Deliberately independent of the app's own loaders: a test that reads rows one
by one and writes NaN for every missing one checks the three-state rule
instead of trusting the code under test.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annotate.models import Annotation, Judgment, Label, Resolution


def answer_arrays(items: list[Any], labels: list[Label], raters: list[Any]) -> dict[str, np.ndarray]:
    shape = (len(items), len(labels), len(raters))
    values = np.full(shape, np.nan)
    confidence = np.full(shape, np.nan)
    version = np.full((len(items), len(raters)), -1, dtype=np.int64)
    resolution = np.full((len(items), len(labels)), np.nan)
    item_index = {item.pk: i for i, item in enumerate(items)}
    label_index = {label.pk: j for j, label in enumerate(labels)}
    rater_index = {user.pk: r for r, user in enumerate(raters)}
    for annotation in Annotation.objects.filter(item__in=items, annotator__in=raters).select_related(
        "guideline_version"
    ):
        number = annotation.guideline_version.number if annotation.guideline_version else 0
        version[item_index[annotation.item_id], rater_index[annotation.annotator_id]] = number
    for judgment in Judgment.objects.filter(annotation__item__in=items, label__in=labels).select_related("annotation"):
        i = item_index[judgment.annotation.item_id]
        r = rater_index[judgment.annotation.annotator_id]
        values[i, label_index[judgment.label_id], r] = judgment.value
        confidence[i, label_index[judgment.label_id], r] = judgment.confidence
    for res in Resolution.objects.filter(item__in=items, label__in=labels):
        resolution[item_index[res.item_id], label_index[res.label_id]] = res.value
    return {"values": values, "confidence": confidence, "version": version, "resolution": resolution}
