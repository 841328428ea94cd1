"""The review queue and resolutions: order, training target, audit trail, and who may see it."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.curation.answers import load_answers
from annotate.curation.review import review_queue, set_resolution
from annotate.models import AuditEvent, Resolution, Role
from tests.factories import add_member, annotate_item, make_user


def target(project, item, label) -> float:
    """The training target of (item, label), as the learner and the export read it."""
    answers = load_answers(project=project)
    row = int(np.searchsorted(answers.item_ids, item.pk))
    return float(answers.consensus().targets[row, answers.label_ids.index(label.pk)])


@pytest.fixture
def third_annotator(project):
    user = make_user("anton")
    add_member(project, user, Role.ANNOTATOR)
    return user


@pytest.fixture
def disputes(items, labels, guideline, annotator, second_annotator, third_annotator):
    """Four disputed entries with a known order, plus agreed and single answers that are not disputed."""
    shipping, refund, billing, bug, praise = labels
    ann, art, ant = annotator, second_annotator, third_annotator
    # Two annotators, confident on both sides: min(yes 0.9, no 0.9) = 0.9.
    annotate_item(items[0], ann, {shipping: (1, 0.9), refund: (1, 1.0)}, guideline=guideline, duration_ms=12_300)
    annotate_item(items[0], art, {shipping: (0, 0.9), refund: (1, 1.0)}, guideline=guideline, duration_ms=4_000)
    # Three annotators: first, however unsure the minority is (min = 0.3).
    annotate_item(items[1], ann, {billing: (1, 0.8)}, guideline=guideline)
    annotate_item(items[1], art, {billing: (1, 0.8)}, guideline=guideline)
    annotate_item(items[1], ant, {billing: (0, 0.3)}, guideline=guideline)
    # Two annotators, one of them unsure: min = 0.4, after the 0.9 split.
    annotate_item(items[2], ann, {bug: (1, 1.0), praise: (1, 0.5)}, guideline=guideline)
    annotate_item(items[2], art, {bug: (0, 0.4)}, guideline=guideline)
    # Three annotators with a stronger minority (min = 1.0): before the 0.3 one.
    annotate_item(items[3], ann, {praise: (0, 1.0)}, guideline=guideline)
    annotate_item(items[3], art, {praise: (1, 0.6)}, guideline=guideline)
    annotate_item(items[3], ant, {praise: (1, 0.6)}, guideline=guideline)
    return [(items[3], praise), (items[1], billing), (items[0], shipping), (items[2], bug)]


def test_the_queue_lists_disputed_entries_most_annotators_and_most_confident_split_first(project, disputes):
    page = review_queue(project=project, limit=10, offset=0)

    assert [(entry.item, entry.label) for entry in page.entries] == disputes
    assert page.total == 4
    first = page.entries[2]  # items[0] / shipping
    assert [(a.annotator, a.value, a.confidence, a.duration_ms, a.guideline_version) for a in first.answers] == [
        ("annie", 1, 0.9, 12_300, 1),
        ("arthur", 0, 0.9, 4_000, 1),
    ]
    second_page = review_queue(project=project, limit=2, offset=2)
    assert [(entry.item, entry.label) for entry in second_page.entries] == disputes[2:]
    assert not second_page.has_next and second_page.has_previous


def test_the_page_shows_every_answer_with_confidence_time_and_version(client, project, disputes, reviewer):
    client.force_login(reviewer)
    response = client.get(f"/projects/{project.pk}/review/")
    assert response.status_code == 200
    html = response.content.decode()
    # Entries in queue order, each with its answers.
    positions = [html.index(f'id="entry-{item.pk}-{label.pk}"') for item, label in disputes]
    assert positions == sorted(positions)
    assert "annie" in html and "arthur" in html and "anton" in html
    assert "12.3 s" in html and "0.90" in html and "v1" in html


def test_a_resolution_becomes_the_training_target_and_leaves_the_queue(client, project, disputes, reviewer):
    item, label = disputes[0]
    answers = load_answers(project=project)
    row, column = int(np.searchsorted(answers.item_ids, item.pk)), answers.label_ids.index(label.pk)
    assert answers.consensus().disputed[row, column]

    client.force_login(reviewer)
    response = client.post(
        f"/projects/{project.pk}/review/resolve/",
        {"item": item.pk, "label": label.pk, "value": "0", "note": "sarcasm, not praise"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    swapped = response.content.decode()
    assert swapped.lstrip().startswith("<article") and "Resolved" in swapped and "sarcasm, not praise" in swapped
    result = load_answers(project=project).consensus()
    assert result.targets[row, column] == 0.0
    assert result.weights[row, column] == 1.0
    assert not result.disputed[row, column]
    remaining = review_queue(project=project, limit=10)
    assert [(entry.item, entry.label) for entry in remaining.entries] == disputes[1:]
    assert remaining.total == 3


def test_changing_a_resolution_later_keeps_the_earlier_value_in_the_audit_trail(client, project, disputes, reviewer):
    item, label = disputes[1]
    client.force_login(reviewer)
    url = f"/projects/{project.pk}/review/resolve/"
    first = client.post(
        url, {"item": item.pk, "label": label.pk, "value": "1", "note": "", "next": "https://evil.example/"}
    )
    # Without htmx the form redirects back to the review page, never elsewhere.
    assert first.status_code == 302 and first["Location"] == f"/projects/{project.pk}/review/"
    client.post(url, {"item": item.pk, "label": label.pk, "value": "0", "note": "guideline 2.3 says no"})

    resolution = Resolution.objects.get(item=item, label=label)
    assert (resolution.value, resolution.note) == (0, "guideline 2.3 says no")
    events = list(AuditEvent.objects.filter(action="resolution.set", object_id=str(resolution.pk)).order_by("id"))
    assert [(e.before and e.before["value"], e.after["value"]) for e in events] == [(None, 1), (1, 0)]
    assert all(e.actor == reviewer for e in events)
    assert target(project, item, label) == 0.0

    resolved_tab = client.get(f"/projects/{project.pk}/review/?show=resolved").content.decode()
    assert f'id="entry-{item.pk}-{label.pk}"' in resolved_tab
    assert "1 earlier decision" in resolved_tab and "Change to yes" in resolved_tab


def test_set_resolution_refuses_a_label_of_another_project(project, other_project, disputes, reviewer):
    from annotate.curation.review import ResolutionError
    from tests.factories import make_labels

    (foreign,) = make_labels(other_project, ["elsewhere"])
    with pytest.raises(ResolutionError):
        set_resolution(item=disputes[0][0], label=foreign, value=1, note="", reviewer=reviewer)


def test_annotators_never_see_the_review_page_and_outsiders_get_404(client, project, disputes, annotator, outsider):
    item, label = disputes[0]
    resolve = f"/projects/{project.pk}/review/resolve/"
    body = {"item": item.pk, "label": label.pk, "value": "1"}

    client.force_login(annotator)
    assert client.get(f"/projects/{project.pk}/review/").status_code == 403
    assert client.get(f"/projects/{project.pk}/review/?show=resolved").status_code == 403
    assert client.post(resolve, body).status_code == 403

    client.force_login(outsider)
    assert client.get(f"/projects/{project.pk}/review/").status_code == 404
    assert client.post(resolve, body).status_code == 404
    assert not Resolution.objects.exists()


def test_a_label_or_item_of_another_project_is_404(client, project, other_project, disputes, reviewer):
    from tests.factories import make_items, make_labels

    (foreign_label,) = make_labels(other_project, ["elsewhere"])
    (foreign_item,) = make_items(other_project, 1, prefix="theirs")
    client.force_login(reviewer)
    url = f"/projects/{project.pk}/review/resolve/"
    item, label = disputes[0]
    assert client.post(url, {"item": item.pk, "label": foreign_label.pk, "value": "1"}).status_code == 404
    assert client.post(url, {"item": foreign_item.pk, "label": label.pk, "value": "1"}).status_code == 404
    assert client.post(url, {"item": item.pk, "label": label.pk, "value": "maybe"}).status_code == 400
    assert not Resolution.objects.exists()
