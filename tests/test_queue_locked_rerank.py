"""While a re-rank holds every queue row, next_item waits for it instead of reporting an empty queue (PostgreSQL)."""

import threading

import pytest
from django.conf import settings
from django.db import connection, transaction

from annotate.models import Item, Lease, QueueEntry
from annotate.work.queue import next_item, set_queue_priorities

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not settings.USING_POSTGRES, reason="Row locks need PostgreSQL; set DATABASE_URL to run it."),
]

# Generous: the wait is detected by polling PostgreSQL, not by sleeping.
PATIENCE_SECONDS = 60


def backends_waiting_for_a_row_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_next_item_waits_for_a_rerank_and_then_gets_its_best_item(transactional_db, project, labels, annotator):
    items = Item.objects.bulk_create(Item(project=project, external_id=f"r{n}", text=f"text {n}") for n in range(3))
    QueueEntry.objects.bulk_create(
        QueueEntry(project=project, item=item, priority=n, required=1) for n, item in enumerate(items)
    )
    rerank_holds_rows, rerank_may_finish = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def rerank() -> None:
        try:
            with transaction.atomic():
                set_queue_priorities(
                    project=project,
                    entries=[(item.pk, 10.0 - n, [], "uncertain") for n, item in enumerate(items)],
                    model_version_id=None,
                )
                rerank_holds_rows.set()
                assert rerank_may_finish.wait(PATIENCE_SECONDS)
        finally:
            connection.close()

    def annotate() -> None:
        try:
            results["got"] = next_item(annotator=annotator, project=project)
        except Exception as error:
            results["error"] = error
        finally:
            connection.close()

    reranker = threading.Thread(target=rerank)
    reranker.start()
    assert rerank_holds_rows.wait(PATIENCE_SECONDS)
    asker = threading.Thread(target=annotate)
    asker.start()
    for _ in range(PATIENCE_SECONDS * 100):
        if backends_waiting_for_a_row_lock() or not asker.is_alive():
            break
        asker.join(0.01)
    # The annotator is blocked behind the re-rank, not told the queue is empty.
    assert asker.is_alive() and "got" not in results
    rerank_may_finish.set()
    reranker.join(PATIENCE_SECONDS)
    asker.join(PATIENCE_SECONDS)

    assert "error" not in results, results.get("error")
    got = results["got"]
    assert got is not None
    item, entry = got
    # The best item by the new ranking, now that the re-rank has committed.
    assert item == items[0]
    assert entry.priority == 10.0
    assert list(Lease.objects.values_list("item_id", "annotator_id")) == [(items[0].pk, annotator.pk)]


def test_a_chunk_of_a_rerank_locks_only_its_own_entries(transactional_db, project, labels, annotator):
    """A submit on an item outside the chunk being written does not wait for it (learner/training.py, write_ranking)."""
    from django.db import DatabaseError

    items = Item.objects.bulk_create(Item(project=project, external_id=f"c{n}", text=f"text {n}") for n in range(6))
    QueueEntry.objects.bulk_create(QueueEntry(project=project, item=item, priority=n) for n, item in enumerate(items))
    chunk_holds_rows, chunk_may_finish = threading.Event(), threading.Event()

    def write_first_chunk() -> None:
        try:
            with transaction.atomic():
                set_queue_priorities(
                    project=project,
                    entries=[(item.pk, 5.0, [], "uncertain") for item in items[:3]],
                    model_version_id=None,
                )
                chunk_holds_rows.set()
                assert chunk_may_finish.wait(PATIENCE_SECONDS)
        finally:
            connection.close()

    writer = threading.Thread(target=write_first_chunk)
    writer.start()
    try:
        assert chunk_holds_rows.wait(PATIENCE_SECONDS)
        with transaction.atomic():
            # Outside the chunk: free at once.
            assert QueueEntry.objects.select_for_update(nowait=True).get(item=items[4]).priority == 4
        with pytest.raises(DatabaseError), transaction.atomic():
            # Inside the chunk: held until the chunk commits.
            QueueEntry.objects.select_for_update(nowait=True).get(item=items[1])
    finally:
        chunk_may_finish.set()
        writer.join(PATIENCE_SECONDS)
    assert QueueEntry.objects.get(item=items[1]).priority == 5.0
