"""Twenty annotators at once on PostgreSQL: no over-assignment, no item twice, no judgment lost.

Real threads, each with its own database connection, call next_item and
submit in parallel over 500 items that each need two annotations. The test
runs with committed transactions (transactional_db), so the row locks and
SKIP LOCKED behave as in production.
"""

import random
import threading
import uuid
from collections import Counter, defaultdict

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from annotate.models import Annotation, Item, Judgment, Lease, Membership, QueueEntry
from annotate.work.annotating import Answer, skip_item, submit_annotation
from annotate.work.queue import next_item
from tests.factories import make_labels, make_project

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not settings.USING_POSTGRES,
        reason="Row locks (SELECT ... FOR UPDATE SKIP LOCKED) need PostgreSQL; set DATABASE_URL to run it.",
    ),
]

ANNOTATORS = 20
ITEMS = 500
OVERLAP = 2


def places_taken(item_id: int) -> tuple[int, int]:
    """An item's stored answers plus live leases, and what it requires, read in one snapshot.

    Taken right after a hand-out, this can only be too high if the hand-out
    over-assigned: a submit meanwhile moves one place from lease to answer
    and a skip frees one, so neither makes a correct claim look wrong, the
    way comparing wall-clock times of hand-outs and submits across threads
    could.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT q.completed + (SELECT COUNT(*) FROM {Lease._meta.db_table} l
                                  WHERE l.item_id = q.item_id AND l.expires_at > now()),
                   q.required
            FROM {QueueEntry._meta.db_table} q WHERE q.item_id = %s
            """,
            [item_id],
        )
        return cursor.fetchone()


def run_annotators(users, project, answer_one) -> list[tuple[int, int, int]]:
    """Every user takes items until none is left, all at once, each in a thread with its own connection.

    ``answer_one(user, item, entry, rng)`` answers (or skips) one item handed
    out. Returns what ``places_taken`` read right after each hand-out; fails
    the test on an error in any thread or a thread that does not finish.
    """
    taken, errors = [], []
    start = threading.Barrier(len(users))

    def work(user, seed):
        rng = random.Random(seed)
        try:
            start.wait()
            while (got := next_item(annotator=user, project=project)) is not None:
                item, entry = got
                taken.append((item.pk, *places_taken(item.pk)))
                answer_one(user, item, entry, rng)
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(user, n)) for n, user in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors
    assert not any(thread.is_alive() for thread in threads)
    return taken


def test_parallel_annotators_never_over_assign_or_lose_work(transactional_db):
    project = make_project("Concurrent", overlap_count=OVERLAP, retrain_every=0)
    labels = make_labels(project, ["a", "b", "c", "d"])
    Item.objects.bulk_create(Item(project=project, external_id=f"i{n}", text=f"text {n}") for n in range(ITEMS))
    QueueEntry.objects.bulk_create(
        QueueEntry(project=project, item=item, priority=random.random(), required=OVERLAP)
        for item in Item.objects.filter(project=project)
    )
    users = get_user_model().objects.bulk_create(get_user_model()(username=f"parallel{n}") for n in range(ANNOTATORS))
    Membership.objects.bulk_create(Membership(project=project, user=user) for user in users)

    handed = defaultdict(list)  # annotator id -> item ids, in order
    submitted = {}  # (item id, annotator id) -> {label id: (value, confidence)} or "skipped"
    record = threading.Lock()

    def answer_one(user, item, _entry, rng):
        key = uuid.uuid4()
        if rng.random() < 0.03:
            skip_item(annotator=user, item=item, reason="unclear", idempotency_key=key, duration_ms=10)
            answer = "skipped"
        else:
            # At least one answer: a submit with none is refused (skip covers that).
            answer = {
                label.pk: (rng.randint(0, 1), rng.choice([0.55, 0.8, 1.0])) for label in labels if rng.random() < 0.7
            } or {labels[0].pk: (1, 0.8)}
            submit_annotation(
                annotator=user,
                item=item,
                answers={label_id: Answer(*pair) for label_id, pair in answer.items()},
                idempotency_key=key,
                duration_ms=10,
            )
        with record:
            handed[user.pk].append(item.pk)
            submitted[(item.pk, user.pk)] = answer

    # Annotators come back: an item skipped at the very end waits for someone
    # else, who may have found the queue empty a moment before and left. So
    # everyone asks again until a whole pass hands out nothing; what matters
    # is that no work is lost or over-assigned, not who was still there.
    taken = []
    while passed := run_annotators(users, project, answer_one):
        taken += passed

    # No annotator got an item twice.
    for items in handed.values():
        assert len(items) == len(set(items))

    # Every item got exactly its overlap of answers; skipped hand-outs went to someone else.
    annotations = Annotation.objects.filter(item__project=project)
    answered = Counter(annotations.filter(skipped=False).values_list("item_id", flat=True))
    assert len(answered) == ITEMS
    assert set(answered.values()) == {OVERLAP}
    assert set(QueueEntry.objects.filter(project=project).values_list("completed", flat=True)) == {OVERLAP}

    # No hand-out ever made an item's stored answers plus live leases exceed what it needs.
    assert len(taken) == sum(len(items) for items in handed.values())
    assert all(count <= required for _, count, required in taken), [row for row in taken if row[1] > row[2]]

    # Every submitted judgment is in the database, and nothing else is.
    stored = defaultdict(dict)
    for _annotation_id, item_id, annotator_id, label_id, value, confidence in Judgment.objects.filter(
        annotation__item__project=project
    ).values_list("annotation", "annotation__item", "annotation__annotator", "label", "value", "confidence"):
        stored[(item_id, annotator_id)][label_id] = (value, confidence)
    expected = {key: answer for key, answer in submitted.items() if answer != "skipped" and answer}
    assert dict(stored) == expected
    assert annotations.count() == len(submitted)
    assert {(a.item_id, a.annotator_id) for a in annotations} == set(submitted)


