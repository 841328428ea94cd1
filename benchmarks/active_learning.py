"""Active-learning simulation on GoEmotions: judgments saved by the product's ranking; prints JSON.

Usage (from the repository root)::

    .venv/bin/python benchmarks/active_learning.py                    # full run
    .venv/bin/python benchmarks/active_learning.py --quick            # smoke run, a couple of minutes
    .venv/bin/python benchmarks/active_learning.py --strategies random,product --seeds 0,1,2 \\
        --out data/al_runs --summarize-only                           # summary of stored runs

The train split is the pool whose answers are hidden; test (full labels) is
the evaluation set. One simulated annotator answers from the hidden labels
(overlap 1), under the queue rule of docs/learner.md: an (item, label) entry
answered once is observed and never asked again, and an item stays pickable
while any of its labels is unobserved. Every run starts from the same cold
start for its seed (the first 200 items of ``diverse_order``, every label
asked). Each round retrains with ``config_for`` (the configuration the retrain
loop uses for a project of that size), scores the pool, ranks, and answers
the asked entries; the count of answered entries (judgments) is the cost,
exploration judgments included. A run stops at the judgment budget.

Strategies:

- ``random``: uniformly random items, all labels (``rank_for_annotation``
  with exploration 1 and all-labels mode);
- ``uncertain``: the most uncertain items, all labels (all-labels mode, no
  exploration);
- ``product``: the product default, focus labels plus exploration
  (``DEFAULT_FOCUS_SIZE``, ``DEFAULT_EXPLORATION``), labels weighted by
  ``label_need`` of the known positives, as the retrain loop does;
- ``mml``: mean max loss (Li, Wang and Sastry, 2004), the published
  multi-label strategy, adapted to calibrated probabilities: an item's loss
  on label j is ``max(0, 1 - |logit(p_j) - logit(t_j)|)`` (the hinge loss
  of the model's own prediction, margin measured from the label's
  threshold), averaged over its unobserved labels; the top items are asked
  all their unobserved labels, as in the paper;
- ``focus<k>_explore<e>`` (e.g. ``focus3_explore0.05``): product variants,
  used to choose the defaults.

Each (strategy, seed) run is written to ``--out`` as JSON as soon as it ends,
so several processes can share the work and the summary reads them all.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any

# Python puts this script's directory first on sys.path, where sibling
# benchmark scripts (e.g. benchmarks/queue.py) would shadow standard-library
# modules; put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from annotate.stats.cold_start import diverse_order  # noqa: E402
from benchmarks.partial_labels import read_split  # noqa: E402
from learner.ml import config_for, prepare_features, train_model  # noqa: E402
from learner.ml.metrics import macro_f1  # noqa: E402
from learner.ml.sampling import (  # noqa: E402
    DEFAULT_EXPLORATION,
    DEFAULT_FOCUS_SIZE,
    label_need,
    rank_for_annotation,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "goemotions"
DEFAULT_CACHE = ROOT / "data" / "embeddings.sqlite"
DEFAULT_OUT = ROOT / "data" / "al_runs"
COLD_START = 200
# Judgments per round: 2,000 up to 29,600 judgments, then 6,000. The app
# retrains every ``retrain_every`` (50) annotations, some 250 judgments of 5
# focus labels, so even 2,000 is coarser than the product; the later rounds
# are longer only to keep the whole run near an hour on two shared cores
# (the savings against random are decided before 30,000 judgments).
EARLY_ROUNDS = (2000,) * 12
ROUND = 6000
STRATEGIES = ("random", "uncertain", "product", "mml")


def strategy_settings(name: str) -> dict[str, Any]:
    """Ranking arguments of a strategy name (``mml`` ranks outside ``rank_for_annotation``)."""
    if name == "random":
        return {"focus_size": None, "exploration": 1.0}
    if name == "uncertain":
        return {"focus_size": None, "exploration": 0.0}
    if name == "product":
        # The retrain loop weighs labels by ``label_need`` in focus-label projects.
        return {"focus_size": DEFAULT_FOCUS_SIZE, "exploration": DEFAULT_EXPLORATION, "balanced": True}
    if name == "mml":
        return {}
    match = re.fullmatch(r"focus(\d+)_explore([0-9.]+)((?:_pool\d+)?)((?:_balanced)?)", name)
    if match:
        settings: dict[str, Any] = {"focus_size": int(match.group(1)), "exploration": float(match.group(2))}
        if match.group(3):
            settings["pool_factor"] = int(match.group(3).removeprefix("_pool"))
        if match.group(4):
            settings["balanced"] = True
        return settings
    raise SystemExit(f"unknown strategy {name!r}")


def mml_picks(proba: np.ndarray, observed: np.ndarray, thresholds: np.ndarray, n: int) -> list[tuple[int, list[int]]]:
    """Mean max loss: items with the largest mean hinge loss over their unobserved labels, all labels asked."""
    p = np.clip(proba, 1e-6, 1 - 1e-6)
    t = np.clip(thresholds, 1e-6, 1 - 1e-6)
    margin = np.log(p / (1 - p)) - np.log(t / (1 - t))[None, :]
    loss = np.where(observed, 0.0, np.maximum(0.0, 1.0 - np.abs(margin)))
    open_count = (~observed).sum(1)
    score = np.where(open_count > 0, loss.sum(1) / np.maximum(open_count, 1), -np.inf)
    order = np.argsort(-score, kind="stable")[:n]
    return [(int(i), np.flatnonzero(~observed[i]).tolist()) for i in order if np.isfinite(score[i])]


def batch_size_for(budget: int, settings: dict[str, Any], observed: np.ndarray) -> int:
    """Picks to ask for so that the round's judgments are reached (the excess is not answered)."""
    open_rows = ~observed.all(1)
    all_cost = float((~observed[open_rows]).sum(1).mean()) if open_rows.any() else 1.0
    focus = settings.get("focus_size")
    exploration = settings.get("exploration", 0.0)
    focus_cost = all_cost if focus is None else min(focus, all_cost)
    per_pick = (1 - exploration) * focus_cost + exploration * all_cost
    return math.ceil(budget / max(per_pick, 1.0) * 1.3) + 10


