"""The model pages say why a version was skipped, and show a dash for a label without held-out answers."""

from __future__ import annotations

import copy
import re

import pytest
from django.urls import reverse

from learner import training
from learner.models import ModelVersion
from tests.learner_support import make_labelled_project, ready_version, small_config, train_now, trained_artifact


@pytest.fixture(autouse=True)
def fast_training(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(training, "default_config", small_config)
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return trained_artifact(tmp_path_factory.mktemp("model"), ["shipping", "refund", "billing", "bug", "praise"])


def status_cell(html: str, version: ModelVersion) -> str:
    """The status cell of a version's row in the versions table."""
    row = re.search(rf'<a href="[^"]*/{version.pk}/">#{version.pk}</a>.*?</tr>', html, re.S).group(0)
    return re.search(r'<span class="status status-skipped">.*?</td>', row, re.S).group(0)


def test_a_skip_for_too_few_answers_gives_its_reason_not_unchanged_data(client, manager, project, labels, annotator):
    make_labelled_project(project, labels, annotator, count=8, unanswered_items=4)
    version = train_now(project)
    assert version.status == ModelVersion.Status.SKIPPED
    reason = f"Only 4 items have answers; training needs {training.MIN_LABELLED_ITEMS}."
    client.force_login(manager)

    listing = client.get(reverse("models", args=[project.pk])).content.decode()
    cell = status_cell(listing, version)
    assert "data unchanged" not in listing
    assert "Skipped (not enough data)" in cell and reason in cell

    page = client.get(reverse("model-version", args=[project.pk, version.pk])).content.decode()
    assert "data unchanged" not in page
    assert "Skipped (not enough data)" in page and reason in page


def test_a_skip_for_unchanged_answers_says_so(client, manager, project, labels, annotator):
    make_labelled_project(project, labels, annotator)
    first = train_now(project)
    assert first.status == ModelVersion.Status.READY
    second = train_now(project)
    assert second.status == ModelVersion.Status.SKIPPED
    client.force_login(manager)

    cell = status_cell(client.get(reverse("models", args=[project.pk])).content.decode(), second)
    assert "Skipped (data unchanged)" in cell
    page = client.get(reverse("model-version", args=[project.pk, second.pk])).content.decode()
    assert "Skipped (data unchanged)" in page and "The answers have not changed since the last ready model." in page


def unmeasured(artifact: dict, position: int) -> dict:
    """The artifact's fields with the label at *position* left without held-out answers, as the metrics store it."""
    fields = copy.deepcopy(artifact)
    row = fields["metrics"]["per_label"][position]
    row.update(precision=0.0, recall=0.0, f1=0.0, ece=0.0, support=0, n_observed=0)
    bins = fields["metrics"]["calibration"][position]
    bins.update(count=[0] * len(bins["count"]), ece=0.0)
    return fields


def per_label_row(html: str, name: str) -> str:
    return re.search(rf'<th scope="row">{name}</th>.*?</tr>', html, re.S).group(0)


def test_a_label_without_held_out_answers_shows_dashes_not_zeros(client, manager, project, labels, artifact):
    version = ready_version(project, unmeasured(artifact, 1), labels)
    client.force_login(manager)

    for url in (reverse("models", args=[project.pk]), reverse("model-version", args=[project.pk, version.pk])):
        html = client.get(url).content.decode()
        refund = per_label_row(html, "refund")
        cells = re.findall(r'<td class="num[^"]*"[^>]*>(.*?)</td>', refund)
        assert cells[:4] == ["—", "—", "—", "—"]  # precision, recall, F1, ECE
        assert cells[4:6] == ["0", "0"]  # support and observed entries are real counts
        assert "0.000" not in refund
        assert "ECE — · 0 entries" in html
        # A label with answers keeps its figures.
        assert f"{artifact['metrics']['per_label'][0]['f1']:.3f}" in per_label_row(html, "shipping")


def test_compare_shows_a_dash_for_a_label_without_held_out_answers(client, manager, project, labels, artifact):
    before = ready_version(project, artifact, labels)
    after = ready_version(project, unmeasured(artifact, 1), labels)
    client.force_login(manager)

    html = client.get(reverse("model-compare", args=[project.pk]), {"before": before.pk, "after": after.pk})
    html = html.content.decode()
    refund = re.search(r"<tr><td>refund</td>.*?</tr>", html, re.S).group(0)
    cells = re.findall(r'<td class="num[^"]*">(.*?)</td>', refund)
    assert cells == [f"{artifact['metrics']['per_label'][1]['f1']:.3f}", "—", "—"]
