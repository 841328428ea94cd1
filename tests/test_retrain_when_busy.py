"""A retrain after a label change or an embedding warm-up waits for a busy slot; one after annotations is dropped."""

import pytest

from learner import tasks, training


@pytest.fixture
def busy(monkeypatch, sent_tasks):
    """Every create_version finds the slot taken; the re-sent tasks are collected instead of queued."""
    monkeypatch.setattr(training, "create_version", lambda **kwargs: None)
    return sent_tasks


@pytest.mark.parametrize("trigger", ["labels", "embeddings"])
def test_a_retrain_for_a_change_is_asked_again_in_a_minute(project, busy, trigger):
    assert tasks.retrain(project.pk, trigger=trigger) == "busy; asked again in a minute"
    assert busy == [("learner.tasks.retrain", (project.pk,), {"trigger": trigger, "attempt": 1, "countdown": 60})]


def test_it_gives_up_after_half_an_hour(project, busy):
    assert tasks.retrain(project.pk, trigger="labels", attempt=tasks.BUSY_RETRIES) == "busy"
    assert busy == []


def test_a_retrain_for_new_annotations_is_dropped_the_next_ones_ask_again(project, busy):
    assert tasks.retrain(project.pk, trigger="annotations") == "busy"
    assert busy == []
