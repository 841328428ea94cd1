"""After a load run: prove from the database that no acknowledged answer was lost or doubled. Prints JSON.

Exits 1 when a check fails.

Usage (the same environment as the server, so it reads the same database):

    DATABASE_URL=postgres://postgres@127.0.0.1:5440/tagwise_load \\
        .venv/bin/python benchmarks/load/check.py --acks /tmp/acks.csv [--project 1]

Checks:

1. **Every acknowledged submit is stored exactly once.** Each line of the
   acknowledgement log (written by the locust client for every 200 to a
   submit or skip, replays included) names an annotator and an idempotency
   key; the database must hold exactly one annotation of that annotator
   with that key, on that item, skipped exactly when the log says skip.
2. **No item over its overlap through the queue.** No item has more
   answered (not skipped) annotations than its queue entry requires, and
   ``completed`` never exceeds ``required``. (A late answer on an expired
   lease may legitimately add one, docs/annotating.md; with 30-minute leases
   none expires in a load run, so none is allowed here.) An edit from My
   work of a skip counts too: it is refused once the item has the answers
   it needs (docs/annotating.md), so it never pushes an item over.
3. **No lease dangling.** No lease is held on an item its holder has
   already answered or skipped, no annotator holds more than one live lease,
   and no lease expired longer than the clean-up's grace ago.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acks", required=True)
    parser.add_argument("--project", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db.models import Count, F, Q
    from django.utils import timezone

    from annotate.models import Annotation, AuditEvent, Lease, QueueEntry
    from annotate.work.queue import EXPIRED_LEASE_KEPT

    with Path(args.acks).open(newline="") as handle:
        acks = list(csv.reader(handle))
    keys = {key for _, _, _, key, _ in acks}
    stored: dict[tuple[str, str], list[tuple[int, int, bool]]] = {}
    for pk, username, key, item_id, skipped in Annotation.objects.filter(
        item__project_id=args.project, idempotency_key__in=keys
    ).values_list("pk", "annotator__username", "idempotency_key", "item_id", "skipped"):
        stored.setdefault((username, str(key)), []).append((pk, item_id, skipped))
    # Skips later turned into answers from My work: the log says "skip", the row is answered now.
    edited_skips = {
        int(object_id)
        for object_id, before in AuditEvent.objects.filter(
            project_id=args.project, action="annotation.edit", object_type="annotate.Annotation"
        ).values_list("object_id", "before")
        if (before or {}).get("skipped")
    }

    problems: list[str] = []
    for kind, username, item_id, key, _ in acks:
        rows = stored.get((username, key), [])
        if len(rows) != 1:
            problems.append(f"{kind} {username} {key}: stored {len(rows)} times")
            continue
        pk, stored_item, skipped = rows[0]
        if stored_item != int(item_id) or (skipped != (kind == "skip") and pk not in edited_skips):
            problems.append(f"{kind} {username} {key}: stored on item {stored_item}, skipped={skipped}")

    answered = Count("item__annotations", filter=Q(item__annotations__skipped=False))
    over = list(
        QueueEntry.objects.filter(project_id=args.project)
        .annotate(answered=answered)
        .filter(Q(answered__gt=F("required")) | Q(completed__gt=F("required")))
        .values_list("item_id", "required", "completed", "answered")
    )
    problems += [f"item {i} needs {r}: completed {c}, answered {a}" for i, r, c, a in over[:20]]

    now = timezone.now()
    leases = Lease.objects.filter(item__project_id=args.project)
    answered_leases = leases.filter(item__annotations__annotator=F("annotator")).count()
    live_per_annotator = Counter(leases.filter(expires_at__gt=now).values_list("annotator_id", flat=True))
    long_expired = leases.filter(expires_at__lt=now - EXPIRED_LEASE_KEPT).count()
    if answered_leases:
        problems.append(f"{answered_leases} leases on items their holder already answered or skipped")
    problems += [f"annotator {a} holds {n} live leases" for a, n in live_per_annotator.items() if n > 1]
    if long_expired:
        problems.append(f"{long_expired} leases expired longer than {EXPIRED_LEASE_KEPT} ago")

    kinds = Counter(kind for kind, *_ in acks)
    report = {
        "acknowledged": dict(kinds),
        "distinct_keys": len(keys),
        "stored_exactly_once": sum(1 for rows in stored.values() if len(rows) == 1),
        "items_over_overlap": len(over),
        "edited_skips": len(edited_skips),
        "live_leases": sum(live_per_annotator.values()),
        "problems": problems[:50],
        "ok": not problems,
    }
    print(json.dumps(report, indent=2))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
