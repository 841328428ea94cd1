"""The retrain loop: snapshot the answers, train, evaluate, score every item, re-rank the queue.

The Celery tasks in learner/tasks.py only call these functions. Every step
is safe to run twice: a version moves only through the transitions of
``ModelVersion.objects`` (learner/models.py), each a conditional UPDATE that
says whether it won, and the queue and the version's status change together
in one transaction at the end, so a failure anywhere leaves the last good
model and the queue as they were (docs/learner.md, "Model versions").
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotate import jobs
from annotate.curation.answers import AnswerArrays, load_answers
from annotate.models import AskMode, Item, Judgment, Project, QueueEntry, QueueReason, record_audit
from annotate.work.annotating import label_rules
from annotate.work.queue import set_queue_priorities
from learner.ml import LabelRules, TagwiseModel, TrainConfig, config_for, load_model, train_model
from learner.ml.embeddings import embed_texts, embeddings_available, uncached_texts
from learner.ml.sampling import focus_labels, item_scores, label_need, rank_for_annotation, uncertainty
from learner.models import HEARTBEAT_EVERY, ModelVersion

logger = logging.getLogger(__name__)

# Below this many items with at least one answer there is nothing to learn.
MIN_LABELLED_ITEMS = 10
# How many labels of an item the annotate page highlights in an "all labels"
# project ("focus labels" projects ask ``Project.focus_size``).
FOCUS_LABELS = 3
# The share of random items in the ranked head of an "all labels" project, so
# the answers the model is measured on are not only the hardest items.
EXPLORATION_SHARE = 0.1
# The head of the queue that the ranking picks for diversity, exploration and
# overlap; the rest follows by score. Retrains come every few dozen answers,
# long before a team works through it.
RANKED_HEAD = 2000
SCORING_CHUNK = 5000
# Stored model files kept per project: the model in use and two before it.
KEEP_ARTIFACTS = 3
# Sentence embeddings are slow to compute on a CPU (the cost per text is in
# docs/benchmarks.md, "Model quality on GoEmotions"). A training run encodes
# up to this many texts missing from the embedding cache itself; with more
# (a large import), the version trains without the embedding member, so the
# first model comes in minutes, and ``warm_embeddings`` walks the items
# WARM_BATCH at a time, one short task each so retrains can run between
# them, then asks for a retrain that uses them.
EMBED_WHILE_TRAINING = 3000
# Queue entries written per transaction when a version publishes its ranking (write_ranking).
RANKING_CHUNK = 2000
WARM_BATCH = 2000
# How long a project's warm-up chain holds its slot after its last batch (a lost chain frees it).
WARM_SLOT_SECONDS = 6 * 3600
# The start of metrics["embeddings"] of a version trained without them for
# that reason: the words the model page shows (the flag is
# ``ModelVersion.embeddings_deferred``).
DEFERRED = "deferred"
# The reason stored on a retrain skipped because its answers are those of the last ready model.
UNCHANGED_REASON = "The answers have not changed since the last ready model."


class SkipRetrain(Exception):
    """Training would teach nothing new; the version ends as skipped, of ``kind``, with the message as its reason."""

    def __init__(self, kind: ModelVersion.SkipKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def create_version(*, project: Project, trigger: str, actor: Any = None) -> ModelVersion | None:
    """Queue a new model version, or return None when one is already queued or running.

    The database's partial unique constraint (one active version per project)
    decides between two simultaneous triggers: exactly one insert succeeds.
    """
    # A version whose worker is gone must not hold the slot against this one.
    ModelVersion.objects.fail_stale(project=project, now=timezone.now())
    try:
        with transaction.atomic():
            version = ModelVersion.objects.create(
                project=project, trigger=trigger, config=default_config(project=project).as_dict()
            )
            record_audit(action="model.retrain", actor=actor, project=project, obj=version, after={"trigger": trigger})
    except IntegrityError:
        return None
    return version


def queue_retrain(*, project: Project, trigger: str, actor: Any = None) -> ModelVersion | None:
    """Queue a retrain and send it to a worker when the transaction commits."""
    version = create_version(project=project, trigger=trigger, actor=actor)
    if version is not None:
        version_id = version.pk
        transaction.on_commit(lambda: send_to_worker(version_id))
    return version


def send_to_worker(version_id: int) -> None:
    """Send the training task of a queued version.

    If the broker cannot be reached, the version is failed at once: left
    queued, it would hold the project's only training slot until it turned
    stale hours later, and the manager's button would do nothing meanwhile.
    """
    if not jobs.send(jobs.TRAIN_VERSION, version_id):
        ModelVersion.objects.fail_unsent(version_id)


def default_config(*, project: Project) -> TrainConfig:
    """The configuration for the project's next version: ``config_for`` its size and how its answers came in.

    The active-learning simulation measured the same rule (docs/learner.md):
    a young project trains without the network, and a project whose answers
    the queue asked (focus labels) trains without the missingness correction.
    """
    judgments = Judgment.objects.filter(annotation__item__project=project, annotation__skipped=False).count()
    return config_for(
        n_items=Item.objects.filter(project=project).count(),
        n_observed_entries=judgments,
        answers_from_queue=project.ask_mode == AskMode.FOCUS,
    )


def active_version(*, project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project).active().first()


def latest_ready(*, project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, status=ModelVersion.Status.READY).first()


def run_version(version_id: int) -> str:
    """Train, evaluate and score one queued version. Returns the final status.

    A task delivered twice finds the version already claimed and does nothing.
    """
    if not ModelVersion.objects.claim(version_id):
        return "not-claimed"
    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    try:
        with _kept_alive(version_id):
            return _train_and_score(version)
    except SkipRetrain as skip:
        ModelVersion.objects.finish(version_id, ModelVersion.Status.SKIPPED, error=str(skip), skip_kind=skip.kind)
        return ModelVersion.Status.SKIPPED
    except Exception:
        logger.exception("Training model version %s failed", version_id)
        ModelVersion.objects.finish(version_id, ModelVersion.Status.FAILED, error=traceback.format_exc(limit=8)[-4000:])
        # A version that never became ready is never served: its files would only fill the disk.
        artifact_path(version).unlink(missing_ok=True)
        shutil.rmtree(predictions_path(version), ignore_errors=True)
        return ModelVersion.Status.FAILED


@contextmanager
def _kept_alive(version_id: int) -> Iterator[None]:
    """Write the version's heartbeat every HEARTBEAT_EVERY from a thread while the body runs.

    Progress reports come only between steps, and a step (encoding texts,
    scoring 100,000 items) may take longer than STALE_AFTER; the thread
    beats through it. It dies with the process, so a killed worker stops
    beating and the periodic check frees the slot (docs/learner.md).
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_EVERY.total_seconds()):
                try:
                    if not ModelVersion.objects.keep_alive(version_id):
                        return
                except Exception:
                    # The database is away: beat again at the next turn, on a fresh connection.
                    logger.warning("Model version %s could not write its heartbeat", version_id, exc_info=True)
                    connection.close()
        finally:
            # The thread's own connection; Django keeps one per thread.
            connection.close()

    threading.Thread(target=beat, name=f"heartbeat-{version_id}", daemon=True).start()
    try:
        yield
    finally:
        # Not joined: a beat that is waiting on the database must not hold up
        # the task's end; a beat after the end matches no row.
        stop.set()


