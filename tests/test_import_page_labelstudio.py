"""The import page's second step for a Label Studio file: the data keys found, and a select of annotators per user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.dataset.importers import run_import_job, staged_path
from annotate.models import Annotation, ImportJob, Item
from tests.factories import add_member, make_user

EXPORT = Path(__file__).parent / "fixtures" / "labelstudio_1x_reviews.json"


def upload_step(client, project) -> tuple[str, str]:
    answer = client.post(
        f"/projects/{project.pk}/import/",
        {"file": SimpleUploadedFile("reviews.json", EXPORT.read_bytes()), "unticked": "unobserved"},
    )
    assert answer.status_code == 200
    page = answer.content.decode()
    token = re.search(r'name="staged" value="([0-9a-f]+)"', page).group(1)
    return token, page


@pytest.mark.django_db
def test_the_second_step_offers_the_data_keys_and_maps_users_to_annotators(
    client, project, labels, annotator, second_annotator, manager
):
    client.force_login(manager)
    token, page = upload_step(client, project)
    assert not Item.objects.filter(project=project).exists()
    assert "review (text in 4 of 4 tasks)" in page and "source (text in 4 of 4 tasks)" in page
    # The two Label Studio users, each with a select of the project's members.
    assert "user 7, 3 annotations" in page and "user 9, 2 annotations" in page
    assert "automatic: labelstudio-9 (new)" in page
    assert '<option value="arthur">arthur</option>' in page

    answer = client.post(
        f"/projects/{project.pk}/import/",
        {
            "staged": token,
            "text_key": "review",
            "unticked": "unobserved",
            "user_0": "annie",
            "user_1": "arthur",
        },
        follow=True,
    )
    assert answer.status_code == 200
    text = answer.content.decode()
    assert "Imported 4 new and 0 updated items with 5 annotations." in text
    assert "1 prediction not imported; 1 draft not imported; 3 results of other controls ignored" in text
    who = set(Annotation.objects.filter(item__project=project).values_list("annotator__username", flat=True))
    assert who == {"annie", "arthur"}
    assert staged_path(token) is None


@pytest.mark.django_db
def test_a_failed_second_step_keeps_the_file_and_names_the_place(client, project, labels, annotator, manager):
    client.force_login(manager)
    token, _ = upload_step(client, project)
    answer = client.post(
        f"/projects/{project.pk}/import/",
        {"staged": token, "text_key": "review", "unticked": "unobserved", "user_0": "annie"},
    )
    assert answer.status_code == 400
    text = answer.content.decode()
    # User 9 is on automatic, has no labelstudio-9 account, and creating one was not asked for.
    assert "task 1 (id 201), annotations[1] (id 902).completed_by" in text
    assert "Label Studio user 9" in text
    assert staged_path(token) is not None
    assert not Item.objects.filter(project=project).exists()


@pytest.mark.django_db
def test_a_staged_file_is_only_its_uploaders(client, project, labels, manager):
    client.force_login(manager)
    token, _ = upload_step(client, project)
    other = make_user("mona")
    add_member(project, other, "manager")
    client.force_login(other)
    answer = client.post(
        f"/projects/{project.pk}/import/",
        {"staged": token, "text_key": "review", "unticked": "unobserved"},
        follow=True,
    )
    assert "no longer waiting" in answer.content.decode()
    assert not Item.objects.filter(project=project).exists()


@pytest.mark.django_db
def test_a_big_label_studio_file_runs_in_the_background_with_the_choices_made(
    client, project, labels, annotator, second_annotator, manager, settings, django_capture_on_commit_callbacks
):
    settings.TAGWISE_IMPORT_BACKGROUND_BYTES = 1000
    client.force_login(manager)
    token, _ = upload_step(client, project)
    with django_capture_on_commit_callbacks(execute=False):
        answer = client.post(
            f"/projects/{project.pk}/import/",
            {"staged": token, "text_key": "review", "unticked": "unobserved", "user_0": "annie", "user_1": "arthur"},
            follow=True,
        )
    assert b"imported in the background" in answer.content
    job = ImportJob.objects.get()
    assert job.options["text_key"] == "review" and job.options["annotator_map"] == {"7": "annie", "9": "arthur"}
    assert staged_path(token) is None
    run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.errors
    assert job.options["result"]["notes"]["predictions"] == 1
    assert Annotation.objects.filter(item__project=project).count() == 5
