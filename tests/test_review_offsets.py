"""Out-of-range offsets on the review page give a page, never a server error (QA A5b)."""

from __future__ import annotations

import pytest

from annotate.curation.review import set_resolution
from tests.factories import annotate_item


@pytest.mark.parametrize("show", ["disputed", "resolved"])
@pytest.mark.parametrize("offset", ["9223372036854775808", "99999999999999999999999", "-5", "abc"])
def test_huge_negative_or_bad_offsets_give_a_page(
    client, project, items, labels, guideline, annotator, second_annotator, reviewer, show, offset
):
    item, label = items[0], labels[0]
    annotate_item(item, annotator, {label: (1, 0.9)}, guideline=guideline)
    annotate_item(item, second_annotator, {label: (0, 0.9)}, guideline=guideline)
    set_resolution(item=items[0], label=labels[0], value=1, note="", reviewer=reviewer)
    client.force_login(reviewer)

    response = client.get(f"/projects/{project.pk}/review/?show={show}&offset={offset}")

    assert response.status_code == 200


def test_a_huge_item_id_on_resolve_is_a_404(client, project, labels, reviewer):
    client.force_login(reviewer)
    response = client.post(
        f"/projects/{project.pk}/review/resolve/", {"item": "9223372036854775808", "label": labels[0].pk, "value": "1"}
    )
    assert response.status_code == 404
