"""Streaming export of a project's curated dataset: JSONL, CSV, Parquet, and other tools' formats.

One row per item: its external id, text, metadata and, for every exported
label, the consensus value computed by ``annotate.stats.agreement.consensus`` (the
function the learner trains on): a reviewer's resolution, else the
confidence-weighted mean of the observed answers, else unobserved. Unobserved
is ``null`` in JSONL and Parquet and an empty cell in CSV, never 0
(docs/architecture.md).

Memory stays flat: items come from a server-side cursor
(``QuerySet.iterator``) in chunks; each chunk's judgments and resolutions are
fetched with one query each, turned into numpy arrays, written and dropped.

Formats
-------
- JSONL: ``{"id", "text", "metadata", "labels": {name: float | null}}`` and,
  when asked, ``"judgments": [...]``. Every line has the same keys and types;
  ``metadata`` is a JSON-encoded string because free-form metadata would give
  lines different types, which the Hugging Face ``datasets`` JSON loader
  refuses.
- CSV: columns ``id, text, metadata``, one column per label (``label:<name>``
  when a label is called like a fixed column), and ``judgments`` (JSON) when
  asked. Cells that begin with ``= + - @``, a tab or a carriage return get a
  leading ``'`` so that spreadsheets do not run them as formulas.
- Parquet: the same columns as JSONL; ``labels`` is a struct of nullable
  doubles and ``judgments`` a list of structs. Written one row group per chunk.
- hf: a zip of the JSONL (both sides of a split) with a dataset card whose
  YAML declares the features, so that ``datasets`` loads several files together.
- doccano (consensus of at least 0.5 as its label list), Prodigy and Label
  Studio (each annotator's annotation): docs/formats.md says what each keeps
  of the three states.

Predictions
-----------
With ``predictions=True`` every row also carries the scores of the project's
latest ready model version: ``prediction`` (label -> calibrated probability,
per exported label), ``predicted_labels`` (the labels the version decides
for, after its thresholds and rules) and ``prediction_model_version``. In CSV
they are the columns ``pred:<label>``, ``predicted_labels`` (a JSON list) and
``prediction_model_version``. An item the version did not score (added after
it was trained), or a label the version does not know, gets null (an empty
cell in CSV), never 0.

``annotate`` never imports ``learner``: the scores come from a
``PredictionsSource``, a callable named by the setting
``TAGWISE_PREDICTIONS_SOURCE`` (``learner.predictions.ExportPredictions``),
which opens the version's stored scores once and is then asked for one chunk
of items at a time. It raises ``PredictionsUnavailable`` when there is no
ready version, which the API answers with 409 before anything is streamed.

Filters (see ``ExportOptions``) are documented in docs/api.md.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from json.encoder import encode_basestring as encode_string  # the C implementation when available
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils.module_loading import import_string

from annotate.db import rows_with_cheap_index_probes
from annotate.models import Annotation, Item, Judgment, Label, Project, Resolution, record_audit
from annotate.stats.agreement import consensus
from annotate.stats.answer_arrays import answer_cubes, slots_within_items

FORMATS = ("jsonl", "csv", "parquet", "hf", "doccano", "prodigy", "labelstudio")
# Formats of other tools, written per annotation (Prodigy, Label Studio) or per
# item with its consensus (doccano); docs/formats.md says how each carries the three states.
TOOL_FORMATS = ("doccano", "prodigy", "labelstudio")
SPLITS = ("train", "validation")
CHUNK_SIZE = 2000
CONTENT_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "hf": "application/zip",
    "doccano": "application/x-ndjson",
    "prodigy": "application/x-ndjson",
    "labelstudio": "application/json",
}
EXTENSIONS = {
    "jsonl": "jsonl",
    "csv": "csv",
    "parquet": "parquet",
    "hf": "zip",
    "doccano": "jsonl",
    "prodigy": "jsonl",
    "labelstudio": "json",
}
CSV_FIXED_COLUMNS = ("id", "text", "metadata", "judgments", "predicted_labels", "prediction_model_version")
# Probabilities are stored as float32 and exported with this many decimals,
# the precision they carry; 0.25 reads 0.25 instead of 0.25000000372529.
PREDICTION_DECIMALS = 6
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportError(ValueError):
    """The export options are invalid (an unknown label, a bad split); nothing was exported."""


class NotInProject(ExportError):
    """The options name a label or guideline version the project does not have.

    An export filtered on something that does not exist would be an empty
    file, which looks like an answer; it is refused instead.
    """


class SplitError(ExportError):
    """The requested train/validation split cannot be made from these items; the message says why."""


class PredictionsUnavailable(Exception):
    """Predictions were asked for, but the project has no model version that can give them."""


@dataclass
class ChunkPredictions:
    """A model version's scores for a chunk of items, over the exported labels."""

    # (items, labels): the calibrated probability, NaN where the version did
    # not score the item or does not know the label.
    probabilities: np.ndarray
    # (items, labels): the version's decision (thresholds, then label rules).
    decisions: np.ndarray
    # (items,): whether the version scored the item at all.
    scored: np.ndarray


class PredictionTable(Protocol):
    """One model version's stored scores, opened once per export."""

    version_id: int

    def lookup(self, *, item_ids: np.ndarray, label_ids: list[int]) -> ChunkPredictions: ...


