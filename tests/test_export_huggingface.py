"""The Hugging Face export: a zip with a dataset card that declares the features, so files load together (issue 15)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml

from annotate.dataset.export import ExportOptions, export_stream
from annotate.dataset.importers import ImportOptions, import_file

LABELS = ["shipping", "refund", "billing", "bug", "praise"]


def load_rows(project, annie_count: int = 6) -> None:
    """Twelve items; only the last ones have a shipping answer, so the first half has it null on every row."""
    rows = []
    for n in range(12):
        answers = {"refund": n % 2}
        if n >= annie_count:
            answers["shipping"] = 1
        rows.append(
            {"external_id": f"h{n:02}", "text": f"text {n}", "annotations": [{"annotator": "annie", "labels": answers}]}
        )
    body = "".join(json.dumps(row) + "\n" for row in rows).encode()
    import_file(project=project, stream=io.BytesIO(body), options=ImportOptions("jsonl"))


def hf_zip(project, **options) -> zipfile.ZipFile:
    data = b"".join(export_stream(project=project, options=ExportOptions(format="hf", **options)))
    return zipfile.ZipFile(io.BytesIO(data))


def card_yaml(archive: zipfile.ZipFile) -> dict:
    text = archive.read("README.md").decode()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.mark.django_db
def test_the_card_declares_every_label_a_float_and_states_the_three_state_rule(project, labels, annotator):
    load_rows(project)
    archive = hf_zip(project, include_judgments=True)
    assert archive.namelist() == ["README.md", "data/train.jsonl"]
    meta = card_yaml(archive)
    features = {feature["name"]: feature for feature in meta["dataset_info"]["features"]}
    assert [field["name"] for field in features["labels"]["struct"]] == LABELS
    assert {field["dtype"] for field in features["labels"]["struct"]} == {"float64"}
    assert [field["name"] for field in features["judgments"]["list"]][:2] == ["annotator", "label"]
    assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "data/train*.jsonl"}]
    card = archive.read("README.md").decode()
    assert "null: nobody answered" in card
    rows = [json.loads(line) for line in archive.read("data/train.jsonl").splitlines()]
    assert len(rows) == 12 and rows[0]["labels"]["shipping"] is None


@pytest.mark.django_db
def test_a_split_puts_both_sides_in_the_zip(project, labels, annotator):
    load_rows(project)
    archive = hf_zip(project, split="train", test_size=0.25, seed=3)
    assert archive.namelist() == ["README.md", "data/train.jsonl", "data/validation.jsonl"]
    sides = {
        name: {json.loads(line)["id"] for line in archive.read(f"data/{name}.jsonl").splitlines()}
        for name in ("train", "validation")
    }
    assert len(sides["validation"]) == 3 and len(sides["train"]) == 9
    assert not sides["train"] & sides["validation"]
    assert [entry["split"] for entry in card_yaml(archive)["configs"][0]["data_files"]] == ["train", "validation"]


@pytest.mark.django_db
def test_two_export_files_with_a_label_null_in_one_load_together_in_datasets(project, labels, annotator, tmp_path):
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed in this environment")
    load_rows(project)
    archive = hf_zip(project)
    folder = tmp_path / "export"
    archive.extractall(folder)
    # Two files, as two exports dropped into data/: shipping is null on every row of the first.
    lines = (folder / "data" / "train.jsonl").read_bytes().splitlines(keepends=True)
    (folder / "data" / "train.jsonl").write_bytes(b"".join(lines[:6]))
    (folder / "data" / "train-2.jsonl").write_bytes(b"".join(lines[6:]))

    loaded = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))["train"]
    assert loaded.features["labels"]["shipping"].dtype == "float64"
    by_id = {row["id"]: row["labels"] for row in loaded}
    assert len(by_id) == 12
    assert by_id["h00"]["shipping"] is None and by_id["h11"]["shipping"] == 1.0
    assert by_id["h01"]["refund"] == 1.0 and by_id["h00"]["refund"] == 0.0


def test_the_fixture_card_parses_as_yaml_even_with_odd_label_names():
    from annotate.dataset.export import dataset_features

    class FakeLabel:
        def __init__(self, name: str) -> None:
            self.name = name

    lines = dataset_features(
        [FakeLabel('say "no": #1'), FakeLabel("ümlaut")], include_judgments=False, predictions=True
    )
    features = yaml.safe_load("\n".join(lines))
    assert [field["name"] for field in features[3]["struct"]] == ['say "no": #1', "ümlaut"]
    assert Path(__file__).exists()