def _train_and_score(version: ModelVersion) -> str:
    project = version.project
    labels = list(project.active_labels().select_related("introduced_in"))
    answers = load_answers(project=project, labels=labels)
    # Taken after the read: an annotation created later cannot be in this
    # snapshot, so the quality estimate may test the version on it (docs/learner.md).
    snapshot_at = timezone.now().isoformat()
    result = answers.consensus()
    texts = _texts(answers)
    observed = ~np.isnan(result.targets)
    labelled_items = int(observed.any(axis=1).sum())
    counts = {
        "items": len(texts),
        "labelled_items": labelled_items,
        "observed_entries": int(observed.sum()),
        "positive_entries": int((np.nan_to_num(result.targets) >= 0.5).sum()),
        "labels": len(labels),
    }
    digest = snapshot_hash(answers=answers, targets=result.targets, weights=result.weights)
    ModelVersion.objects.record_snapshot(
        version.pk, counts=counts, digest=digest, label_ids=[label.pk for label in labels]
    )
    config = TrainConfig.from_dict(version.config) if version.config else default_config(project=project)
    # Sentence embeddings are costly to compute (docs/benchmarks.md); they are kept per
    # text (keyed by its hash) so that a retrain only encodes texts it has not seen.
    config.embedding_cache = config.embedding_cache or embedding_cache_path()
    waiting = _texts_to_embed(config=config, texts=texts)
    deferred = waiting > EMBED_WHILE_TRAINING
    previous = latest_ready(project=project)
    # Unchanged answers train nothing new, unless the last model went without
    # embeddings that are ready now.
    if previous is not None and previous.dataset_hash == digest and (deferred or not previous.embeddings_deferred):
        raise SkipRetrain(ModelVersion.SkipKind.UNCHANGED_ANSWERS, UNCHANGED_REASON)
    if labelled_items < MIN_LABELLED_ITEMS:
        raise SkipRetrain(
            ModelVersion.SkipKind.NOT_ENOUGH_DATA,
            f"Only {labelled_items} items have answers; training needs {MIN_LABELLED_ITEMS}.",
        )

    config.label_names = [label.name for label in labels]
    config.rules = LabelRules.coerce(label_rules(labels=labels).index_pairs(labels))
    if deferred:
        config.embeddings = False
    model = train_model(
        texts, result.targets, result.weights, config=config, seed=version.pk, progress=_progress_writer(version)
    )
    model.metrics["snapshot_at"] = snapshot_at
    if deferred:
        model.metrics["embeddings"] = f"{DEFERRED}: {waiting} texts are being encoded; the next model uses them"
    path = artifact_path(version)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)

    # A version marked stale while it trained has lost its slot and must not come back to life.
    if not ModelVersion.objects.to_scoring(version.pk):
        raise RuntimeError("The version lost its training slot while it trained.")
    proba = score_texts(model=model, texts=texts, n_labels=len(labels))
    save_predictions(
        version=version,
        item_ids=answers.item_ids,
        label_ids=[label.pk for label in labels],
        proba=proba,
        decisions=model.decide(proba),
        thresholds=model.thresholds,
    )
    entries = score_items(
        model=model, texts=texts, answers=answers, observed=observed, seed=version.pk, proba=proba, project=project
    )
    write_ranking(version=version, project=project, entries=entries)
    # Only a version that still holds the slot may publish.
    published = ModelVersion.objects.publish(
        version.pk,
        artifact_path=str(path),
        metrics=_json_safe(model.metrics),
        thresholds=[float(t) for t in model.thresholds],
        embeddings_deferred=deferred,
    )
    if not published:
        raise RuntimeError("The version lost its training slot before it could publish.")
    prune_artifacts(project=project)
    if deferred and version.trigger == "embeddings":
        # The warm-up that asked for this retrain did not leave the texts
        # encoded (the cache cannot be written?): starting it again would
        # loop, one full training per turn.
        logger.warning("Project %s: texts still not encoded after the embedding warm-up", project.pk)
    elif deferred:
        start_warming_embeddings(project_id=project.pk)
    return ModelVersion.Status.READY