class PredictionsSource(Protocol):
    """Opens the scores of a project's latest ready model; raises PredictionsUnavailable when there is none."""

    def __call__(self, *, project: Project) -> PredictionTable: ...


def predictions_source() -> PredictionsSource:
    """The source named by the setting TAGWISE_PREDICTIONS_SOURCE (a dotted path)."""
    path = getattr(settings, "TAGWISE_PREDICTIONS_SOURCE", "")
    if not path:
        raise PredictionsUnavailable("This installation has no predictions source (TAGWISE_PREDICTIONS_SOURCE).")
    return import_string(path)


@dataclass(frozen=True)
class ExportOptions:
    format: str = "jsonl"
    # Only items with at least one resolution on an exported label.
    resolved_only: bool = False
    # Only items whose agreement reaches this share (see ``item_agreement``).
    min_agreement: float | None = None
    # Only annotations made under this guideline version count, and only
    # items with at least one such annotation are exported.
    guideline_version: int | None = None
    # Only items with an annotation created or edited at or after this time.
    annotated_after: datetime | None = None
    # Labels by name, retired ones included; empty means all active labels.
    labels: tuple[str, ...] = ()
    # "train" or "validation": one side of a seeded iterative-stratification split.
    split: str | None = None
    test_size: float = 0.2
    seed: int = 0
    include_judgments: bool = False
    # Add the latest ready model version's scores (see the module docstring).
    predictions: bool = False
    # CSV: prefix text and metadata cells a spreadsheet would run as a formula
    # with a quote. On for downloads; a pipeline turns it off to get the text
    # as stored. Ids and headers are never altered, so they match the other formats.
    escape_formulas: bool = True

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ExportError(f"format must be one of {', '.join(FORMATS)}")
        if self.split is not None and self.split not in SPLITS:
            raise ExportError(f"split must be one of {', '.join(SPLITS)}")
        if not 0 < self.test_size < 1:
            raise ExportError("test_size must be between 0 and 1")
        if self.min_agreement is not None and not 0 <= self.min_agreement <= 1:
            raise ExportError("min_agreement must be between 0 and 1")

    def filters(self) -> dict[str, Any]:
        """The options as JSON for the audit trail."""
        data = asdict(self)
        data["annotated_after"] = self.annotated_after.isoformat() if self.annotated_after else None
        data["labels"] = list(self.labels)
        return data


@dataclass
class Chunk:
    """Consensus values for a run of items, ready for a writer."""

    external_ids: list[str]
    texts: list[str]
    metadata: list[str]
    targets: np.ndarray  # (items, labels), NaN where unobserved
    judgments: list[list[dict[str, Any]]] | None = None
    predictions: ChunkPredictions | None = None
    # Per item, its annotations (Prodigy and Label Studio exports).
    annotations: list[list[ExportedAnnotation]] | None = None

    def __len__(self) -> int:
        return len(self.external_ids)


@dataclass
class ExportedAnnotation:
    """One annotator's annotation of an item, for the formats that keep who answered what."""

    pk: int
    annotator_id: int
    username: str
    email: str
    skipped: bool
    duration_ms: int
    created_at: datetime
    updated_at: datetime
    # Label name -> 1 or 0, in the labels' order; an unobserved label is absent.
    answers: dict[str, int] = field(default_factory=dict)


@dataclass
class ExportStats:
    rows: int = 0
    complete: bool = False
    labels: list[str] = field(default_factory=list)
    model_version: int | None = None


def export_labels(*, project: Project, names: tuple[str, ...] = ()) -> list[Label]:
    """The labels to export, in the project's order; raise ExportError for unknown names.

    By default the active labels. Retired and merged labels keep their
    history, and naming them in ``labels`` exports it.
    """
    if not names:
        return list(project.active_labels())
    every = list(project.labels.order_by("order", "id"))
    known = {label.name for label in every}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise NotInProject(f"unknown label(s): {', '.join(unknown)}")
    wanted = set(names)
    return [label for label in every if label.name in wanted]


# ---------------------------------------------------------------------------
# Rows: items in chunks with their consensus
# ---------------------------------------------------------------------------


def _annotations(project: Project, options: ExportOptions) -> QuerySet[Annotation]:
    annotations = Annotation.objects.filter(item__project=project, skipped=False)
    if options.guideline_version is not None:
        annotations = annotations.filter(guideline_version__number=options.guideline_version)
    return annotations


def _items(project: Project, options: ExportOptions, labels: list[Label]) -> QuerySet[Item]:
    items = Item.objects.filter(project=project)
    if options.guideline_version is not None:
        items = items.filter(
            Exists(_annotations(project, options).filter(item_id=OuterRef("pk"))),
        )
    if options.annotated_after is not None:
        items = items.filter(
            Exists(Annotation.objects.filter(item_id=OuterRef("pk"), updated_at__gte=options.annotated_after))
        )
    if options.resolved_only:
        items = items.filter(Exists(Resolution.objects.filter(item_id=OuterRef("pk"), label__in=labels)))
    return items.order_by("id")


