"""next_item by queue rounds: the PL/pgSQL function of migration 0006, rebuilt from annotate/db.py's statements.

An annotator may now get an item again in a later round of its queue entry
(other labels asked), so "has no annotation of the item" becomes "has no
annotation of the item that is skipped or counted in this round"
(docs/annotating.md). The statements inside are those of annotate/db.py
(HELD_LEASES, CANDIDATE, CLAIM) as ``plpgsql_statement`` renders them;
tests/test_next_item_statements.py fails when the two drift apart. The
function names tables and columns of this app: a later migration that
renames any of them must replace the function too.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION tagwise_next_item(
    p_annotator bigint,
    p_project bigint,
    p_now timestamptz,
    p_expires timestamptz,
    p_exclude bigint[],
    p_own_transaction boolean
) RETURNS TABLE (outcome text, entry_id bigint, entry annotate_queueentry, item annotate_item)
LANGUAGE plpgsql VOLATILE ROWS 1 AS $fn$
-- Where a name could mean an output column or a table's column, it means
-- the table's column.
#variable_conflict use_column
DECLARE
    held record;
    held_item bigint;
    candidate_id bigint;
    candidate_item bigint;
    waited_id bigint;
    waited_item bigint;
BEGIN
    -- A lease is soft state: if a crash lost it, the item would only go back
    -- to the pool, as on expiry. Not waiting for the WAL flush was the
    -- largest saving of next_item. Only when the caller runs this statement
    -- as its own transaction, so no annotation is ever committed this way.
    IF p_own_transaction THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;

    -- The annotator's own live lease wins (a reload gives the same item
    -- back); expired ones are deleted on the way.
    FOR held IN
        SELECT l.id, l.item_id, l.expires_at FROM annotate_lease l
        WHERE l.annotator_id = p_annotator
          AND (SELECT i.project_id FROM annotate_item i WHERE i.id = l.item_id) = p_project
          AND EXISTS (SELECT 1 FROM annotate_queueentry q WHERE q.item_id = l.item_id)
          AND NOT EXISTS (
              SELECT 1 FROM annotate_annotation a
              WHERE a.item_id = l.item_id AND a.annotator_id = l.annotator_id
                AND (a.skipped OR a.queue_round >= (SELECT q.round FROM annotate_queueentry q WHERE q.item_id = l.item_id))
          )
        ORDER BY l.created_at, l.id
    LOOP
        IF held.expires_at > p_now THEN
            held_item := coalesce(held_item, held.item_id);
        ELSE
            DELETE FROM annotate_lease WHERE id = held.id;
        END IF;
    END LOOP;
    IF held_item IS NOT NULL THEN
        RETURN QUERY SELECT 'held'::text, q.id, q, i
            FROM annotate_queueentry q JOIN annotate_item i ON i.id = q.item_id WHERE q.item_id = held_item;
        RETURN;
    END IF;

    LOOP
        -- The best open entry, locked; a row another annotator holds is skipped.
        SELECT q.id, q.item_id FROM annotate_queueentry q
        WHERE q.project_id = p_project AND q.completed < q.required
          AND q.id <> ALL (p_exclude)
          AND NOT EXISTS (
              SELECT 1 FROM annotate_annotation a
              WHERE a.item_id = q.item_id AND a.annotator_id = p_annotator AND (a.skipped OR a.queue_round >= q.round)
          )
          AND q.completed + (SELECT count(*) FROM annotate_lease l WHERE l.item_id = q.item_id AND l.expires_at > p_now)
              < q.required
        ORDER BY q.priority DESC, q.id
        LIMIT 1
        FOR UPDATE OF q SKIP LOCKED
        INTO candidate_id, candidate_item;
        EXIT WHEN FOUND;
        IF waited_id IS NOT NULL THEN
            -- Nothing else is free after the wait: take the row waited for.
            candidate_id := waited_id;
            candidate_item := waited_item;
            EXIT;
        END IF;
        -- Every open candidate may be locked for a moment (a re-rank holds
        -- the whole queue): wait for the best one rather than report an
        -- empty queue, then pick again by the priorities the re-rank
        -- committed (the query above no longer skips the row we now hold).
        -- Only when this call is its own transaction: then it holds no
        -- other row lock while it waits, and the wait cannot close a cycle.
        -- Inside a caller's transaction (which may hold locks of earlier
        -- attempts) it reports nothing instead.
        IF NOT p_own_transaction THEN
            RETURN;
        END IF;
        SELECT q.id, q.item_id FROM annotate_queueentry q
        WHERE q.project_id = p_project AND q.completed < q.required
          AND q.id <> ALL (p_exclude)
          AND NOT EXISTS (
              SELECT 1 FROM annotate_annotation a
              WHERE a.item_id = q.item_id AND a.annotator_id = p_annotator AND (a.skipped OR a.queue_round >= q.round)
          )
          AND q.completed + (SELECT count(*) FROM annotate_lease l WHERE l.item_id = q.item_id AND l.expires_at > p_now)
              < q.required
        ORDER BY q.priority DESC, q.id
        LIMIT 1
        FOR UPDATE OF q
        INTO waited_id, waited_item;
        IF NOT FOUND THEN
            RETURN;
        END IF;
    END LOOP;

    -- The claim re-checks the count in a fresh snapshot, after the lock.
    INSERT INTO annotate_lease (item_id, annotator_id, created_at, expires_at)
    SELECT q.item_id, p_annotator, p_now, p_expires FROM annotate_queueentry q
    WHERE q.id = candidate_id
      AND q.completed + (SELECT count(*) FROM annotate_lease l WHERE l.item_id = q.item_id AND l.expires_at > p_now)
          < q.required
      AND NOT EXISTS (
          SELECT 1 FROM annotate_annotation a
          WHERE a.item_id = q.item_id AND a.annotator_id = p_annotator AND (a.skipped OR a.queue_round >= q.round)
      )
    ON CONFLICT (item_id, annotator_id)
        DO UPDATE SET created_at = excluded.created_at, expires_at = excluded.expires_at;
    -- The entry and item are read here, in a snapshot taken after the
    -- claim, so a re-rank waited for above shows its new priority and focus.
    IF FOUND THEN
        RETURN QUERY SELECT 'claimed'::text, q.id, q, i
            FROM annotate_queueentry q JOIN annotate_item i ON i.id = q.item_id WHERE q.id = candidate_id;
    ELSE
        RETURN QUERY SELECT 'taken'::text, candidate_id, NULL::annotate_queueentry, NULL::annotate_item;
    END IF;
END;
$fn$;
"""

DROP = "DROP FUNCTION IF EXISTS tagwise_next_item(bigint, bigint, timestamptz, timestamptz, bigint[], boolean);"


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def restore_previous(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        schema_editor.execute(import_module("annotate.migrations.0006_next_item_function").CREATE)


class Migration(migrations.Migration):
    dependencies = [("annotate", "0007_queue_rounds")]

    operations = [migrations.RunPython(create_function, restore_previous)]