def run(
    strategy: str,
    seed: int,
    data: dict[str, Any],
    budget: int,
    cache: str,
    threads: int,
    log: Any,
    save_masks: Path | None = None,
    schedule: tuple[int, ...] = (*EARLY_ROUNDS, ROUND),
) -> dict[str, Any]:
    """One simulated project: cold start, then rounds until ``budget`` judgments."""
    pool_texts, y_pool, x_pool, featurizer, x_test, y_test = (
        data[k] for k in ("pool_texts", "y_pool", "x_pool", "featurizer", "x_test", "y_test")
    )
    n, n_labels = y_pool.shape
    observed = np.zeros((n, n_labels), dtype=bool)
    targets = np.full((n, n_labels), np.nan)
    cold = data["cold_start"][seed][:COLD_START]
    observed[cold] = True
    targets[cold] = y_pool[cold]
    judgments = int(observed.sum())
    settings = strategy_settings(strategy)
    curve, rounds = [], []
    round_index = 0
    while True:
        started = time.perf_counter()
        config = config_for(n, int(observed.sum()))
        config.embedding_cache = cache
        config.num_threads = threads
        model = train_model(
            pool_texts, targets, config=config, seed=seed * 1000 + round_index, featurized=(featurizer, x_pool)
        )
        trained = time.perf_counter()
        f1 = macro_f1(y_test, model.decide(model.proba_from_features(x_test)))
        curve.append({"judgments": judgments, "macro_f1": round(float(f1), 4)})
        entry: dict[str, Any] = {
            "round": round_index,
            "judgments": judgments,
            "labelled_items": int(observed.any(1).sum()),
            "network": config.network,
            "embedding_share": model.metrics.get("embedding_share"),
            "train_seconds": round(trained - started, 2),
        }
        print(
            f"{strategy} seed {seed} round {round_index}: {judgments} judgments, macro-F1 {f1:.4f}",
            file=log,
            flush=True,
        )
        if judgments >= budget:
            entry["round_seconds"] = round(time.perf_counter() - started, 2)
            rounds.append(entry)
            break
        size = schedule[round_index] if round_index < len(schedule) else schedule[-1]
        size = min(size, budget - judgments)
        proba = model.proba_from_features(x_pool)
        rank_started = time.perf_counter()
        if strategy == "mml":
            asked = mml_picks(proba, observed, model.thresholds, batch_size_for(size, {}, observed))
            reasons = ["mml"] * len(asked)
        else:
            ranking = {key: value for key, value in settings.items() if key != "balanced"}
            if settings.get("balanced"):
                # The app knows how many positive answers each label has.
                ranking["label_weights"] = label_need((observed & (y_pool >= 0.5)).sum(0))
            picks = rank_for_annotation(
                proba,
                observed,
                x_pool,
                batch_size=batch_size_for(size, settings, observed),
                seed=seed * 1000 + round_index,
                thresholds=model.thresholds,
                **ranking,
            )
            asked = [(pick.item, list(pick.focus)) for pick in picks]
            reasons = [pick.reason for pick in picks]
        entry["rank_seconds"] = round(time.perf_counter() - rank_started, 2)
        spent, by_reason = 0, {}
        for (item, labels), reason in zip(asked, reasons, strict=True):
            labels = labels[: size - spent]
            # The queue rule: an observed entry is never asked again.
            assert not observed[item, labels].any()
            observed[item, labels] = True
            targets[item, labels] = y_pool[item, labels]
            spent += len(labels)
            by_reason[reason] = by_reason.get(reason, 0) + len(labels)
            if spent >= size:
                break
        judgments += spent
        entry["judgments_by_reason"] = by_reason
        entry["round_seconds"] = round(time.perf_counter() - started, 2)
        rounds.append(entry)
        round_index += 1
        if spent == 0:
            break
    if save_masks is not None:
        # The observed entries at the end, for experiments on the model outside the loop.
        np.save(save_masks / f"{strategy}_seed{seed}_observed.npy", observed)
    return {"strategy": strategy, "seed": seed, "curve": curve, "rounds": rounds}