def item_agreement(values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per item, the share of observed answers that agree with the consensus.

    An answer agrees when it is on the same side of 0.5 as the consensus value
    (a resolution, or the weighted mean of the votes); an exact tie at 0.5
    agrees with nobody. Items without an observed answer get NaN.
    """
    observed = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        agree = observed & (np.abs(values - targets[:, :, None]) < 0.5)
    n_observed = observed.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_observed > 0, agree.sum(axis=(1, 2)) / n_observed, np.nan)


def iter_chunks(
    *,
    project: Project,
    options: ExportOptions,
    labels: list[Label],
    chunk_size: int = CHUNK_SIZE,
    keep_ids: set[int] | None = None,
) -> Iterator[tuple[list[int], Chunk]]:
    """Yield (item ids, chunk) for the filtered items in id order; memory holds one chunk at a time."""
    rows = (
        _items(project, options, labels)
        .annotate(metadata_text=Cast("metadata", output_field=TextField()))
        .values_list("pk", "external_id", "text", "metadata_text")
        .iterator(chunk_size=chunk_size)
    )
    batch: list[tuple[int, str, str, str]] = []
    for row in rows:
        if keep_ids is not None and row[0] not in keep_ids:
            continue
        batch.append(row)
        if len(batch) >= chunk_size:
            yield from _chunk(project, options, labels, batch)
            batch = []
    if batch:
        yield from _chunk(project, options, labels, batch)


def _chunk(
    project: Project, options: ExportOptions, labels: list[Label], batch: list[tuple[int, str, str, str]]
) -> Iterator[tuple[list[int], Chunk]]:
    ids = [row[0] for row in batch]
    n_items, n_labels = len(ids), len(labels)
    label_index = {label.pk: index for index, label in enumerate(labels)}
    fields = ["annotation__item_id", "annotation_id", "label_id", "value", "confidence"]
    if options.include_judgments:
        fields += ["annotation__annotator__username", "annotation__guideline_version__number"]
    # The chunk's items are a run of ids, so its answers are fetched by id
    # range (an index range scan, and cheap SQL) instead of a long IN list;
    # rows of items outside the chunk (other projects, filtered out) and of
    # labels not exported are dropped below. A label filter in SQL would lead
    # SQLite's planner to scan the whole judgment_label_idx for every chunk.
    low, high = ids[0], ids[-1]
    judgment_rows = Judgment.objects.filter(
        annotation__item_id__gte=low, annotation__item_id__lte=high, annotation__skipped=False
    )
    if options.guideline_version is not None:
        judgment_rows = judgment_rows.filter(annotation__guideline_version__number=options.guideline_version)
    judgments = rows_with_cheap_index_probes(judgment_rows.order_by().values_list(*fields))
    resolutions = list(
        Resolution.objects.filter(item_id__gte=low, item_id__lte=high, label_id__in=list(label_index))
        .order_by()
        .values_list("item_id", "label_id", "value")
    )

    id_array = np.asarray(ids, dtype=np.int64)
    resolution = np.full((n_items, n_labels), np.nan)
    if resolutions:
        res = np.asarray(resolutions, dtype=np.int64)
        where, inside = _positions(id_array, res[:, 0])
        resolution[where[inside], _label_positions(label_index, res[inside, 1])] = res[inside, 2]

    if judgments:
        numbers = np.array([j[:5] for j in judgments] if options.include_judgments else judgments, dtype=np.float64)
        rows, inside = _positions(id_array, numbers[:, 0].astype(np.int64))
        inside &= np.isin(numbers[:, 2].astype(np.int64), np.fromiter(label_index, dtype=np.int64))
        if not inside.all():
            numbers, rows = numbers[inside], rows[inside]
            judgments = [j for j, keep_it in zip(judgments, inside.tolist(), strict=True) if keep_it]
    if not judgments:
        numbers = np.zeros((0, 5))
        rows = np.zeros(0, dtype=np.int64)
    columns = slots_within_items(rows, numbers[:, 1].astype(np.int64))
    values, confidences = answer_cubes(
        shape=(n_items, n_labels, int(columns.max()) + 1 if len(columns) else 1),
        item_positions=rows,
        label_positions=_label_positions(label_index, numbers[:, 2].astype(np.int64)),
        slots=columns,
        values=numbers[:, 3],
        confidences=numbers[:, 4],
    )
    targets = consensus(values, confidences, resolution).targets

    keep = np.ones(n_items, dtype=bool)
    if options.min_agreement is not None:
        share = item_agreement(values, targets)
        keep &= ~np.isnan(share) & (share >= options.min_agreement - 1e-12)

    per_item: list[list[dict[str, Any]]] | None = None
    if options.include_judgments:
        per_item = [[] for _ in ids]
        names = [label.name for label in labels]
        for row_index, judgment in zip(rows.tolist(), judgments, strict=True):
            per_item[row_index].append(
                {
                    "annotator": judgment[5],
                    "label": names[label_index[judgment[2]]],
                    "value": int(judgment[3]),
                    "confidence": float(judgment[4]),
                    "guideline_version": judgment[6],
                }
            )
        for entries in per_item:
            entries.sort(key=lambda entry: (entry["annotator"], entry["label"]))

    if not keep.all():
        chosen = np.flatnonzero(keep).tolist()
        batch = [batch[index] for index in chosen]
        targets = targets[keep]
        if per_item is not None:
            per_item = [per_item[index] for index in chosen]
        ids = [row[0] for row in batch]
    if not batch:
        return
    yield (
        ids,
        Chunk(
            external_ids=[row[1] for row in batch],
            texts=[row[2] for row in batch],
            metadata=[row[3] or "{}" for row in batch],
            targets=targets,
            judgments=per_item,
        ),
    )


def _positions(sorted_ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each wanted id sits in ``sorted_ids``, and whether it is there at all."""
    where = np.searchsorted(sorted_ids, wanted)
    inside = where < len(sorted_ids)
    inside[inside] = sorted_ids[where[inside]] == wanted[inside]
    return np.where(inside, where, 0), inside


def _label_positions(label_index: dict[int, int], label_ids: np.ndarray) -> np.ndarray:
    lookup = np.zeros(max(label_index, default=0) + 1, dtype=np.int64)
    for label_id, position in label_index.items():
        lookup[label_id] = position
    return lookup[label_ids]


# ---------------------------------------------------------------------------
# The train/validation split
# ---------------------------------------------------------------------------


def split_ids(
    *, project: Project, options: ExportOptions, labels: list[Label], chunk_size: int = CHUNK_SIZE
) -> set[int]:
    """The item ids on the requested side of a seeded iterative-stratification split (see ``split_sides``)."""
    train, validation = split_sides(project=project, options=options, labels=labels, chunk_size=chunk_size)
    return train if options.split == "train" else validation


def split_sides(
    *, project: Project, options: ExportOptions, labels: list[Label], chunk_size: int = CHUNK_SIZE
) -> tuple[set[int], set[int]]:
    """The item ids of the train and the validation side of a seeded iterative-stratification split.

    The split is computed over every item that passes the other filters, so
    the train and validation exports made with the same options and seed
    partition the same set. An item counts as positive for a label when its
    consensus is at least 0.5; unobserved counts as not positive here, for
    stratification only. The exported values keep their nulls.
    """
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    all_ids: list[int] = []
    blocks: list[np.ndarray] = []
    for ids, chunk in iter_chunks(project=project, options=options, labels=labels, chunk_size=chunk_size):
        all_ids.extend(ids)
        blocks.append(np.nan_to_num(chunk.targets, nan=0.0) >= 0.5)
    n_items = len(all_ids)
    if n_items < 2:
        raise SplitError(f"A split needs at least 2 items; the filters leave {n_items}.")
    # The splitter's own sizes: the validation side is the rounded-up share.
    n_validation = math.ceil(options.test_size * n_items)
    if n_validation >= n_items:
        raise SplitError(f"test_size {options.test_size} of {n_items} items leaves the train side empty.")
    y = np.concatenate(blocks).astype(np.int8) if blocks else np.zeros((0, len(labels)), dtype=np.int8)
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=options.test_size, random_state=options.seed)
    try:
        train, validation = next(splitter.split(np.zeros((n_items, 1)), y))
    except ValueError as error:
        raise SplitError(f"These items cannot be split: {error}") from None
    return {all_ids[index] for index in train.tolist()}, {all_ids[index] for index in validation.tolist()}


