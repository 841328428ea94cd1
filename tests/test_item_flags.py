"""Item flags: an annotator flags an item they were given; reviewers see it beside the answers; audited."""

from __future__ import annotations

import pytest

from annotate.curation.flags import FlagError, set_flag
from annotate.models import AuditEvent, ItemFlag
from annotate.work.queue import next_item
from tests.factories import annotate_item


@pytest.fixture
def handed(project, queue, annotator):
    item, _ = next_item(annotator=annotator, project=project)
    return item


def flag_url(project, item):
    return f"/projects/{project.pk}/annotate/{item.pk}/flag/"


def test_an_annotator_flags_the_item_in_front_of_them_and_the_item_stays(client, project, handed, annotator):
    client.force_login(annotator)
    response = client.post(
        flag_url(project, handed),
        {"reason": "unclear", "comment": "Is a late parcel shipping or refund?"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b'id="flag-panel"' in response.content
    assert b"You flagged this item: unclear under the guideline" in response.content
    flag = ItemFlag.objects.get()
    assert (flag.item, flag.annotator, flag.reason, flag.comment) == (
        handed,
        annotator,
        "unclear",
        "Is a late parcel shipping or refund?",
    )
    event = AuditEvent.objects.get(action="item.flag")
    assert (event.before, event.after["reason"]) == (None, "unclear")
    # The lease is untouched: the same item is still theirs to answer.
    again, _ = next_item(annotator=annotator, project=project)
    assert again == handed


def test_flagging_again_replaces_and_withdrawing_removes_both_audited(client, project, handed, annotator):
    client.force_login(annotator)
    client.post(flag_url(project, handed), {"reason": "unclear"}, HTTP_HX_REQUEST="true")
    client.post(flag_url(project, handed), {"reason": "broken", "comment": "cut mid-sentence"}, HTTP_HX_REQUEST="true")
    assert list(ItemFlag.objects.values_list("reason", "comment")) == [("broken", "cut mid-sentence")]
    response = client.post(flag_url(project, handed), {"action": "clear"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert not ItemFlag.objects.exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["item.flag", "item.flag", "item.unflag"]
    assert AuditEvent.objects.filter(action="item.flag").order_by("id").last().before["reason"] == "unclear"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reason": "boring"}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "other", "comment": "  "}, "comment"),
        ({"reason": "other", "comment": "x" * 1001}, "comment"),
    ],
)
def test_a_bad_flag_is_a_400_naming_the_field_and_stores_nothing(client, project, handed, annotator, data, field):
    client.force_login(annotator)
    response = client.post(flag_url(project, handed), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert f'data-field="{field}"'.encode() in response.content
    assert not ItemFlag.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_item_never_handed_to_the_annotator_cannot_be_flagged(client, project, queue, items, annotator):
    client.force_login(annotator)
    response = client.post(flag_url(project, items[5]), {"reason": "broken"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert b'data-field="item"' in response.content
    assert not ItemFlag.objects.exists()


def test_an_item_they_annotated_earlier_can_be_flagged(project, items, labels, annotator):
    annotate_item(items[3], annotator, {labels[0]: 1})
    set_flag(item=items[3], annotator=annotator, reason="other", comment="Two messages pasted together")
    with pytest.raises(FlagError):
        set_flag(item=items[4], annotator=annotator, reason="broken", comment="")


def test_outsiders_get_404(client, project, handed, outsider):
    client.force_login(outsider)
    assert client.post(flag_url(project, handed), {"reason": "broken"}).status_code == 404


def test_without_javascript_a_flag_redirects_back_to_the_annotate_page(client, project, handed, annotator):
    client.force_login(annotator)
    response = client.post(flag_url(project, handed), {"reason": "broken"})
    assert response.status_code == 302
    assert response.url == f"/projects/{project.pk}/annotate/"
    assert ItemFlag.objects.filter(item=handed).exists()


def test_reviewers_see_the_flag_beside_the_answers(
    client, project, items, labels, guideline, annotator, second_annotator, reviewer
):
    refund = labels[1]
    annotate_item(items[0], annotator, {refund: 1}, guideline=guideline)
    annotate_item(items[0], second_annotator, {refund: 0}, guideline=guideline)
    set_flag(item=items[0], annotator=second_annotator, reason="unclear", comment="refund or complaint?")
    client.force_login(reviewer)
    for url in (f"/projects/{project.pk}/review/", f"/projects/{project.pk}/review/?by=item"):
        html = client.get(url).content.decode()
        assert "Flags from annotators" in html
        assert "arthur</strong>: unclear under the guideline" in html
        assert "refund or complaint?" in html