def area(curve: list[dict[str, Any]], start: float, stop: float) -> float:
    """Mean macro-F1 over [start, stop] judgments (trapezoid area divided by the width)."""
    x = np.array([p["judgments"] for p in curve], dtype=float)
    y = np.array([p["macro_f1"] for p in curve], dtype=float)
    grid = np.linspace(start, stop, 1001)
    return float(np.interp(grid, x, y).mean())


def judgments_to_reach(curve: list[dict[str, Any]], target: float) -> float | None:
    """Judgments at which the curve first reaches ``target`` (linear interpolation), or None."""
    points = [(p["judgments"], p["macro_f1"]) for p in curve]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if y0 >= target:
            return float(x0)
        if y1 >= target:
            return float(x0 + (target - y0) / (y1 - y0) * (x1 - x0))
    return float(points[0][0]) if points and points[0][1] >= target else None


def mean_curve(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Average macro-F1 of several seeds at the judgment counts they share (the schedule is the same)."""
    counts = sorted(set.intersection(*[{p["judgments"] for p in r["curve"]} for r in runs]))
    return [
        {
            "judgments": c,
            "macro_f1": round(
                float(np.mean([next(p["macro_f1"] for p in r["curve"] if p["judgments"] == c) for r in runs])), 4
            ),
        }
        for c in counts
    ]


def summarize(runs: list[dict[str, Any]], budget: int) -> dict[str, Any]:
    by_strategy: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_strategy.setdefault(r["strategy"], []).append(r)
    summary: dict[str, Any] = {}
    baseline = by_strategy.get("random")
    target = None
    if baseline:
        # Rounded like the mean curves, so the random curve itself reaches it.
        target = round(float(np.mean([r["curve"][-1]["macro_f1"] for r in baseline])), 4)
    start = COLD_START * 28
    for name, group in by_strategy.items():
        group.sort(key=lambda r: r["seed"])
        curve = mean_curve(group)
        seconds = [e["round_seconds"] for r in group for e in r["rounds"]]
        item: dict[str, Any] = {
            "seeds": [r["seed"] for r in group],
            "macro_f1_at_budget": [r["curve"][-1]["macro_f1"] for r in group],
            "macro_f1_at_budget_mean": round(float(np.mean([r["curve"][-1]["macro_f1"] for r in group])), 4),
            "auc_mean_macro_f1": [round(area(r["curve"], start, budget), 4) for r in group],
            "mean_curve": curve,
            "round_seconds_mean": round(float(np.mean(seconds)), 1),
            "round_seconds_max": round(float(np.max(seconds)), 1),
            "run_seconds": [r.get("run_seconds") for r in group],
        }
        if target is not None:
            need = judgments_to_reach(curve, target)
            item["judgments_to_reach_random_at_budget"] = None if need is None else round(need)
            item["saving_vs_random"] = None if need is None else round(1 - need / budget, 3)
            # Per seed, against the random run of the same seed (same cold start).
            per_seed = []
            for r in group:
                same = [b for b in baseline if b["seed"] == r["seed"]]
                if same:
                    need_seed = judgments_to_reach(r["curve"], same[0]["curve"][-1]["macro_f1"])
                    per_seed.append(None if need_seed is None else round(need_seed))
            item["judgments_to_reach_random_same_seed"] = per_seed
        summary[name] = item
    return {"random_macro_f1_at_budget": None if target is None else round(target, 4), "strategies": summary}


def rank_speed(n: int = 100_000, n_labels: int = 28) -> dict[str, float]:
    """Seconds ``rank_for_annotation`` takes on a synthetic n x L pool (TF-IDF-like sparse features)."""
    rng = np.random.default_rng(0)
    proba = rng.random((n, n_labels)) ** 3
    observed = rng.random((n, n_labels)) < 0.05
    nnz = 30
    features = sp.csr_matrix(
        (rng.random(n * nnz).astype(np.float32), rng.integers(0, 100_000, n * nnz), np.arange(0, n * nnz + 1, nnz)),
        shape=(n, 100_000),
    )
    out = {}
    for batch in (200, 2000, n):
        started = time.perf_counter()
        rank_for_annotation(proba, observed, features, batch_size=batch, focus_size=5, exploration=0.05, seed=1)
        out[f"batch_{batch}"] = round(time.perf_counter() - started, 2)
    return out


def plot(runs: list[dict[str, Any]], summary: dict[str, Any], path: Path) -> None:
    """Macro-F1 against judgments: one line per strategy (mean over seeds), seeds as thin lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    colours: dict[str, str] = {}
    for name, item in summary["strategies"].items():
        curve = item["mean_curve"]
        (line,) = ax.plot(
            [p["judgments"] for p in curve],
            [p["macro_f1"] for p in curve],
            marker="o",
            markersize=3,
            label=f"{name} ({len(item['seeds'])} seeds): {item['macro_f1_at_budget_mean']:.3f}",
        )
        colours[name] = line.get_color()
    for r in runs:
        ax.plot(
            [p["judgments"] for p in r["curve"]],
            [p["macro_f1"] for p in r["curve"]],
            color=colours[r["strategy"]],
            alpha=0.2,
            linewidth=0.8,
        )
    target = summary.get("random_macro_f1_at_budget")
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", linewidth=0.8, label=f"random at budget: {target:.3f}")
    ax.set_xlabel("judgments (one label answered on one item)")
    ax.set_ylabel("test macro-F1 (model thresholds)")
    ax.set_title("GoEmotions: active learning with the product's ranking")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def load_data(args: argparse.Namespace, seeds: list[int], log: Any) -> dict[str, Any]:
    labels = (args.data / "labels.txt").read_text(encoding="utf-8").split()
    pool_texts, y_pool = read_split(args.data / "train.tsv", len(labels))
    test_texts, y_test = read_split(args.data / "test.tsv", len(labels))
    if args.pool_limit:
        pool_texts, y_pool = pool_texts[: args.pool_limit], y_pool[: args.pool_limit]
    started = time.perf_counter()
    config = config_for(len(pool_texts), 0)
    config.embedding_cache = str(args.embedding_cache)
    featurizer, x_pool = prepare_features(pool_texts, config)
    x_test = sp.csr_matrix(featurizer.transform(test_texts))
    print(f"features: {x_pool.shape}, {time.perf_counter() - started:.1f} s", file=log, flush=True)
    cold = {}
    for seed in seeds:
        cold[seed] = np.asarray(diverse_order(pool_texts, seed=seed)[:COLD_START])
    return {
        "labels": labels,
        "pool_texts": pool_texts,
        "y_pool": y_pool,
        "x_pool": x_pool,
        "featurizer": featurizer,
        "x_test": x_test,
        "y_test": y_test,
        "cold_start": cold,
        "features_seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget", type=int, default=60_000)
    parser.add_argument("--pool-limit", type=int, default=0, help="use only the first N pool items")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 seed, 10k pool, 12k judgments")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (at most 2 on this machine)")
    parser.add_argument("--embedding-cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="one JSON file per (strategy, seed) run")
    parser.add_argument("--summarize-only", action="store_true", help="only summarise the runs stored in --out")
    parser.add_argument("--rerun", action="store_true", help="run again even if --out holds the run")
    parser.add_argument("--plot", type=Path, help="also draw the curves to this PNG (needs matplotlib)")
    parser.add_argument(
        "--rounds",
        default=",".join(str(v) for v in (*EARLY_ROUNDS, ROUND)),
        help="judgments per round after the cold start; the last size repeats",
    )
    parser.add_argument("--save-masks", action="store_true", help="also store each run's final observed mask")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.budget, args.pool_limit = "0", 12_000, args.pool_limit or 10_000
        args.out = args.out.parent / (args.out.name + "_quick")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    schedule = tuple(int(v) for v in args.rounds.split(",") if v.strip())
    strategies = [s for s in args.strategies.split(",") if s.strip()]
    for name in strategies:
        strategy_settings(name)
    args.out.mkdir(parents=True, exist_ok=True)
    log = sys.stderr
    wall = time.perf_counter()
    features_seconds = None
    if not args.summarize_only:
        todo = [
            (name, seed)
            for name in strategies
            for seed in seeds
            if args.rerun or not (args.out / f"{name}_seed{seed}.json").exists()
        ]
        if todo:
            data = load_data(args, sorted({seed for _, seed in todo}), log)
            features_seconds = data["features_seconds"]
            for name, seed in todo:
                started = time.perf_counter()
                result = run(
                    name,
                    seed,
                    data,
                    args.budget,
                    str(args.embedding_cache),
                    args.threads,
                    log,
                    args.out if args.save_masks else None,
                    schedule,
                )
                result["run_seconds"] = round(time.perf_counter() - started, 1)
                result["budget"] = args.budget
                (args.out / f"{name}_seed{seed}.json").write_text(json.dumps(result))
    runs = []
    for name in strategies:
        for seed in seeds:
            path = args.out / f"{name}_seed{seed}.json"
            if path.exists():
                runs.append(json.loads(path.read_text()))
    report = {
        "rank_seconds_100k_x_28": rank_speed(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()[0]},
        "budget": args.budget,
        "pool_limit": args.pool_limit or None,
        "features_seconds": features_seconds,
        "wall_seconds_this_call": round(time.perf_counter() - wall, 1),
        "runs": [{k: r[k] for k in ("strategy", "seed", "curve", "rounds", "run_seconds")} for r in runs],
        "summary": summarize(runs, args.budget) if runs else {},
    }
    if args.plot and runs:
        plot(runs, report["summary"], args.plot)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