def write_ranking(*, version: ModelVersion, project: Project, entries: list[tuple[int, float, list[int], str]]) -> None:
    """Write the version's ranking into the queue in chunks of item ids, each its own short transaction.

    One transaction over a 100,000-item queue held every entry's row lock for
    seconds, and every submit and next item waited for it (docs/benchmarks.md,
    "Load and faults"). A chunk is written only while the version still holds
    the training slot, checked with its row locked, so a version marked stale
    meanwhile stops at its next chunk and never overwrites a newer queue.
    """
    ordered = sorted(entries, key=lambda entry: entry[0])
    for start in range(0, len(ordered), RANKING_CHUNK):
        with transaction.atomic():
            if not ModelVersion.objects.lock_if_scoring(version.pk):
                raise RuntimeError("The version lost its training slot while it wrote the queue.")
            set_queue_priorities(
                project=project, entries=ordered[start : start + RANKING_CHUNK], model_version_id=version.pk
            )


def embedding_cache_path() -> str:
    """One cache for every project: its key is the text's hash, so identical texts share a row."""
    return str(Path(settings.DATA_DIR) / "embeddings.sqlite")


def _texts_to_embed(*, config: TrainConfig, texts: list[str]) -> int:
    """How many distinct texts training would have to encode first, in the cache the warm-up fills.

    0 when the model has no embedding member, and when its config names
    another cache: the warm-up could not fill that one, so training encodes
    its texts itself.
    """
    if not (config.wants_embeddings and embeddings_available()) or config.embedding_cache != embedding_cache_path():
        return 0
    return len(uncached_texts(texts, embedding_cache_path()))