def test_parallel_annotators_on_reopened_rounds_never_ask_a_label_twice_or_too_often(transactional_db):
    """Label by label: after a re-rank asks other labels, the same invariants hold per (item, label)."""
    from annotate.models import AskMode, QueueReason
    from annotate.work.queue import set_queue_priorities

    project = make_project("Concurrent rounds", overlap_count=OVERLAP, retrain_every=0, ask_mode=AskMode.FOCUS)
    labels = make_labels(project, ["a", "b", "c", "d", "e"])
    items = Item.objects.bulk_create(Item(project=project, external_id=f"r{n}", text=f"text {n}") for n in range(ITEMS))
    users = get_user_model().objects.bulk_create(get_user_model()(username=f"rounds{n}") for n in range(ANNOTATORS))
    Membership.objects.bulk_create(Membership(project=project, user=user) for user in users)
    rng = random.Random(7)
    # The first round: one annotator answered a few labels of each item.
    QueueEntry.objects.bulk_create(
        QueueEntry(project=project, item=item, priority=rng.random(), required=1, completed=1) for item in items
    )
    before = defaultdict(set)  # (item id, label id) -> annotator ids
    for item in items:
        user = rng.choice(users)
        annotation = Annotation.objects.create(item=item, annotator=user)
        for label in rng.sample(labels, 2):
            Judgment.objects.create(annotation=annotation, label=label, value=1, confidence=1.0)
            before[(item.pk, label.pk)].add(user.pk)
    # The re-rank asks two labels of each item, a fifth of them on overlap.
    focus = {item.pk: rng.sample([label.pk for label in labels], 2) for item in items}
    rows = [
        (item.pk, rng.random(), focus[item.pk], QueueReason.OVERLAP if n % 5 == 0 else QueueReason.UNCERTAIN)
        for n, item in enumerate(items)
    ]
    set_queue_priorities(project=project, entries=rows, model_version_id=1)
    required = dict(QueueEntry.objects.filter(project=project).values_list("item_id", "required"))

    added = defaultdict(set)  # (item id, label id) -> annotator ids who answered it in the new round
    record = threading.Lock()

    def answer_one(user, item, entry, rng):
        mine = set(
            Judgment.objects.filter(annotation__item=item, annotation__annotator=user).values_list(
                "label_id", flat=True
            )
        )
        asked = [label_id for label_id in entry.focus_labels if label_id not in mine]
        assert asked, f"{user} was handed item {item.pk} with nothing left to ask"
        answers = {label_id: Answer(rng.randint(0, 1), 0.8) for label_id in asked}
        submit_annotation(annotator=user, item=item, answers=answers, idempotency_key=uuid.uuid4(), duration_ms=5)
        with record:
            for label_id in asked:
                added[(item.pk, label_id)].add(user.pk)

    taken = run_annotators(users, project, answer_one)
    assert all(count <= need for _, count, need in taken), [row for row in taken if row[1] > row[2]]
    for (item_id, label_id), annotators in added.items():
        # Nobody answered a label twice, and no label got more observers than its round needed.
        assert not annotators & before[(item_id, label_id)]
        assert len(annotators) + len(before[(item_id, label_id)]) <= max(
            required[item_id], len(before[(item_id, label_id)])
        )
    # Every round got the annotators it needed, and every label asked has observers now.
    assert set(QueueEntry.objects.filter(project=project).values_list("completed", "required")) <= {(1, 1), (2, 2)}
    # A round nobody had answered yet got an observer for each label it asks. (A round that
    # counted someone from before may close without one: the next re-rank asks again.)
    for item in items:
        if not any(before[(item.pk, label_id)] for label_id in focus[item.pk]):
            assert all(added[(item.pk, label_id)] for label_id in focus[item.pk])
    # Each annotator has at most one annotation per item, holding every answer they gave.
    assert Annotation.objects.filter(item__project=project).count() == len(
        {(a.item_id, a.annotator_id) for a in Annotation.objects.filter(item__project=project)}
    )
