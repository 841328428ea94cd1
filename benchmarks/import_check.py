"""The CPU time of an import's check pass alone (``read_and_check``), best of 5. Prints JSON.

Usage, after ``benchmarks/import_export.py`` has built its database (the
project, its 28 labels and 40 annotators)::

    TAGWISE_DATA_DIR=/tmp/tagwise-bench-io .venv/bin/python benchmarks/import_check.py [CODE_TREE]

CODE_TREE (default: this repository) is the checkout whose importer is
timed, so that two trees can be compared on the same database and file, run
alternately. The file is 100,000 items written like import_export.py's, with
external ids the project does not have yet; nothing is written to the database.
"""

# ruff: noqa: E402 - the path fix below must run before the other imports.
from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

TREE = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
# benchmarks/queue.py would shadow the standard library's queue while this folder is on the path.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(TREE))
os.chdir(TREE)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from annotate.dataset.importers import ImportOptions, read_and_check
from annotate.models import Project

FILE = Path("/tmp/tagwise-import-check-items.jsonl")


def write_file(project: Project) -> None:
    rng = random.Random(0)
    names = list(project.labels.values_list("name", flat=True))
    with FILE.open("w") as out:
        for index in range(100_000):
            annotations = []
            raters = 2 if (roll := rng.random()) < 0.10 else 1 if roll < 0.45 else 0
            for annotator in rng.sample(range(40), raters):
                answered = rng.sample(names, rng.randint(6, 14))
                annotations.append(
                    {
                        "annotator": f"annotator{annotator}",
                        "labels": {name: int(rng.random() < 0.15) for name in answered},
                        "confidence": rng.choice([0.6, 0.8, 1.0]),
                        "guideline_version": 1,
                        "duration_ms": rng.randint(3000, 40000),
                    }
                )
            row = {"external_id": f"check-{index}", "text": f"text number {index} " * 3, "metadata": {"n": index}}
            if annotations:
                row["annotations"] = annotations
            out.write(json.dumps(row) + "\n")


def main() -> None:
    project = Project.objects.order_by("pk").first()
    if project is None:
        sys.exit("No project: run benchmarks/import_export.py with the same TAGWISE_DATA_DIR first.")
    if not FILE.exists():
        write_file(project)
    seconds = []
    for _ in range(5):
        started = time.process_time()
        with FILE.open("rb") as stream:
            items, _ = read_and_check(project=project, stream=stream, options=ImportOptions(format="jsonl"))
        seconds.append(time.process_time() - started)
    print(json.dumps({"tree": str(TREE), "items": len(items), "check_cpu_best": round(min(seconds), 3)}))


if __name__ == "__main__":
    main()