def _warm_slot(project_id: int) -> str:
    return f"learner:warm-embeddings:{project_id}"


def start_warming_embeddings(*, project_id: int) -> bool:
    """Send the first warm-up batch unless the project's warm-up is already under way."""
    if not cache.add(_warm_slot(project_id), True, WARM_SLOT_SECONDS):
        return False
    if not jobs.send(jobs.WARM_EMBEDDINGS, project_id):
        cache.delete(_warm_slot(project_id))
        return False
    return True


def warm_embeddings(*, project_id: int, after_id: int = 0, batch: int | None = None) -> int | None:
    """Encode the texts missing from the embedding cache among the next ``batch`` items after ``after_id``.

    Returns the item id to go on after, or None when every item has been
    seen (and the project's warm-up slot is freed). Walking the items by id
    keeps the whole chain linear in the project's size; running a batch
    twice is harmless, the second run finds its texts cached.
    """
    batch = batch or WARM_BATCH
    rows = list(
        Item.objects.filter(project_id=project_id, pk__gt=after_id).order_by("pk").values_list("pk", "text")[:batch]
    )
    embed_texts(uncached_texts([text for _, text in rows], embedding_cache_path()), embedding_cache_path())
    if len(rows) < batch:
        cache.delete(_warm_slot(project_id))
        return None
    # A long chain keeps its slot: another deferred retrain must not start a second one.
    cache.touch(_warm_slot(project_id), WARM_SLOT_SECONDS)
    return rows[-1][0]


def prune_artifacts(*, project: Project, keep: int = KEEP_ARTIFACTS) -> int:
    """Delete the stored models of all but the newest ``keep`` ready versions.

    A project retrains every few dozen answers; keeping every artifact would
    fill the disk. Older versions keep their metrics for the model page; only
    the file (predictions, top features) goes.
    """
    old = ModelVersion.objects.filter(project=project, status=ModelVersion.Status.READY).exclude(artifact_path="")[
        keep:
    ]
    pruned = 0
    for version in old:
        Path(version.artifact_path).unlink(missing_ok=True)
        shutil.rmtree(predictions_path(version), ignore_errors=True)
        ModelVersion.objects.forget_artifact(version.pk)
        pruned += 1
    return pruned


def _texts(answers: AnswerArrays) -> list[str]:
    by_id = dict(Item.objects.filter(pk__in=answers.item_ids.tolist()).values_list("pk", "text"))
    return [by_id[int(pk)] for pk in answers.item_ids]


def snapshot_hash(*, answers: AnswerArrays, targets: np.ndarray, weights: np.ndarray) -> str:
    """A hash of what the model would see: items, labels, targets and weights."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(answers.item_ids).tobytes())
    digest.update(np.asarray(answers.label_ids, dtype=np.int64).tobytes())
    # NaN never equals itself, so hash the mask and the filled values separately.
    digest.update(np.isnan(targets).tobytes())
    digest.update(np.nan_to_num(targets, nan=-1.0).round(6).tobytes())
    digest.update(np.nan_to_num(weights, nan=-1.0).round(6).tobytes())
    return digest.hexdigest()


def _progress_writer(version: ModelVersion) -> Any:
    """A progress callback that writes percent and phase, at most once a second."""
    last = [0.0]

    def report(fraction: float, phase: str) -> None:
        now = time.monotonic()
        if now - last[0] < 1.0 and fraction < 1.0:
            return
        last[0] = now
        ModelVersion.objects.heartbeat(version.pk, progress=round(min(fraction, 1.0) * 0.9, 4), phase=phase)

    return report


def artifact_path(version: ModelVersion) -> Path:
    return Path(settings.ARTIFACT_DIR) / f"project-{version.project_id}" / f"model-{version.pk}.joblib"


def score_texts(*, model: TagwiseModel, texts: list[str], n_labels: int) -> np.ndarray:
    """Calibrated probabilities of ``texts``, (texts, labels), computed in chunks to bound memory."""
    if not texts:
        return np.zeros((0, n_labels))
    return np.vstack(
        [model.predict_proba(texts[start : start + SCORING_CHUNK]) for start in range(0, len(texts), SCORING_CHUNK)]
    )


def predictions_path(version: ModelVersion) -> Path:
    """The folder holding the version's stored scores of every item (see ``save_predictions``)."""
    return Path(settings.ARTIFACT_DIR) / f"project-{version.project_id}" / f"model-{version.pk}.predictions"


