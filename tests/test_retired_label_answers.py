"""A retired label takes no new answers: imports from its retirement on and resolutions are refused, as for a merge."""

import io

import pytest
from django.urls import reverse

from annotate.dataset.importers import ImportFailed, ImportOptions, import_file
from annotate.models import Annotation, Item, Resolution
from annotate.setup.labelset import retire_label
from tests.factories import make_guideline

pytestmark = pytest.mark.django_db


@pytest.fixture
def retired(project, guideline, labels, manager):
    """ "praise" retired while v2 is in force; v1 is the version it was still asked under."""
    make_guideline(project)
    return retire_label(label=labels[4], actor=manager)


def import_csv(project, body: bytes) -> None:
    import_file(project=project, stream=io.BytesIO(body), options=ImportOptions(format="csv"))


def test_answers_from_its_retirement_on_are_refused_on_their_line(project, retired, annotator):
    body = b"external_id,text,annotator,guideline_version,praise\nc1,Great service,annie,2,1\n"
    with pytest.raises(ImportFailed) as failure:
        import_csv(project, body)
    (error,) = failure.value.errors
    assert (error.line, error.field) == (2, "praise")
    assert "was retired in guideline version 2" in error.message
    assert not Item.objects.filter(project=project).exists()


def test_answers_without_a_version_count_as_given_now_and_are_refused(project, retired, annotator):
    with pytest.raises(ImportFailed):
        import_csv(project, b"external_id,text,annotator,praise\nc1,Great service,annie,1\n")
    assert not Annotation.objects.exists()


def test_answers_given_before_it_was_retired_are_history_and_import(project, retired, annotator):
    import_csv(project, b"external_id,text,annotator,guideline_version,praise\nc1,Great service,annie,1,1\n")
    (annotation,) = Annotation.objects.all()
    assert list(annotation.judgments.values_list("label__name", "value")) == [("praise", 1)]


def test_a_resolution_on_it_is_refused(client, project, items, retired, reviewer):
    client.force_login(reviewer)
    response = client.post(
        reverse("api-resolutions", args=[project.pk]),
        {"item": items[0].pk, "label": retired.pk, "value": 1},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "is retired" in response.content.decode()
    assert not Resolution.objects.exists()
