"""The retrain loop ranks the queue with the one ranking function, under the queue's rule of what may be asked."""

import pytest

from annotate.models import AskMode, Judgment, QueueEntry, QueueReason
from learner import training
from learner.models import ModelVersion
from tests.learner_support import small_config, train_now


@pytest.fixture(autouse=True)
def fast_training(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(training, "default_config", small_config)
    settings.ARTIFACT_DIR = tmp_path / "artifacts"


def answered_by(item):
    judgments = Judgment.objects.filter(annotation__item=item, annotation__skipped=False)
    return set(judgments.values_list("label_id", flat=True))


def test_a_focus_project_is_asked_only_labels_that_need_answers(project, labels, labelled, annotator):
    project.ask_mode = AskMode.FOCUS
    project.focus_size = 2
    project.exploration_share = 0.25
    project.overlap_fraction = 0.0
    project.save()
    # Overlap items of the cold start still need a second observer of each label.
    overlap = set(
        QueueEntry.objects.filter(project=project, reason=QueueReason.OVERLAP).values_list("item_id", flat=True)
    )
    assert train_now(project).status == ModelVersion.Status.READY

    entries = list(QueueEntry.objects.filter(project=project).select_related("item"))
    reasons = {entry.reason for entry in entries}
    assert QueueReason.EXPLORATION in reasons and QueueReason.UNCERTAIN in reasons
    for entry in entries:
        answered = answered_by(entry.item)
        if entry.item_id in overlap:
            # Still an overlap round: its labels may have one observer and need a second.
            assert entry.reason == QueueReason.OVERLAP and entry.required == 2
            continue
        # An entry answered once has its one observer: it is never asked again.
        assert not set(entry.focus_labels) & answered
        if entry.reason == QueueReason.UNCERTAIN and entry.focus_labels:
            assert len(entry.focus_labels) == 2
        if entry.reason == QueueReason.EXPLORATION:
            # Exploration items ask every label they still need.
            assert set(entry.focus_labels) == {label.pk for label in labels} - answered
        # Every labelled item has open labels left, so every item is open in a new round.
        assert entry.required == 1 and entry.round == 1 and entry.completed == 0


def test_an_all_labels_project_keeps_its_counts_and_marks_three_labels(project, labels, labelled, annotator):
    before = dict(QueueEntry.objects.filter(project=project).values_list("item_id", "completed"))
    assert train_now(project).status == ModelVersion.Status.READY
    entries = QueueEntry.objects.filter(project=project)
    assert dict(entries.values_list("item_id", "completed")) == before
    assert {entry.round for entry in entries} == {0}
    open_entries = [entry for entry in entries.select_related("item") if entry.completed < entry.required]
    assert open_entries
    for entry in open_entries:
        unanswered = {label.pk for label in labels} - answered_by(entry.item)
        assert set(entry.focus_labels) <= unanswered
        assert len(entry.focus_labels) == min(training.FOCUS_LABELS, len(unanswered))