# ---------------------------------------------------------------------------
# Writers: chunks -> bytes
# ---------------------------------------------------------------------------


def write_jsonl(chunks: Iterator[Chunk], labels: list[Label], *, model_version: int | None = None) -> Iterator[bytes]:
    """One JSON object per item, assembled from pre-encoded pieces.

    This is the hot loop of a large export: the keys are encoded once, the
    strings with the C string encoder, and each consensus value is a float's
    repr (what json writes for a finite float) or null.
    """
    # One '"label":%s' slot per label; % fills a row's values in one step.
    template = ",".join(encode_string(label.name) + ":%s" for label in labels)
    names = [encode_string(label.name) for label in labels]
    for chunk in chunks:
        lines = []
        predicted = _json_predictions(chunk, template, names, model_version) if chunk.predictions else None
        for index, values in enumerate(_json_labels(chunk.targets, template)):
            external_id = encode_string(chunk.external_ids[index])
            text = encode_string(chunk.texts[index])
            metadata = encode_string(chunk.metadata[index])
            line = f'{{"id":{external_id},"text":{text},"metadata":{metadata},"labels":{{{values}}}'
            if chunk.judgments is not None:
                line += ',"judgments":' + json.dumps(chunk.judgments[index], ensure_ascii=False, separators=(",", ":"))
            if predicted is not None:
                line += predicted[index]
            lines.append(line + "}\n")
        yield "".join(lines).encode()


def _json_predictions(chunk: Chunk, template: str, names: list[str], model_version: int | None) -> list[str]:
    """Per item, the ``prediction``, ``predicted_labels`` and ``prediction_model_version`` members."""
    predictions = chunk.predictions
    assert predictions is not None
    probabilities = _json_labels(_rounded(predictions.probabilities), template)
    version = "null" if model_version is None else str(int(model_version))
    members = []
    for index, (scored, decisions) in enumerate(
        zip(predictions.scored.tolist(), predictions.decisions.tolist(), strict=True)
    ):
        # An item the version did not score has no predicted labels (null), not an empty list.
        chosen = "null"
        if scored:
            chosen = "[" + ",".join(name for name, yes in zip(names, decisions, strict=True) if yes) + "]"
        members.append(
            f',"prediction":{{{probabilities[index]}}},"predicted_labels":{chosen},"prediction_model_version":{version}'
        )
    return members


def _rounded(probabilities: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(probabilities, dtype=np.float64), PREDICTION_DECIMALS)


