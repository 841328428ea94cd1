"""manage.py import_items and manage.py export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotate.models import Item

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.django_db
def test_import_then_export_from_the_shell(project, labels, annotator, tmp_path):
    source = tmp_path / "items.jsonl"
    source.write_text(
        json.dumps(
            {
                "external_id": "s1",
                "text": "Parcel late",
                "annotations": [{"annotator": "annie", "labels": {"shipping": 1}}],
            }
        )
        + "\n"
    )
    call_command("import_items", str(project.pk), str(source), "--format", "jsonl")
    assert Item.objects.filter(project=project, external_id="s1").exists()

    target = tmp_path / "out.jsonl"
    call_command("export", project.name, "--format", "jsonl", "-o", str(target), "--labels", "shipping,refund")
    row = json.loads(target.read_text())
    assert row["labels"] == {"shipping": 1.0, "refund": None}


@pytest.mark.django_db
def test_a_bad_file_fails_the_command_and_imports_nothing(project, labels, annotator, capsys):
    with pytest.raises(CommandError, match="4 error"):
        call_command("import_items", str(project.pk), str(FIXTURES / "bad_import.jsonl"), "--format", "jsonl")
    assert "line 57" in capsys.readouterr().err
    assert Item.objects.count() == 0
