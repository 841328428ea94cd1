"""The export's model predictions: a real version is trained, and its stored scores come out in every format."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse

from annotate.dataset.export import ExportOptions, PredictionsUnavailable, export_stream
from annotate.models import AuditEvent, Item, Label
from annotate.work.queue import build_cold_start_queue
from learner import predictions, training
from learner.models import ModelVersion
from tests.api_support import api, clear_throttles, client_for  # noqa: F401
from tests.learner_support import make_labelled_project, small_config

# The export writes probabilities with 6 decimals (stored as float32, see
# annotate.dataset.export.PREDICTION_DECIMALS); this is that precision, not slack.
PRECISION = 1e-6


@pytest.fixture(autouse=True)
def fast_training(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(training, "default_config", small_config)
    settings.ARTIFACT_DIR = tmp_path / "artifacts"


@pytest.fixture
def trained(project, labels, annotator):
    """A project with a ready version, then one item and one label added after it was trained."""
    make_labelled_project(project, labels, annotator)
    build_cold_start_queue(project=project)
    version = training.create_version(project=project, trigger="manual")
    assert training.run_version(version.pk) == ModelVersion.Status.READY
    version.refresh_from_db()
    Item.objects.create(project=project, external_id="added-later", text="my parcel never came, refund please")
    Label.objects.create(project=project, name="urgent", order=99)
    return version


def export(project, file_format: str, **options) -> bytes:
    return b"".join(export_stream(project=project, options=ExportOptions(format=file_format, **options)))


def expected(project) -> dict[str, dict]:
    """What learner.predictions.predict says for every item, by external id (the added item included)."""
    rows = list(Item.objects.filter(project=project).order_by("pk").values_list("external_id", "text"))
    _, results = predictions.predict(project=project, texts=[text for _, text in rows])
    return {
        external_id: {
            "probabilities": {score.label: score.probability for score in result.scores},
            "labels": result.predicted_labels,
        }
        for (external_id, _), result in zip(rows, results, strict=True)
    }


def check_scored(external_id: str, probabilities: dict, chosen: list[str] | None, truth: dict) -> None:
    want = truth[external_id]
    assert set(probabilities) == {"shipping", "refund", "billing", "bug", "praise", "urgent"}
    for name, value in want["probabilities"].items():
        assert value is not None
        assert probabilities[name] == pytest.approx(value, abs=PRECISION), (external_id, name)
    # The label created after the version was trained has no score: null, not 0.
    assert probabilities["urgent"] is None
    assert chosen == want["labels"]


def test_jsonl_carries_the_stored_scores_of_the_latest_version(project, trained):
    rows = [json.loads(line) for line in export(project, "jsonl", predictions=True).decode().splitlines()]
    truth = expected(project)
    assert len(rows) == 41
    for row in rows:
        assert row["prediction_model_version"] == trained.pk
        if row["id"] == "added-later":
            # Not scored by this version: every value null, no predicted labels.
            assert set(row["prediction"].values()) == {None}
            assert row["predicted_labels"] is None
            continue
        check_scored(row["id"], row["prediction"], row["predicted_labels"], truth)
    # A model that decides nothing for any item would make the comparison above empty-handed.
    assert any(row["predicted_labels"] for row in rows)


def test_csv_has_pred_columns_with_empty_cells_for_unscored_items(project, trained):
    rows = list(csv.DictReader(io.StringIO(export(project, "csv", predictions=True).decode())))
    names = ["shipping", "refund", "billing", "bug", "praise", "urgent"]
    assert list(rows[0]) == [
        "id",
        "text",
        "metadata",
        *names,
        *[f"pred:{name}" for name in names],
        "predicted_labels",
        "prediction_model_version",
    ]
    truth = expected(project)
    for row in rows:
        assert row["prediction_model_version"] == str(trained.pk)
        cells = {name: row[f"pred:{name}"] for name in names}
        if row["id"] == "added-later":
            assert set(cells.values()) == {""} and row["predicted_labels"] == ""
            continue
        probabilities = {name: float(cell) if cell else None for name, cell in cells.items()}
        check_scored(row["id"], probabilities, json.loads(row["predicted_labels"]), truth)


def test_parquet_has_nullable_prediction_columns(project, trained):
    table = pq.read_table(io.BytesIO(export(project, "parquet", predictions=True)))
    assert str(table.schema.field("prediction").type.field("shipping").type) == "double"
    truth = expected(project)
    for row in table.to_pylist():
        assert row["prediction_model_version"] == trained.pk
        if row["id"] == "added-later":
            assert set(row["prediction"].values()) == {None} and row["predicted_labels"] is None
            continue
        check_scored(row["id"], row["prediction"], row["predicted_labels"], truth)


def test_a_label_filter_limits_the_prediction_columns_too(project, trained):
    rows = [
        json.loads(line)
        for line in export(project, "jsonl", predictions=True, labels=("refund", "bug")).decode().splitlines()
    ]
    truth = expected(project)
    for row in rows:
        assert list(row["prediction"]) == ["refund", "bug"]
        if row["id"] != "added-later":
            want = [name for name in truth[row["id"]]["labels"] if name in ("refund", "bug")]
            assert row["predicted_labels"] == want


def test_without_the_option_there_are_no_prediction_columns(project, trained):
    row = json.loads(export(project, "jsonl").decode().splitlines()[0])
    assert set(row) == {"id", "text", "metadata", "labels"}
    header = export(project, "csv").decode().splitlines()[0]
    assert "pred:" not in header and "predicted_labels" not in header
    table = pq.read_table(io.BytesIO(export(project, "parquet")))
    assert table.schema.names == ["id", "text", "metadata", "labels"]


def test_the_export_audit_names_the_model_version(project, trained):
    export(project, "jsonl", predictions=True)
    event = AuditEvent.objects.filter(action="export").latest("id")
    assert event.after["model_version"] == trained.pk
    assert event.after["filters"]["predictions"] is True


def test_no_ready_model_is_an_error_before_anything_is_streamed(project, labels, items):
    with pytest.raises(PredictionsUnavailable, match="No model version is ready"):
        export_stream(project=project, options=ExportOptions(format="jsonl", predictions=True))
    assert not AuditEvent.objects.filter(action="export").exists()


def test_a_ready_version_without_stored_scores_is_an_error(project, trained):
    import shutil

    shutil.rmtree(training.predictions_path(trained))
    with pytest.raises(PredictionsUnavailable, match="no stored predictions"):
        export_stream(project=project, options=ExportOptions(format="csv", predictions=True))


@pytest.mark.django_db
def test_api_answers_409_naming_predictions_without_a_model(project, items, labels, reviewer):
    answer = client_for(reviewer).get(api("/export?format=jsonl&predictions=true", project))
    assert answer.status_code == 409
    assert answer.json()["detail"].startswith("predictions=true: No model version is ready")
    assert not AuditEvent.objects.filter(action="export").exists()


@pytest.mark.django_db
def test_api_streams_predictions(project, trained, reviewer):
    answer = client_for(reviewer).get(api("/export?format=jsonl&predictions=true&labels=bug", project))
    assert answer.status_code == 200 and isinstance(answer, StreamingHttpResponse)
    rows = [json.loads(line) for line in b"".join(answer.streaming_content).decode().splitlines()]
    scored = [row for row in rows if row["id"] != "added-later"]
    truth = expected(project)
    for row in scored:
        assert row["prediction"]["bug"] == pytest.approx(truth[row["id"]]["probabilities"]["bug"], abs=PRECISION)


def test_command_writes_predictions_and_refuses_without_a_model(project, trained, tmp_path):
    target = tmp_path / "out.jsonl"
    call_command("export", str(project.pk), "--format", "jsonl", "--predictions", "-o", str(target))
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert all(row["prediction_model_version"] == trained.pk for row in rows)
    ModelVersion.objects.filter(project=project).update(status=ModelVersion.Status.FAILED)
    with pytest.raises(CommandError, match="--predictions"):
        call_command("export", str(project.pk), "--predictions", "-o", str(tmp_path / "none.jsonl"))


def test_the_export_page_offers_predictions_only_when_a_model_can_give_them(client, project, labels, reviewer):
    client.force_login(reviewer)
    page = client.get(f"/projects/{project.pk}/export/").content.decode()
    assert 'name="predictions" value="true" disabled' in page
    assert "No model version is ready" in page


def test_the_export_page_names_the_model_version_it_would_use(client, project, trained, reviewer):
    client.force_login(reviewer)
    page = client.get(f"/projects/{project.pk}/export/").content.decode()
    assert f"Include the predictions of model version {trained.pk}" in page
    assert "disabled" not in page.split('name="predictions"')[1].split(">")[0]
