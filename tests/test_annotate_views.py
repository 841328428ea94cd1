"""The annotate page over HTTP: full page and htmx fragment, no-JS fallback, refusals, warnings, my work, edits."""

import re
import uuid

from django.urls import reverse

from annotate.models import Annotation, AuditEvent, Judgment, Lease, QueueEntry
from annotate.views.annotating import label_keys
from tests.factories import annotate_item, make_guideline, make_labels, make_project

HTMX = {"HTTP_HX_REQUEST": "true"}


def form_data(item_page, answers, **extra):
    """The POST body the page's form would send: answers maps label -> ('yes'|'no', confidence)."""
    key = re.search(rb'name="idempotency_key" value="([0-9a-f-]+)"', item_page).group(1).decode()
    data = {"idempotency_key": key, "duration_ms": "4000"}
    for label, (state, confidence) in answers.items():
        data[f"label-{label.pk}"] = state
        data[f"conf-{label.pk}"] = str(confidence)
    data.update(extra)
    return data


def test_annotate_needs_login_and_membership(client, project, queue, outsider):
    url = reverse("annotate", args=[project.pk])
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), {}).status_code == 404


def test_page_shows_the_leased_item_with_three_states_per_label(client, project, queue, labels, annotator):
    client.force_login(annotator)
    response = client.get(reverse("annotate", args=[project.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Text number 0" in html
    assert Lease.objects.get(annotator=annotator).item == queue[0]
    for label in labels:
        # Not answered is the default, checked state: never "no".
        assert re.search(rf'name="label-{label.pk}" value=""\s+checked', html)
        assert f'aria-label="{label.name}: yes (key ' in html
        assert f'aria-label="{label.name}: no (Shift+' in html
        assert f'aria-label="{label.name}: not answered"' in html
        assert f'aria-label="Confidence for {label.name}"' in html
    assert 'id="help"' in html
    assert 'hx-post="' + reverse("annotate-submit", args=[project.pk, queue[0].pk]) in html


def test_htmx_submit_stores_and_returns_the_next_item_fragment(client, project, queue, labels, annotator):
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content
    shipping, refund, *_ = labels
    data = form_data(page, {shipping: ("yes", 1.0), refund: ("no", 0.55)})
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="annotate-work"')
    assert "<html" not in html
    assert "Text number 1" in html
    annotation = Annotation.objects.get(annotator=annotator)
    stored = {(j.label.name, j.value, j.confidence) for j in annotation.judgments.select_related("label")}
    assert stored == {("shipping", 1, 1.0), ("refund", 0, 0.55)}
    assert annotation.duration_ms <= 4000


def test_double_submit_stores_one_annotation(client, project, queue, labels, annotator):
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content
    data = form_data(page, {labels[0]: ("yes", 0.8)})
    url = reverse("annotate-submit", args=[project.pk, queue[0].pk])
    first = client.post(url, data, **HTMX)
    second = client.post(url, data, **HTMX)
    assert (first.status_code, second.status_code) == (200, 200)
    assert Annotation.objects.filter(annotator=annotator).count() == 1
    assert Judgment.objects.count() == 1


def test_submit_without_javascript_redirects_to_the_next_item(client, project, queue, labels, annotator):
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content
    data = form_data(page, {labels[1]: ("no", 1.0)})
    del data["duration_ms"]
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("annotate", args=[project.pk])
    assert "Text number 1" in client.get(response["Location"]).content.decode()


def test_require_all_refusal_names_labels_and_keeps_the_answers(client, project, queue, labels, annotator):
    project.require_all_labels = True
    project.save()
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content
    shipping, refund, billing, _bug, _praise = labels
    data = form_data(page, {shipping: ("yes", 1.0), refund: ("no", 0.8), billing: ("no", 0.8)})
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Not answered yet: bug, praise." in html
    assert re.search(rf'name="label-{shipping.pk}" value="yes"\s+checked', html)
    assert "Text number 0" in html
    assert not Annotation.objects.exists()


def test_rule_warning_then_submit_anyway(client, project, queue, labels, annotator):
    _shipping, refund, billing, *_ = labels
    refund.implies.add(billing)
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content
    assert f'data-implies="{billing.pk}"'.encode() in page
    url = reverse("annotate-submit", args=[project.pk, queue[0].pk])
    data = form_data(page, {refund: ("yes", 1.0)})
    warned = client.post(url, data, **HTMX)
    assert warned.status_code == 422
    assert "refund implies billing: mark billing yes?" in warned.content.decode()
    assert "Submit anyway" in warned.content.decode()
    assert not Annotation.objects.exists()
    anyway = client.post(url, {**data, "confirm_rules": ["", "1"]}, **HTMX)
    assert anyway.status_code == 200
    assert Annotation.objects.get().judgments.get().label == refund


def test_skip_with_reason_over_htmx(client, project, queue, annotator):
    client.force_login(annotator)
    page = client.get(reverse("annotate", args=[project.pk])).content
    key = re.search(rb'name="idempotency_key" value="([0-9a-f-]+)"', page).group(1).decode()
    url = reverse("annotate-skip", args=[project.pk, queue[0].pk])
    response = client.post(url, {"idempotency_key": key, "reason": "other", "reason_other": "Duplicate"}, **HTMX)
    assert response.status_code == 200
    assert "Text number 1" in response.content.decode()
    annotation = Annotation.objects.get(annotator=annotator)
    assert (annotation.skipped, annotation.skip_reason) == (True, "Duplicate")
    refused = client.post(
        reverse("annotate-skip", args=[project.pk, queue[1].pk]), {"idempotency_key": str(uuid.uuid4())}, **HTMX
    )
    assert refused.status_code == 422
    assert "Say why you skip" in refused.content.decode()


def test_malformed_form_is_a_bad_request(client, project, queue, labels, annotator):
    client.force_login(annotator)
    url = reverse("annotate-submit", args=[project.pk, queue[0].pk])
    assert client.post(url, {"idempotency_key": "nope"}).status_code == 400
    bad_confidence = {"idempotency_key": str(uuid.uuid4()), f"label-{labels[0].pk}": "yes", f"conf-{labels[0].pk}": "7"}
    assert client.post(url, bad_confidence).status_code == 400
    assert not Annotation.objects.exists()


def test_empty_queue_page(client, project, labels, annotator):
    client.force_login(annotator)
    response = client.get(reverse("annotate", args=[project.pk]))
    assert "Nothing left for you right now" in response.content.decode()


def test_focus_labels_come_first_with_an_indicator(client, project, queue, labels, annotator):
    _shipping, refund, _billing, bug, _praise = labels
    QueueEntry.objects.filter(item=queue[0]).update(focus_labels=[bug.pk, refund.pk])
    client.force_login(annotator)
    html = client.get(reverse("annotate", args=[project.pk])).content.decode()
    order = re.findall(r'data-label="(\d+)" data-name="(\w+)"', html)
    assert [name for _, name in order] == ["bug", "refund", "shipping", "billing", "praise"]
    assert html.count('class="focus-badge"') == 2


def test_guideline_panel_shows_what_changed_since_last_work(client, project, queue, labels, guideline, annotator):
    annotate_item(queue[5], annotator, {labels[0]: 1}, guideline=guideline)
    make_guideline(project, 2, changelog="Refunds now also cover store credit.", text="# Version two")
    make_guideline(project, 3, changelog="Praise needs explicit words.", text="# Version **three**")
    client.force_login(annotator)
    html = client.get(reverse("annotate", args=[project.pk])).content.decode()
    assert "Guideline v3" in html
    assert "<strong>three</strong>" in html
    assert "Changed since v1" in html
    assert "v2: Refunds now also cover store credit." in html
    assert "v3: Praise needs explicit words." in html


def test_my_annotations_and_edit_with_audit(client, project, queue, labels, guideline, annotator, second_annotator):
    shipping, refund, *_ = labels
    mine = annotate_item(queue[0], annotator, {shipping: 1, refund: (0, 0.8)}, guideline=guideline)
    theirs = annotate_item(queue[1], second_annotator, {shipping: 0}, guideline=guideline)
    client.force_login(annotator)
    listing = client.get(reverse("my-annotations", args=[project.pk])).content.decode()
    edit_url = reverse("annotation-edit", args=[project.pk, mine.pk])
    assert edit_url in listing
    assert reverse("annotation-edit", args=[project.pk, theirs.pk]) not in listing
    assert client.get(reverse("annotation-edit", args=[project.pk, theirs.pk])).status_code == 404

    page = client.get(edit_url)
    assert re.search(rf'name="label-{shipping.pk}" value="yes"\s+checked', page.content.decode())
    data = form_data(page.content, {shipping: ("no", 0.55)})
    response = client.post(edit_url, data)
    assert response.status_code == 302
    assert {(j.label_id, j.value) for j in mine.judgments.all()} == {(shipping.pk, 0)}
    event = AuditEvent.objects.get(action="annotation.edit")
    assert event.before["judgments"]["refund"] == {"value": 0, "confidence": 0.8}
    assert "Saved your new answers" in client.get(response["Location"]).content.decode()


def test_label_keys_prefer_shortcuts_and_avoid_reserved_keys(db):
    project = make_project("Keys")
    labels = make_labels(project, [f"label{i}" for i in range(12)])
    labels[0].shortcut_key = "c"  # reserved for confidence: not used
    labels[1].shortcut_key = "x"
    keys = label_keys(labels)
    assert keys[labels[1].pk] == "x"
    assert keys[labels[2].pk] == "3"
    assert keys[labels[0].pk] not in {"c", "n", "s", "u"}
    assert len(set(keys.values())) == 12


def test_answers_to_an_item_the_queue_did_not_hand_out_are_refused_with_409(client, project, queue, labels, annotator):
    """An item id typed into the form is not a way past the overlap: nothing is stored (issue 16)."""
    from annotate.models import Annotation

    client.force_login(annotator)
    client.get(reverse("annotate", args=[project.pk]))  # hands out queue[0]
    data = {"idempotency_key": str(uuid.uuid4()), f"label-{labels[0].pk}": "yes"}
    response = client.post(reverse("annotate-submit", args=[project.pk, queue[3].pk]), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "was not handed to you" in response.content.decode()
    assert not Annotation.objects.exists()
    # The item it did hand out is accepted, and a replay of that submit too.
    ok = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200
    again = client.post(reverse("annotate-submit", args=[project.pk, queue[0].pk]), data, HTTP_HX_REQUEST="true")
    assert again.status_code == 200
    assert Annotation.objects.count() == 1
