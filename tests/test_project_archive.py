"""An archived project is read-only: no hand-outs, no answers, hidden from its annotators, still exportable."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse

from annotate.models import Annotation, AuditEvent, ItemFlag
from annotate.setup.projects import archive_project
from annotate.work.annotating import Answer, SubmitRefused, skip_item, submit_annotation
from annotate.work.queue import next_item
from tests.api_support import api, client_for


def archive(client, project, manager, archived: str = "1"):
    client.force_login(manager)
    return client.post(reverse("project-archive", args=[project.pk]), {"archived": archived})


def test_an_archived_project_hands_out_nothing_and_stores_no_answer(client, project, queue, labels, annotator, manager):
    held, _ = next_item(annotator=annotator, project=project)
    assert archive(client, project, manager).status_code == 302
    project.refresh_from_db()
    assert project.is_archived

    assert next_item(annotator=annotator, project=project) is None
    with pytest.raises(SubmitRefused, match="archived"):
        submit_annotation(
            annotator=annotator,
            item=held,
            answers={labels[0].pk: Answer(1, 1.0)},
            idempotency_key=uuid.uuid4(),
            duration_ms=1000,
        )
    with pytest.raises(SubmitRefused, match="archived"):
        skip_item(annotator=annotator, item=held, reason="unclear", idempotency_key=uuid.uuid4(), duration_ms=1)
    assert not Annotation.objects.exists()
    assert AuditEvent.objects.filter(action="project.archive", project=project).count() == 1


def test_it_is_hidden_from_annotators_lists_but_not_from_managers(client, project, annotator, manager):
    archive_project(project=project, actor=manager)
    client.force_login(annotator)
    assert project.name not in client.get(reverse("home")).content.decode()
    assert client_for(annotator).get(api("/projects")).json()["results"] == []
    client.force_login(manager)
    page = client.get(reverse("home")).content.decode()
    assert "Archived" in page and project.name in page
    # Someone whose only projects are archived is told so, not that they belong to none.
    assert "You are not a member of any project" not in page
    assert "the projects you belong to are archived" in page
    assert [row["name"] for row in client_for(manager).get(api("/projects")).json()["results"]] == [project.name]


def test_it_can_still_be_exported(client, project, labels, reviewer, manager):
    archive(client, project, manager)
    response = client_for(reviewer).get(api("/export", project))
    assert response.status_code == 200
    b"".join(response.streaming_content)


def test_un_archiving_opens_it_again_and_the_api_does_both(client, project, queue, annotator, manager):
    archive(client, project, manager)
    archive(client, project, manager, archived="0")
    project.refresh_from_db()
    assert not project.is_archived
    assert next_item(annotator=annotator, project=project) is not None

    manager_api = client_for(manager)
    assert manager_api.post(api("/archive", project), {"archived": True}, format="json").json()["archived_at"]
    assert manager_api.post(api("/archive", project), {"archived": False}, format="json").json()["archived_at"] is None
    assert manager_api.post(api("/archive", project), {"archived": "yes"}, format="json").status_code == 400
    actions = list(AuditEvent.objects.filter(project=project).order_by("id").values_list("action", flat=True))
    assert actions == ["project.archive", "project.unarchive", "project.archive", "project.unarchive"]


HTMX = {"HTTP_HX_REQUEST": "true"}
NOTICE = "This project is archived: it is read-only"


def test_the_annotate_page_of_an_archived_project_says_so_instead_of_nothing_left(client, project, queue, annotator):
    archive_project(project=project, actor=None)
    client.force_login(annotator)
    html = client.get(reverse("annotate", args=[project.pk])).content.decode()
    assert NOTICE in html
    assert "Nothing left for you right now" not in html
    assert "left for you</span>" not in html  # the queue's count says nothing in an archived project


def test_a_submit_skip_or_flag_on_a_page_loaded_before_the_archive_is_refused_with_the_notice(
    client, project, queue, labels, annotator, manager
):
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content.decode()
    item_id = int(re.search(r"/annotate/(\d+)/submit/", page).group(1))
    key = re.search(r'name="idempotency_key" value="([0-9a-f-]+)"', page).group(1)
    archive_project(project=project, actor=manager)

    answer = {"idempotency_key": key, "duration_ms": "4000", f"label-{labels[0].pk}": "yes"}
    response = client.post(reverse("annotate-submit", args=[project.pk, item_id]), answer, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert NOTICE in html and "so nothing was saved" in html
    assert 'name="idempotency_key"' not in html  # no form to answer again

    skipped = {"idempotency_key": str(uuid.uuid4()), "duration_ms": "1", "reason": "unclear"}
    response = client.post(reverse("annotate-skip", args=[project.pk, item_id]), skipped)
    assert response.status_code == 422 and NOTICE in response.content.decode()

    flagged = {"reason": "unclear", "comment": ""}
    response = client.post(reverse("annotate-flag", args=[project.pk, item_id]), flagged, **HTMX)
    assert response.status_code == 400 and "archived" in response.content.decode()
    assert not Annotation.objects.exists() and not ItemFlag.objects.exists()
