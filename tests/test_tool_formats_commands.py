"""The shell and the API take the other tools' formats and their options (issue 15)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotate.models import Annotation, Item
from tests.api_support import api, clear_throttles, client_for  # noqa: F401

EXPORT = Path(__file__).parent / "fixtures" / "labelstudio_1x_reviews.json"


@pytest.mark.django_db
def test_import_items_takes_the_label_studio_options_and_prints_the_notes(project, labels, annotator, capsys):
    call_command(
        "import_items",
        str(project.pk),
        str(EXPORT),
        "--format",
        "labelstudio",
        "--text-key",
        "review",
        "--annotator-map",
        "7:annie",
        "--create-annotators",
    )
    result = json.loads(capsys.readouterr().out)
    assert result["notes"]["results_ignored"] == 3
    assert Item.objects.filter(project=project).count() == 4


@pytest.mark.django_db
def test_import_items_reports_errors_where_they_are(project, labels, annotator, capsys):
    with pytest.raises(CommandError):
        call_command("import_items", str(project.pk), str(EXPORT), "--format", "labelstudio", "--text-key", "review")
    assert "task 1 (id 201), annotations[0] (id 901).completed_by" in capsys.readouterr().err


@pytest.mark.django_db
def test_export_writes_prodigy_and_import_reads_it_back(project, labels, annotator, tmp_path):
    row = {"external_id": "s1", "text": "Parcel late", "annotations": [{"annotator": "annie", "labels": {"refund": 0}}]}
    source = tmp_path / "items.jsonl"
    source.write_text(json.dumps(row) + "\n")
    call_command("import_items", str(project.pk), str(source), "--format", "jsonl")
    target = tmp_path / "answers.jsonl"
    call_command("export", str(project.pk), "--format", "prodigy", "-o", str(target))
    (line,) = [json.loads(text) for text in target.read_text().splitlines()]
    assert line["options"] == [{"id": "refund", "text": "refund"}] and line["accept"] == []

    Item.objects.filter(project=project).delete()
    call_command("import_items", str(project.pk), str(target), "--format", "prodigy")
    judgments = Annotation.objects.get(item__external_id="s1").judgments.values_list("label__name", "value")
    assert list(judgments) == [("refund", 0)]


@pytest.mark.django_db
def test_the_api_export_answers_a_zip_for_hf(project, labels, annotator, manager):
    answer = client_for(manager).get(api("/export?format=hf", project))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/zip"
    assert answer["Content-Disposition"].endswith('.zip"')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(answer.streaming_content)))
    assert archive.namelist() == ["README.md", "data/train.jsonl"]


@pytest.mark.django_db
def test_the_api_import_takes_doccano_with_an_annotator(project, labels, annotator, manager):
    body = b'{"id": 3, "text": "Refund please", "label": ["Refund"], "source": "chat"}\n'
    answer = client_for(manager).generic(
        "POST", api("/import?format=doccano&annotator=annie", project), body, content_type="application/x-ndjson"
    )
    assert answer.status_code == 201, answer.content
    item = Item.objects.get(project=project, external_id="3")
    assert item.metadata == {"source": "chat"}
    assert list(item.annotations.get().judgments.values_list("label__name", "value")) == [("refund", 1)]
