"""The dashboard's figures from the database: versions, three states, retired labels, people, cache."""

from __future__ import annotations

import pytest

from annotate.curation import project_agreement as pa
from annotate.models import Label, Resolution
from tests.factories import annotate_item, make_guideline, make_items, make_labels, make_project, make_user


def per_label(figures: dict, name: str, version: int | None = None) -> dict:
    block = (
        figures["agreement"]["overall"]
        if version is None
        else next(v for v in figures["agreement"]["by_version"] if v["version"] == version)
    )
    return next(row for row in block["per_label"] if row["label"] == name)


def test_a_label_introduced_in_version_2_contributes_nothing_to_version_1(db):
    project = make_project("Versions")
    v1 = make_guideline(project, 1)
    v2 = make_guideline(project, 2)
    old, new = make_labels(project, ["old", "new"])
    Label.objects.filter(pk=new.pk).update(introduced_in=v2)
    new.refresh_from_db()
    ann, bob = make_user("ann"), make_user("bob")
    items = make_items(project, 4)
    # Under version 1, stray answers on "new" (which v1 never asked) must be ignored.
    for item, (a, b) in zip(items[:2], [(1, 1), (0, 1)], strict=True):
        annotate_item(item, ann, {old: a, new: 1}, guideline=v1)
        annotate_item(item, bob, {old: b, new: 0}, guideline=v1)
    for item, (a, b) in zip(items[2:], [(1, 1), (0, 0)], strict=True):
        annotate_item(item, ann, {old: 1, new: a}, guideline=v2)
        annotate_item(item, bob, {old: 1, new: b}, guideline=v2)

    figures = pa.compute_project_agreement(project=project)

    assert figures["versions"] == [1, 2]
    in_v1 = per_label(figures, "new", 1)
    assert in_v1["asked"] is False
    assert in_v1["kappa"] is None and in_v1["alpha"] is None and in_v1["n_units"] == 0
    v1_block = figures["agreement"]["by_version"][0]
    # Version 1's pooled figure is exactly "old" alone: two units.
    assert v1_block["pooled"]["n_units"] == 2 == per_label(figures, "old", 1)["n_units"]
    # In version 2 "new" is a perfect split of one yes-pair and one no-pair.
    assert per_label(figures, "new", 2)["kappa"] == pytest.approx(1.0)
    # Overall, only the version 2 answers of "new" count.
    assert per_label(figures, "new")["n_units"] == 2
    # The stray version 1 answers on "new" are not counted, and v1 annotations were not asked it.
    counts = {row["label"]: row for row in figures["judgments"]}
    assert (counts["new"]["positive"], counts["new"]["negative"], counts["new"]["asked"]) == (2, 2, 4)
    assert counts["old"]["asked"] == 8 and counts["old"]["unobserved"] == 0


@pytest.mark.parametrize(("fourth", "expected"), [(None, 1 / 3), (0, 0.0)])
def test_a_negative_answer_and_a_missing_one_give_different_kappas(db, fourth, expected):
    project = make_project("Three states")
    guideline = make_guideline(project, 1)
    (label,) = make_labels(project, ["refund"])
    ann, bob = make_user("ann"), make_user("bob")
    items = make_items(project, 4)
    for item, (a, b) in zip(items, [(1, 1), (0, 0), (1, 0), (1, fourth)], strict=True):
        annotate_item(item, ann, {label: a}, guideline=guideline)
        annotate_item(item, bob, {} if b is None else {label: b}, guideline=guideline)

    figures = pa.compute_project_agreement(project=project)

    # Missing: units are items 0-2, pa = 2/3, pe = 1/2, kappa = 1/3.
    # Negative: item 3 is a fourth unit with a split, pa = 1/2, kappa = 0.
    assert per_label(figures, "refund")["kappa"] == pytest.approx(expected, abs=1e-12)
    row = figures["judgments"][0]
    assert row["unobserved"] == (1 if fourth is None else 0)
    assert row["negative"] == (3 if fourth is None else 4)


def test_retired_labels_are_not_counted(db):
    project = make_project("Retired")
    v1 = make_guideline(project, 1)
    v2 = make_guideline(project, 2)
    kept, gone = make_labels(project, ["kept", "gone"])
    ann, bob = make_user("ann"), make_user("bob")
    for item in make_items(project, 3):
        annotate_item(item, ann, {kept: 1, gone: 1}, guideline=v1)
        annotate_item(item, bob, {kept: 1, gone: 0}, guideline=v1)
    Label.objects.filter(pk=gone.pk).update(retired_in=v2)

    figures = pa.compute_project_agreement(project=project)

    assert figures["labels"] == ["kept"]
    assert figures["retired_labels"] == ["gone"]
    assert figures["n_answers"] == 6
    assert figures["n_disputed"] == 0
    assert [row["label"] for row in figures["judgments"]] == ["kept"]
    assert figures["cooccurrence"] == [[3]]
    assert all(row["agreement"]["percent_agreement"] == 1.0 for row in figures["annotators"])


