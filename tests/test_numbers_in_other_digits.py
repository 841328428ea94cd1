"""A number written in other digits ("²", the Arabic-Indic one U+0661) is a bad value: a 400 or an error, never a 500.

``str.isdigit`` passes both, then ``int`` refuses the first (a 500) and
quietly reads the second as 1; annotate.text.is_whole_number is the one check.
"""

from __future__ import annotations

import io
import json

import pytest
from django.urls import reverse

from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Item
from annotate.text import is_whole_number
from tests.api_support import api, client_for

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "\u00b2"
ARABIC_INDIC_ONE = "\u0661"


def test_only_ascii_digits_make_a_whole_number():
    assert is_whole_number("120")
    assert not is_whole_number(SUPERSCRIPT_TWO)
    assert not is_whole_number(ARABIC_INDIC_ONE)
    assert not is_whole_number("")


@pytest.mark.parametrize("field", ["annotator", "label", "version", "after"])
@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_INDIC_ONE])
def test_the_item_browser_refuses_them_naming_the_field(client, project, labels, items, reviewer, field, digit):
    client.force_login(reviewer)
    response = client.get(f"/projects/{project.pk}/items/", {field: digit})
    assert response.status_code == 400
    assert field in response.content.decode()


def test_the_review_page_treats_such_a_cursor_as_none(client, project, labels, items, reviewer):
    client.force_login(reviewer)
    response = client.get(f"/projects/{project.pk}/review/", {"after": f"{SUPERSCRIPT_TWO}-1"})
    assert response.status_code == 200


def test_the_model_comparison_treats_such_a_version_as_none(client, project, labels, manager):
    """No version is named, so the page offers the most recent ones (none yet here)."""
    client.force_login(manager)
    response = client.get(reverse("model-compare", args=[project.pk]), {"before": SUPERSCRIPT_TWO})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/items", "/annotations"])
def test_an_api_page_size_in_other_digits_is_a_400(project, labels, manager, path):
    response = client_for(manager).get(api(path, project), {"page_size": SUPERSCRIPT_TWO})
    assert response.status_code == 400
    assert "page_size" in response.json()


def test_an_imported_duration_in_other_digits_is_an_error_on_its_line(project, labels, annotator):
    row = {"external_id": "j1", "text": "Late", "annotations": [{"annotator": "annie", "duration_ms": SUPERSCRIPT_TWO}]}
    with pytest.raises(ImportFailed) as failure:
        import_file(project=project, stream=io.BytesIO(json.dumps(row).encode()), options=ImportOptions("jsonl"))
    assert [(error.line, error.field) for error in failure.value.errors] == [(1, "annotations[0].duration_ms")]
    assert not Item.objects.filter(project=project).exists()