def _json_labels(targets: np.ndarray, template: str) -> list[str]:
    """Per item, the inside of its labels object: each value as json writes it, unobserved as null.

    A float formats with %s as its repr, the shortest text that reads back
    the same, which is what json writes for a finite float.
    """
    cells = targets.astype(object)
    cells[np.isnan(targets)] = "null"
    return [template % tuple(row) for row in cells.tolist()]


def _csv_label_cells(targets: np.ndarray) -> list[list[float | None]]:
    """Per item, its label values with None where unobserved, which csv writes as an empty cell."""
    cells = targets.astype(object)
    cells[np.isnan(targets)] = None
    return cells.tolist()


def escape_formula(cell: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with a quote."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_columns(labels: list[Label], *, include_judgments: bool, predictions: bool = False) -> list[str]:
    """The header: a label's column is its name, or ``label:<name>`` when that would clash with another column."""
    names = [
        f"label:{label.name}" if label.name in CSV_FIXED_COLUMNS or label.name.startswith("pred:") else label.name
        for label in labels
    ]
    columns = ["id", "text", "metadata", *names, *(["judgments"] if include_judgments else [])]
    if predictions:
        columns += [f"pred:{label.name}" for label in labels] + ["predicted_labels", "prediction_model_version"]
    return columns


def write_csv(
    chunks: Iterator[Chunk],
    labels: list[Label],
    *,
    include_judgments: bool,
    predictions: bool = False,
    model_version: int | None = None,
    escape_formulas: bool = True,
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    escape = escape_formula if escape_formulas else str
    writer.writerow(csv_columns(labels, include_judgments=include_judgments, predictions=predictions))
    yield buffer.getvalue().encode()
    names = [label.name for label in labels]
    for chunk in chunks:
        buffer.seek(0)
        buffer.truncate()
        predicted = chunk.predictions
        scores = _csv_label_cells(_rounded(predicted.probabilities)) if predicted is not None else None
        for index, values in enumerate(_csv_label_cells(chunk.targets)):
            cells = [
                chunk.external_ids[index],
                escape(chunk.texts[index]),
                escape(chunk.metadata[index]),
                # An unobserved entry is an empty cell, never 0.
                *values,
            ]
            if chunk.judgments is not None:
                # JSON text begins with "[": never a formula.
                cells.append(json.dumps(chunk.judgments[index], ensure_ascii=False))
            if predicted is not None and scores is not None:
                scored = bool(predicted.scored[index])
                chosen = [name for name, yes in zip(names, predicted.decisions[index].tolist(), strict=True) if yes]
                # An item the version did not score has empty cells, never 0.
                cells += scores[index]
                cells.append(json.dumps(chosen, ensure_ascii=False) if scored else None)
                cells.append(model_version)
            writer.writerow(cells)
        yield buffer.getvalue().encode()


JUDGMENT_TYPE = pa.struct(
    [
        ("annotator", pa.string()),
        ("label", pa.string()),
        ("value", pa.int8()),
        ("confidence", pa.float64()),
        ("guideline_version", pa.int32()),
    ]
)


def parquet_schema(labels: list[Label], *, include_judgments: bool, predictions: bool = False) -> pa.Schema:
    """The columns of a Parquet export. Without labels there is no ``labels`` (or ``prediction``) struct:
    Parquet cannot store a struct with no fields."""
    label_struct = pa.struct([pa.field(label.name, pa.float64(), nullable=True) for label in labels])
    fields = [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("metadata", pa.string(), nullable=False),
    ]
    if labels:
        fields.append(pa.field("labels", label_struct))
    if include_judgments:
        fields.append(pa.field("judgments", pa.list_(JUDGMENT_TYPE)))
    if predictions:
        if labels:
            fields.append(pa.field("prediction", label_struct))
        fields += [
            pa.field("predicted_labels", pa.list_(pa.string()), nullable=True),
            pa.field("prediction_model_version", pa.int64(), nullable=True),
        ]
    return pa.schema(fields)


def _label_struct(values: np.ndarray, struct_type: pa.DataType) -> pa.Array:
    """A struct column of nullable doubles, one field per label; NaN becomes null."""
    missing = np.isnan(values)
    arrays = [pa.array(values[:, index], mask=missing[:, index]) for index in range(struct_type.num_fields)]
    return pa.StructArray.from_arrays(arrays, fields=list(struct_type))


class _Sink(io.RawIOBase):
    """A write-only file that hands what was written to the caller, chunk by chunk."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts = []
        return data


def write_parquet(
    chunks: Iterator[Chunk],
    labels: list[Label],
    *,
    include_judgments: bool,
    predictions: bool = False,
    model_version: int | None = None,
) -> Iterator[bytes]:
    schema = parquet_schema(labels, include_judgments=include_judgments, predictions=predictions)
    label_struct = schema.field("labels").type if labels else None
    names = [label.name for label in labels]
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    for chunk in chunks:
        columns = [
            pa.array(chunk.external_ids, pa.string()),
            pa.array(chunk.texts, pa.string()),
            pa.array(chunk.metadata, pa.string()),
        ]
        if label_struct is not None:
            columns.append(_label_struct(chunk.targets, label_struct))
        if include_judgments:
            columns.append(pa.array(chunk.judgments, pa.list_(JUDGMENT_TYPE)))
        if chunk.predictions is not None:
            predicted = chunk.predictions
            chosen = [
                [name for name, yes in zip(names, row, strict=True) if yes] if scored else None
                for row, scored in zip(predicted.decisions.tolist(), predicted.scored.tolist(), strict=True)
            ]
            if label_struct is not None:
                columns.append(_label_struct(_rounded(predicted.probabilities), label_struct))
            columns += [
                pa.array(chosen, pa.list_(pa.string())),
                pa.array([model_version] * len(chunk), pa.int64()),
            ]
        writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
        yield sink.take()
    writer.close()
    yield sink.take()


# ---------------------------------------------------------------------------
# Other tools' formats: doccano, Prodigy, Label Studio (docs/formats.md)
# ---------------------------------------------------------------------------

# Keys of a doccano line that metadata cannot take.
DOCCANO_KEYS = ("id", "text", "label")
# The names the Label Studio export gives its choices control and text, for its labeling config.
LABEL_STUDIO_CONTROL = "label"
LABEL_STUDIO_TEXT = "text"


def chunk_annotations(*, ids: list[int], labels: list[Label], options: ExportOptions) -> list[list[ExportedAnnotation]]:
    """Per item of a chunk (in the order of ``ids``), its annotations with their answers on the exported labels."""
    position = {item_id: index for index, item_id in enumerate(ids)}
    names = {label.pk: label.name for label in labels}
    order = {label.name: index for index, label in enumerate(labels)}
    annotations = Annotation.objects.filter(item_id__in=ids)
    if options.guideline_version is not None:
        annotations = annotations.filter(guideline_version__number=options.guideline_version)
    by_pk: dict[int, ExportedAnnotation] = {}
    per_item: list[list[ExportedAnnotation]] = [[] for _ in ids]
    for pk, item_id, user_id, username, email, skipped, duration, created, updated in annotations.order_by(
        "item_id", "annotator__username"
    ).values_list(
        "pk",
        "item_id",
        "annotator_id",
        "annotator__username",
        "annotator__email",
        "skipped",
        "duration_ms",
        "created_at",
        "updated_at",
    ):
        exported = ExportedAnnotation(pk, user_id, username, email, skipped, duration, created, updated)
        by_pk[pk] = exported
        per_item[position[item_id]].append(exported)
    judgments = Judgment.objects.filter(annotation_id__in=list(by_pk), label_id__in=list(names))
    for annotation_id, label_id, value in sorted(
        judgments.values_list("annotation_id", "label_id", "value"), key=lambda row: order[names[row[1]]]
    ):
        by_pk[annotation_id].answers[names[label_id]] = int(value)
    return per_item


def _metadata(text: str, reserved: tuple[str, ...]) -> dict[str, Any]:
    data = json.loads(text)
    return {key: value for key, value in data.items() if key not in reserved} if isinstance(data, dict) else {}


def _json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_doccano(chunks: Iterator[Chunk], labels: list[Label]) -> Iterator[bytes]:
    """doccano's text classification JSONL: per item, the labels whose consensus is at least 0.5.

    doccano stores only the labels an item has: a no and an unobserved label
    both leave the label out (docs/formats.md). Metadata keys become keys of
    the line, as doccano reads them, except ``id``, ``text`` and ``label``.
    """
    names = [label.name for label in labels]
    for chunk in chunks:
        lines = []
        for index, row in enumerate(chunk.targets.tolist()):
            # NaN (unobserved) compares false, so it is never listed.
            positives = [name for name, value in zip(names, row, strict=True) if value >= 0.5]
            record = {"id": chunk.external_ids[index], "text": chunk.texts[index], "label": positives}
            record.update(_metadata(chunk.metadata[index], DOCCANO_KEYS))
            lines.append(_json_line(record) + "\n")
        yield "".join(lines).encode()


def write_prodigy(chunks: Iterator[Chunk], labels: list[Label]) -> Iterator[bytes]:
    """Prodigy's choice JSONL (``textcat_multilabel``), a line per annotation, as ``prodigy db-out`` writes it.

    ``options`` lists the labels the annotator answered, ``accept`` the yes
    among them: a no is an option not accepted, and a label that is not an
    option is unobserved. A skip is ``answer: ignore``. An item nobody
    annotated is a task without an answer, offering every label.
    """
    every = [{"id": label.name, "text": label.name} for label in labels]
    for chunk in chunks:
        assert chunk.annotations is not None
        lines = []
        for index, answered in enumerate(chunk.annotations):
            meta = {"id": chunk.external_ids[index], **_metadata(chunk.metadata[index], ("id",))}
            task = {"text": chunk.texts[index], "meta": meta}
            if not answered:
                lines.append(_json_line({**task, "options": every}) + "\n")
            for annotation in answered:
                answer = {
                    **task,
                    "options": [{"id": name, "text": name} for name in annotation.answers],
                    "accept": [name for name, value in annotation.answers.items() if value == 1],
                    "answer": "ignore" if annotation.skipped else "accept",
                    "_annotator_id": annotation.username,
                    "_session_id": annotation.username,
                    "_timestamp": int(annotation.created_at.timestamp()),
                }
                lines.append(_json_line(answer) + "\n")
        yield "".join(lines).encode()


def write_labelstudio(chunks: Iterator[Chunk], labels: list[Label]) -> Iterator[bytes]:
    """Label Studio's JSON export: a list of tasks with each annotator's annotation.

    A yes is a ticked choice of the control ``label``; Label Studio stores
    only ticks, so a no and an unobserved label are both unticked
    (docs/formats.md). A skip is a cancelled annotation.
    """
    yield b"["
    first = True
    for chunk in chunks:
        assert chunk.annotations is not None
        tasks = []
        for index, answered in enumerate(chunk.annotations):
            data = {
                LABEL_STUDIO_TEXT: chunk.texts[index],
                "external_id": chunk.external_ids[index],
                **_metadata(chunk.metadata[index], (LABEL_STUDIO_TEXT, "external_id")),
            }
            task = {
                "data": data,
                "annotations": [_labelstudio_annotation(annotation) for annotation in answered],
                "predictions": [],
            }
            tasks.append(_json_line(task))
        if tasks:
            yield (("\n" if first else ",\n") + ",\n".join(tasks)).encode()
            first = False
    yield b"\n]\n"


def _labelstudio_annotation(annotation: ExportedAnnotation) -> dict[str, Any]:
    ticked = [name for name, value in annotation.answers.items() if value == 1]
    result = [
        {
            "id": f"tagwise-{annotation.pk}",
            "type": "choices",
            "from_name": LABEL_STUDIO_CONTROL,
            "to_name": LABEL_STUDIO_TEXT,
            "origin": "manual",
            "value": {"choices": ticked},
        }
    ]
    return {
        "id": annotation.pk,
        # The username rides along so that Tagwise finds the annotator again when no email is set.
        "completed_by": {"id": annotation.annotator_id, "email": annotation.email, "username": annotation.username},
        "result": result if ticked else [],
        "was_cancelled": annotation.skipped,
        "ground_truth": False,
        "lead_time": annotation.duration_ms / 1000,
        "created_at": annotation.created_at.isoformat(),
        "updated_at": annotation.updated_at.isoformat(),
    }


# ---------------------------------------------------------------------------
# The Hugging Face folder: a dataset card that declares the features, and the data
# ---------------------------------------------------------------------------


def _yaml_feature(name: str, body: list[str], indent: str) -> list[str]:
    return [f"{indent}- name: {json.dumps(name, ensure_ascii=False)}", *(f"{indent}  {line}" for line in body)]


def _yaml_struct(names: list[str], dtype: str, indent: str) -> list[str]:
    lines: list[str] = []
    for name in names:
        lines += _yaml_feature(name, [f"dtype: {dtype}"], indent)
    return lines


def dataset_features(labels: list[Label], *, include_judgments: bool, predictions: bool) -> list[str]:
    """The ``dataset_info.features`` of a dataset card, as YAML lines, for the JSONL this module writes.

    Declared features are what let the ``datasets`` loader read several files
    together: without them it guesses each file's types, and a label that is
    unobserved on every row of one file is typed null there and double in the
    next, which it cannot combine.
    """
    names = [label.name for label in labels]
    lines = [*_yaml_struct(["id", "text", "metadata"], "string", "")]
    if names:
        lines += ["- name: labels", "  struct:", *_yaml_struct(names, "float64", "  ")]
    if include_judgments:
        judgment = [
            *_yaml_struct(["annotator", "label"], "string", "  "),
            *_yaml_struct(["value"], "int8", "  "),
            *_yaml_struct(["confidence"], "float64", "  "),
            *_yaml_struct(["guideline_version"], "int32", "  "),
        ]
        lines += ["- name: judgments", "  list:", *judgment]
    if predictions:
        if names:
            lines += ["- name: prediction", "  struct:", *_yaml_struct(names, "float64", "  ")]
        lines += [
            "- name: predicted_labels",
            "  sequence: string",
            "- name: prediction_model_version",
            "  dtype: int64",
        ]
    return lines


def dataset_card(*, project: Project, labels: list[Label], options: ExportOptions, splits: list[str]) -> str:
    """README.md for the Hugging Face folder: YAML with the features and files, then the labels and the three states."""
    features = dataset_features(labels, include_judgments=options.include_judgments, predictions=options.predictions)
    # A glob, so that later exports of the project dropped beside the first load with the same features.
    files = [f"    - split: {name}\n      path: data/{name}*.jsonl" for name in splits]
    label_lines = [f"| {label.name} | {label.description or ''} |".replace("\n", " ") for label in labels]
    return "\n".join(
        [
            "---",
            "dataset_info:",
            "  features:",
            *(f"  {line}" for line in features),
            "configs:",
            "- config_name: default",
            "  data_files:",
            *files,
            "---",
            "",
            f"# {project.name}",
            "",
            "Exported from Tagwise: one row per item with `id`, `text`, `metadata` (a JSON string) and, under",
            "`labels`, one value per label: the reviewer's resolution (0 or 1), else the confidence-weighted mean",
            "of the annotators' answers (between 0 and 1), else **null: nobody answered**. Null is not 0:",
            "an unobserved label is neither a yes nor a no, and a loss should mask it out.",
            "",
            'Load it with `datasets.load_dataset("path/to/this/folder")`; the features above keep every label',
            "a float column, even in a file where nobody answered it.",
            "",
            "| label | description |",
            "|---|---|",
            *label_lines,
            "",
        ]
    )


def write_zip(members: list[tuple[str, Iterator[bytes]]]) -> Iterator[bytes]:
    """A zip archive streamed as it is written, one member after another, each from its own byte stream."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, parts in members:
            with archive.open(name, "w", force_zip64=True) as member:
                for part in parts:
                    member.write(part)
                    if sink.parts:
                        yield sink.take()
    yield sink.take()


# ---------------------------------------------------------------------------
# The export as a whole
# ---------------------------------------------------------------------------


def export_stream(
    *,
    project: Project,
    options: ExportOptions,
    actor: Any = None,
    chunk_size: int = CHUNK_SIZE,
    predictions: PredictionsSource | None = None,
) -> Iterator[bytes]:
    """The file as a stream of byte strings; raises NotInProject or PredictionsUnavailable up front, in that order.

    The audit event is written when the stream ends, because only then is the
    row count known (filters such as minimum agreement need the answers). A
    download that is broken off is recorded too, with ``complete: false`` and
    the rows sent so far. ``predictions`` replaces the configured predictions
    source (see ``predictions_source``).
    """
    version = options.guideline_version
    if version is not None and not project.guideline_versions.filter(number=version).exists():
        raise NotInProject(f"This project has no published guideline version {version}.")
    labels = export_labels(project=project, names=options.labels)
    table = None
    if options.predictions:
        table = (predictions or predictions_source())(project=project)
    # The split is decided before the first byte, so a split that cannot be
    # made is an error the caller can answer (a 400, no file), not a broken download.
    sides: list[tuple[str, set[int] | None]] = [("train", None)]
    if options.split:
        train, validation = split_sides(project=project, options=options, labels=labels, chunk_size=chunk_size)
        if options.format == "hf":
            # A Hugging Face folder holds both sides, so one download loads as a DatasetDict.
            sides = [("train", train), ("validation", validation)]
        else:
            sides = [(options.split, train if options.split == "train" else validation)]
    return _stream(
        project=project,
        options=options,
        labels=labels,
        actor=actor,
        chunk_size=chunk_size,
        table=table,
        sides=sides,
    )


def _stream(
    *,
    project: Project,
    options: ExportOptions,
    labels: list[Label],
    actor: Any,
    chunk_size: int,
    table: PredictionTable | None,
    sides: list[tuple[str, set[int] | None]],
) -> Iterator[bytes]:
    stats = ExportStats(labels=[label.name for label in labels])
    model_version = stats.model_version = table.version_id if table is not None else None
    label_ids = [label.pk for label in labels]
    try:

        def counted(keep_ids: set[int] | None = sides[0][1]) -> Iterator[Chunk]:
            for ids, chunk in iter_chunks(
                project=project, options=options, labels=labels, chunk_size=chunk_size, keep_ids=keep_ids
            ):
                if table is not None:
                    chunk.predictions = table.lookup(item_ids=np.asarray(ids, dtype=np.int64), label_ids=label_ids)
                if options.format in ("prodigy", "labelstudio"):
                    chunk.annotations = chunk_annotations(ids=ids, labels=labels, options=options)
                stats.rows += len(chunk)
                yield chunk

        if options.format == "jsonl":
            yield from write_jsonl(counted(), labels, model_version=model_version)
        elif options.format == "doccano":
            yield from write_doccano(counted(), labels)
        elif options.format == "prodigy":
            yield from write_prodigy(counted(), labels)
        elif options.format == "labelstudio":
            yield from write_labelstudio(counted(), labels)
        elif options.format == "hf":
            card = dataset_card(project=project, labels=labels, options=options, splits=[name for name, _ in sides])
            files = [
                (f"data/{name}.jsonl", write_jsonl(counted(keep), labels, model_version=model_version))
                for name, keep in sides
            ]
            yield from write_zip([("README.md", iter([card.encode()])), *files])
        elif options.format == "csv":
            yield from write_csv(
                counted(),
                labels,
                include_judgments=options.include_judgments,
                predictions=table is not None,
                model_version=model_version,
                escape_formulas=options.escape_formulas,
            )
        else:
            yield from write_parquet(
                counted(),
                labels,
                include_judgments=options.include_judgments,
                predictions=table is not None,
                model_version=model_version,
            )
        stats.complete = True
    finally:
        after = {
            "filters": options.filters(),
            "labels": stats.labels,
            "rows": stats.rows,
            "complete": stats.complete,
        }
        if table is not None:
            after["model_version"] = stats.model_version
        record_audit(action="export", actor=actor, project=project, after=after)


def filename(project: Project, options: ExportOptions, *, ascii_only: bool = False) -> str:
    """The download's name: the project's name in lower case with its letters and digits, in any script.

    ``ascii_only`` gives the fallback for clients that cannot read a UTF-8
    name (RFC 6266): accents dropped ("Ünï" becomes "uni"), other scripts gone,
    "project" if nothing is left.
    """
    if ascii_only:
        name = unicodedata.normalize("NFKD", project.name.lower()).encode("ascii", "ignore").decode()
        stem = re.sub(r"[^a-z0-9_]+", "-", name)
    else:
        stem = re.sub(r"\W+", "-", unicodedata.normalize("NFC", project.name.lower()))
    stem = stem.strip("-") or "project"
    suffix = f"-{options.split}" if options.split else ""
    if options.format in TOOL_FORMATS:
        suffix += f"-{options.format}"
    return f"{stem}{suffix}.{EXTENSIONS[options.format]}"
