"""GoEmotions partial-label benchmark for ``learner.ml``; prints one JSON document.

Usage (from the repository root)::

    .venv/bin/python benchmarks/partial_labels.py            # everything
    .venv/bin/python benchmarks/partial_labels.py --scenarios full,random30 \
        --models mlp --limit 5000

The pool is train (plus dev with ``--fold-dev``); test is scored with its
FULL labels. The model picks its own held-out split inside ``train_model``.
Scenarios hide entries of the pool's target matrix (NaN = unobserved):

- ``full``: everything observed;
- ``random30``: each (item, label) entry observed with probability 0.3;
- ``checkbox``: true positives observed with p=0.5, true negatives with p=0.1;
- ``single_positive``: exactly one positive per item observed, nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

# Python puts this script's directory first on sys.path, where sibling
# benchmark scripts (e.g. benchmarks/queue.py) would shadow standard-library
# modules; put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import numpy as np  # noqa: E402

from learner.ml import TrainConfig, train_model  # noqa: E402
from learner.ml.metrics import multilabel_report  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "goemotions"
SCENARIOS = ("full", "random30", "checkbox", "single_positive")
MODELS = {
    "mlp": {},
    "logreg_assume_negative": {"kind": "logreg_assume_negative"},
    "logreg_masked": {"kind": "logreg_masked"},
    # Ablations of the default model.
    "mlp_no_ensemble": {"ensemble": False},
    "mlp_no_embeddings": {"embeddings": False},
    "mlp_no_soft_thresholds": {"soft_thresholds": False},
    "mlp_net_share_0.5": {"ensemble_weight": 0.5},
    "mlp_no_correlation": {"correlation": False},
    "mlp_no_weak_negative": {"weak_negative": 0.0},
    "mlp_wide": {"wide": True},
    "mlp_no_missingness_correction": {"missingness_correction": False},
    "mlp_distill_0.3": {"distill": 0.3},
    "mlp_distill_1": {"distill": 1.0},
    "mlp_pseudo_labels": {"pseudo_labels": True},
    "mlp_eval_weak_negatives": {"eval_weak_negatives": True},
    "mlp_lr1e-3": {"lr": 1e-3},
    "mlp_lr1e-3_h128_d05": {"lr": 1e-3, "hidden": 128, "dropout": 0.5},
}


def read_split(path: Path, n_labels: int) -> tuple[list[str], np.ndarray]:
    """Read a GoEmotions TSV (text, comma-separated label ids, id)."""
    texts, rows = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        texts.append(parts[0])
        y = np.zeros(n_labels)
        y[[int(i) for i in parts[1].split(",") if i.strip()]] = 1.0
        rows.append(y)
    return texts, np.asarray(rows)


def hide(y: np.ndarray, scenario: str, rng: np.random.Generator) -> np.ndarray:
    """Return targets with NaN for entries the scenario leaves unobserved."""
    out = y.astype(np.float64).copy()
    if scenario == "full":
        return out
    if scenario == "random30":
        out[rng.random(y.shape) >= 0.3] = np.nan
        return out
    if scenario == "checkbox":
        keep = np.where(y >= 0.5, rng.random(y.shape) < 0.5, rng.random(y.shape) < 0.1)
        out[~keep] = np.nan
        return out
    if scenario == "single_positive":
        out[:] = np.nan
        for i in range(len(y)):
            positives = np.flatnonzero(y[i] >= 0.5)
            if len(positives):
                out[i, rng.choice(positives)] = 1.0
        return out
    raise ValueError(scenario)


def run_one(texts, targets, test_texts, test_y, model_name, seed, label_names, embedding_cache=None) -> dict:
    config = TrainConfig(**MODELS[model_name], label_names=label_names, embedding_cache=embedding_cache)
    start, cpu_start = time.perf_counter(), time.process_time()
    model = train_model(texts, targets, config=config, seed=seed)
    train_seconds = time.perf_counter() - start
    # CPU seconds of this process (all threads): on a shared machine the wall
    # time depends on other jobs; CPU / 2 approximates wall time on 2 idle cores.
    cpu_seconds = time.process_time() - cpu_start
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "model.joblib")
        artifact_mb = (Path(tmp) / "model.joblib").stat().st_size / 1e6
    proba = model.predict_proba(test_texts)
    report = multilabel_report(test_y, model.decide(proba), proba, label_names)
    overall = report["overall"]
    keys = (
        "macro_f1",
        "micro_f1",
        "weighted_f1",
        "macro_precision",
        "macro_recall",
        "hamming_loss",
        "jaccard",
        "subset_accuracy",
        "lrap",
        "mean_ece",
    )
    return {
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1),
        # Wall seconds spent building the feature matrix (TF-IDF, plus reading
        # or computing the sentence embeddings).
        "features_seconds": round(float(model.metrics.get("features_seconds", float("nan"))), 1),
        "embeddings": model.metrics.get("embeddings"),
        "artifact_mb": round(artifact_mb, 1),
        **{k: round(float(overall[k]), 4) for k in keys},
        "heldout_macro_f1": round(float(model.metrics.get("overall", {}).get("macro_f1", float("nan"))), 4),
        "best_epochs": model.metrics.get("best_epochs"),
        "ensemble": model.metrics.get("ensemble"),
        "per_label_f1": {r["label"]: round(r["f1"], 3) for r in report["per_label"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--models", default="mlp,logreg_assume_negative,logreg_masked")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N pool items (0 = all)")
    parser.add_argument("--fold-dev", action="store_true", help="add dev.tsv to the pool")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-label", action="store_true", help="include per-label F1 in the output")
    parser.add_argument(
        "--embedding-cache",
        default=None,
        help="SQLite file caching sentence embeddings per text (as the app would keep them); "
        "without it every run encodes all texts",
    )
    args = parser.parse_args()

    label_names = (args.data / "labels.txt").read_text(encoding="utf-8").split()
    n_labels = len(label_names)
    texts, y = read_split(args.data / "train.tsv", n_labels)
    if args.fold_dev:
        dev_texts, dev_y = read_split(args.data / "dev.tsv", n_labels)
        texts, y = texts + dev_texts, np.vstack([y, dev_y])
    if args.limit:
        texts, y = texts[: args.limit], y[: args.limit]
    test_texts, test_y = read_split(args.data / "test.tsv", n_labels)

    results: dict[str, dict] = {}
    for scenario in args.scenarios.split(","):
        targets = hide(y, scenario, np.random.default_rng(args.seed + 17))
        results[scenario] = {"observed_fraction": round(float((~np.isnan(targets)).mean()), 4)}
        for model_name in args.models.split(","):
            res = run_one(texts, targets, test_texts, test_y, model_name, args.seed, label_names, args.embedding_cache)
            if not args.per_label:
                res.pop("per_label_f1")
            results[scenario][model_name] = res
            print(
                f"{scenario} {model_name} {res['macro_f1']} {res['train_seconds']}s cpu {res['train_cpu_seconds']}s",
                file=sys.stderr,
            )
    doc = {
        "dataset": str(args.data.name),
        "pool_size": len(texts),
        "test_size": len(test_texts),
        "seed": args.seed,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        "command": " ".join(sys.argv),
        "embedding_cache": args.embedding_cache,
        "results": results,
    }
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