def test_leave_one_out_is_per_person_whatever_the_slot(db):
    project = make_project("People")
    guideline = make_guideline(project, 1)
    (label,) = make_labels(project, ["bug"])
    a, b, c = make_user("alice"), make_user("bruno"), make_user("chen")
    items = make_items(project, 5)
    # Annotations are created in this order, so alice sits in slots 0, 1, 1, 0 and 2.
    plan = [
        [(a, 1, 1.0, 4000), (b, 1, 1.0, 1000), (c, 0, 0.5, 1000)],
        [(c, 1, 1.0, 1000), (a, 0, 1.0, 2000), (b, 1, 0.6, 1000)],
        [(b, 0, 1.0, 1000), (a, 0, 0.8, 8000)],
        [(a, 1, 1.0, 6000)],
        [(b, 1, 1.0, 1000), (c, 0, 1.0, 1000), (a, 1, 0.4, 1000)],
    ]
    for item, answers in zip(items, plan, strict=True):
        for user, value, confidence, duration in answers:
            annotate_item(item, user, {label: (value, confidence)}, guideline=guideline, duration_ms=duration)

    figures = pa.compute_project_agreement(project=project)
    people = {row["username"]: row for row in figures["annotators"]}

    # alice: agrees on items 0 and 2, disagrees on 1, has nobody else on 3, and
    # on 4 the others tie (bruno yes 1.0 against chen no 1.0).
    # Table n11=1, n01=1, n00=1: po = 2/3, pe = 4/9, kappa = 0.4.
    alice = people["alice"]["agreement"]
    assert (alice["n_units"], alice["n_ties"]) == (3, 1)
    assert alice["percent_agreement"] == pytest.approx(2 / 3)
    assert alice["kappa"] == pytest.approx(0.4)
    # bruno: item 1 is a tie (chen yes 1.0, alice no 1.0); on item 4 the
    # others lean no (0.4 of 1.4 says yes) while he said yes.
    assert people["bruno"]["agreement"]["n_units"] == 3
    assert people["bruno"]["agreement"]["n_ties"] == 1
    assert people["bruno"]["agreement"]["percent_agreement"] == pytest.approx(2 / 3)
    # chen disagrees every time: n10=1, n01=2, po = 0, pe = 4/9, kappa = -0.8.
    assert people["chen"]["agreement"]["percent_agreement"] == 0.0
    assert people["chen"]["agreement"]["kappa"] == pytest.approx(-0.8)
    assert people["alice"]["annotations"] == 5
    assert people["alice"]["answers"] == 5
    assert people["alice"]["median_seconds"] == 4.0
    pairs = {tuple(pair["usernames"]): pair for pair in figures["annotator_pairs"]}
    # alice and bruno both answered items 0, 1, 2 and 4 and agree on 0, 2 and 4.
    assert pairs[("alice", "bruno")]["n_units"] == 4
    assert pairs[("alice", "bruno")]["percent_agreement"] == pytest.approx(3 / 4)


def test_the_cache_is_used_until_a_new_judgment_or_resolution_arrives(db, monkeypatch, django_assert_max_num_queries):
    project = make_project("Cached")
    guideline = make_guideline(project, 1)
    first, second = make_labels(project, ["first", "second"])
    ann, bob, rita = make_user("ann"), make_user("bob"), make_user("rita")
    items = make_items(project, 3)
    annotate_item(items[0], ann, {first: 1}, guideline=guideline)
    annotate_item(items[0], bob, {first: 0}, guideline=guideline)
    calls = []
    compute = pa.compute_project_agreement
    monkeypatch.setattr(pa, "compute_project_agreement", lambda **kw: calls.append(1) or compute(**kw))

    before = pa.project_agreement(project=project)
    with django_assert_max_num_queries(5):
        again = pa.project_agreement(project=project)
    assert len(calls) == 1 and again == before
    assert before["n_answers"] == 2 and before["n_disputed"] == 1

    annotate_item(items[1], ann, {second: 1}, guideline=guideline)
    after_judgment = pa.project_agreement(project=project)
    assert len(calls) == 2
    assert after_judgment["n_answers"] == 3
    assert after_judgment["generation"] != before["generation"]

    Resolution.objects.create(item=items[0], label=first, value=1, reviewer=rita)
    after_resolution = pa.project_agreement(project=project)
    assert len(calls) == 3
    assert after_resolution["n_disputed"] == 0
    assert after_resolution["judgments"][0]["resolved"] == 1


def test_items_nobody_answered_count_as_items_without_a_target(db):
    project = make_project("Mostly untouched")
    guideline = make_guideline(project, 1)
    (topic,) = make_labels(project, ["topic"])
    items = make_items(project, 12)
    ann, bob, rev = make_user("ann"), make_user("bob"), make_user("rev")
    annotate_item(items[0], ann, {topic: 1}, guideline=guideline)
    annotate_item(items[0], bob, {topic: 0}, guideline=guideline)
    annotate_item(items[1], ann, {topic: 1}, guideline=guideline)
    Resolution.objects.create(item=items[2], label=topic, value=0, reviewer=rev)

    figures = pa.compute_project_agreement(project=project)

    assert figures["n_items"] == 12
    assert figures["n_annotated_items"] == 2
    row = next(row for row in figures["judgments"] if row["label"] == "topic")
    # Item 0 (answers), item 1 (one answer) and item 2 (a resolution) have a target; nine items have none.
    assert (row["items_with_target"], row["items_without_target"]) == (3, 9)
    assert (row["disputed"], row["resolved"]) == (1, 1)