def save_predictions(
    *,
    version: ModelVersion,
    item_ids: np.ndarray,
    label_ids: list[int],
    proba: np.ndarray,
    decisions: np.ndarray,
    thresholds: np.ndarray,
) -> Path:
    """Store the scores the version gave every item of the project when it was trained, for the export.

    A folder of plain .npy files (item ids sorted, float32 probabilities,
    boolean decisions) and a JSON file naming the labels and thresholds, so
    the export can memory-map it and read one chunk of items at a time. The
    folder is written under a temporary name and renamed, so a reader never
    sees half of it. Items added after the version was scored are not in it:
    the export gives them null, not a guess.
    """
    target = predictions_path(version)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    order = np.argsort(item_ids, kind="stable")
    np.save(partial / "item_ids.npy", np.asarray(item_ids, dtype=np.int64)[order])
    np.save(partial / "proba.npy", np.asarray(proba, dtype=np.float32)[order])
    np.save(partial / "decisions.npy", np.asarray(decisions, dtype=bool)[order])
    meta = {
        "version_id": version.pk,
        "label_ids": [int(label_id) for label_id in label_ids],
        "thresholds": [float(value) for value in thresholds],
    }
    (partial / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def score_items(
    *,
    model: TagwiseModel,
    texts: list[str],
    answers: AnswerArrays,
    observed: np.ndarray,
    seed: int,
    proba: np.ndarray | None = None,
    project: Project | None = None,
) -> list[tuple[int, float, list[int], str]]:
    """Priorities, focus labels and reasons for every item, for ``set_queue_priorities``.

    The one ranking is ``learner.ml.sampling.rank_for_annotation``: the head
    of the queue (``RANKED_HEAD`` items) is its batch, diverse in the model's
    feature space, with a share of random exploration items and of overlap
    items; the rest follows by the same item score. Which entries may still
    be asked is the queue's rule (docs/annotating.md): in a project that asks
    focus labels, an (item, label) needs more answers while it has fewer
    observers than its round needs; in an "all labels" project an item needs
    more while it has fewer annotations than it requires. An item with
    nothing left to ask gets no focus labels, which closes it in a
    focus-label project. In an "all labels" project (or without a
    project) every entry in ``observed`` counts as answered, as before.
    """
    if proba is None:
        proba = score_texts(model=model, texts=texts, n_labels=len(answers.label_ids))
    asks_focus = project is not None and project.ask_mode == AskMode.FOCUS
    if asks_focus and project is not None:
        enough, overlap_open = answered_enough(project=project, answers=answers)
        focus_size: int | None = project.focus_size
        exploration, overlap_share = project.exploration_share, project.overlap_fraction
    else:
        # Every label is asked: an item's score sums all its unanswered labels,
        # and its focus labels only mark the few the model is least sure about.
        enough, overlap_open = observed.astype(bool), np.zeros(len(texts), dtype=bool)
        focus_size, exploration, overlap_share = None, EXPLORATION_SHARE, 0.0
    askable = np.flatnonzero(~enough.all(axis=1))
    label_weights = None
    if asks_focus:
        # Favour labels with few known positives (``label_need``): macro-F1
        # weighs a rare label like any other, and on GoEmotions this took the
        # focus-label default from 60 % to 68 % fewer judgments than random
        # (3 seeds, docs/learner.md, "Active learning: ranking and proof").
        positives = (np.nan_to_num(answers.values, nan=0.0) >= 0.5).any(axis=2).sum(axis=0)
        label_weights = label_need(positives)
    picks = rank_for_annotation(
        proba,
        enough,
        model.features(texts),
        batch_size=min(RANKED_HEAD, len(askable)),
        focus_size=focus_size,
        exploration=exploration,
        overlap_share=overlap_share,
        seed=seed,
        thresholds=model.thresholds,
        label_weights=label_weights,
    )
    unsure = uncertainty(proba, model.thresholds)
    if label_weights is not None:
        unsure = unsure * label_weights[None, :]
    scores = item_scores(unsure, enough, k=focus_size)
    focus = focus_labels(unsure, enough, k=focus_size or FOCUS_LABELS)
    ranked = [
        (pick.item, list(pick.focus) if asks_focus else [int(j) for j in focus[pick.item] if j >= 0], pick.reason)
        for pick in picks
    ]
    # The rest of the queue, after the ranked head, by the same score.
    in_head = np.zeros(len(texts), dtype=bool)
    in_head[[pick.item for pick in picks]] = True
    rest = askable[~in_head[askable]]
    rest = rest[np.argsort(-scores[rest], kind="stable")]
    ranked += [(int(index), [int(j) for j in focus[index] if j >= 0], QueueReason.UNCERTAIN) for index in rest]
    # An overlap round still under way stays one: its labels need their second observer.
    ranked = [
        (index, chosen, QueueReason.OVERLAP if overlap_open[index] else reason) for index, chosen, reason in ranked
    ]
    label_ids = answers.label_ids
    total = len(ranked)
    entries = [
        # Priorities fall with rank, so the queue's order is exactly this ranking.
        (int(answers.item_ids[index]), float(total - rank), [label_ids[j] for j in chosen], str(reason))
        for rank, (index, chosen, reason) in enumerate(ranked)
    ]
    # Nothing left to ask: no focus labels, and last.
    entries += [
        (int(answers.item_ids[index]), 0.0, [], QueueReason.UNCERTAIN) for index in np.flatnonzero(enough.all(axis=1))
    ]
    return entries


def answered_enough(*, project: Project, answers: AnswerArrays) -> tuple[np.ndarray, np.ndarray]:
    """(items, labels) True where a focus-label project asks no more answers, and (items,) open overlap rounds.

    An entry has enough answers when it has as many observers as the item's
    round needs (the overlap count on an overlap round under way, else one),
    or a reviewer resolved it (docs/annotating.md, "When an item is open").
    """
    entries = {
        item_id: (reason, required, completed)
        for item_id, reason, required, completed in QueueEntry.objects.filter(project=project).values_list(
            "item_id", "reason", "required", "completed"
        )
    }
    rows = [entries.get(int(item_id), (QueueReason.COLD_START, 1, 0)) for item_id in answers.item_ids]
    overlap_open = np.array(
        [reason == QueueReason.OVERLAP and completed < required for reason, required, completed in rows], dtype=bool
    )
    needed = np.where(overlap_open, project.overlap_count, 1)
    observers = (~np.isnan(answers.values)).sum(axis=2)
    return (observers >= needed[:, None]) | ~np.isnan(answers.resolution), overlap_open


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


@lru_cache(maxsize=4)
def _cached_model(path: str) -> TagwiseModel:
    return load_model(path)


def predict_texts(*, version: ModelVersion, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated probabilities and decisions (thresholds, then label rules) for ``texts``."""
    model = _cached_model(version.artifact_path)
    proba = model.predict_proba(texts)
    return proba, model.decide(proba)


def top_features(*, version: ModelVersion, k: int = 8) -> list[list[tuple[str, float]]]:
    """The ``k`` features that push each label up most, in the version's label order.

    Empty when the version has no artifact (not ready, or the file is gone),
    so a page can show the rest of the version without it.
    """
    if not version.artifact_path or not Path(version.artifact_path).exists():
        return []
    return _top_features(version.artifact_path, k)


@lru_cache(maxsize=8)
def _top_features(path: str, k: int) -> list[list[tuple[str, float]]]:
    model = _cached_model(path)
    return [model.top_features(index, k) for index in range(model.n_labels)]
