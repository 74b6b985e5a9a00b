"""Benchmark: does pretraining help? AUC / accuracy vs the number of finetuning events.

For each finetuning-set size and seed, a balanced random subset of labelled
signal and background events (spec selection) is drawn; a classifier is trained
with each strategy — ``scratch`` (same architecture, random init), ``frozen``
(pretrained backbone fixed, new head) and ``finetune`` (everything trains, the
backbone at ``--backbone-lr``) — and evaluated on one fixed, held-out, balanced
test set.  Output: one record per (strategy, size, seed) as JSON (the record
format of ``hepfm_root.evaluate`` learning curves), the gains against scratch
with their significance (``hepfm_root.evaluate.strategy_gains``), and plots.

The protocol of ``docs/pretraining.md``: ``--recipe`` names the optimisation
(``hepfm_root.train.RECIPES``; explicit flags override it); with
``--validation-per-class N`` the best epoch is chosen on one fixed validation set
of N events per class, disjoint from the test set and from every finetuning set
(nothing is carved out of the small finetuning set); ``--patience 0`` trains the
whole budget.  A scratch model that predicts one class is a failed baseline: the
summary says so and calls no gain over it.

Run by hand (data: docs/datasets.md, "Pretraining and finetuning sets"):

    python tests/benchmarks/bench_pretraining.py \
        --backbone exports/six_object_transformer_masked_type/0.1/backbone.pt \
        --signal $HEPFM_DATA/ft_H500.root $HEPFM_DATA/ft_H500_b.root --background $HEPFM_DATA/ft_tt.root \
        --sizes 1000 10000 --seeds 5 --json tests/benchmarks/results/pretraining_gain.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

from hepfm_root.evaluate import cka_matrix, learning_curves, plot_learning_curves, strategy_gains
from hepfm_root.models import load_checkpoint
from hepfm_root.train import RECIPES, Classification, TrainConfig, finetune_model, load_events, task_metrics


def _summary(records: list[dict], strategies: list[str], sizes: list[int]) -> dict[str, dict]:
    def sem(v: np.ndarray) -> float | None:
        return float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None

    summary = {}
    for s in strategies:
        for n in sizes:
            r = [x for x in records if x["strategy"] == s and x["n_events"] == n]
            if r:
                aucs, accs = np.array([x["auc"] for x in r]), np.array([x["accuracy"] for x in r])
                summary[f"{s}/{n}"] = {"auc_mean": float(aucs.mean()), "auc_sem": sem(aucs),
                                       "accuracy_mean": float(accs.mean()), "accuracy_sem": sem(accs), "seeds": len(r)}
    gains = [g.as_dict() for g in strategy_gains(records, metric="auc")]
    summary["gains_vs_scratch_auc"] = gains
    return summary


def _train_config(args: argparse.Namespace, seed: int) -> TrainConfig:
    """The recipe's settings, then every flag given explicitly (``None``: not given)."""
    keys = dict(RECIPES[args.recipe]) if args.recipe else {}
    flags = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "backbone_lr": args.backbone_lr,
             "patience": args.patience}
    keys.update({k: v for k, v in flags.items() if v is not None})
    if keys.get("patience") == 0:
        keys["patience"] = None     # the whole budget
    return TrainConfig(**keys, seed=seed, device="cpu")


def _plots(records: list[dict], path: Path, ck) -> None:  # noqa: ANN001
    task = (ck.meta.get("pretraining") or {}).get("task", ck.task)
    for metric in ("auc", "accuracy"):
        plot_learning_curves(learning_curves(records, metric=metric), path.with_name(f"{path.stem}_{metric}"),
                             info=f"{ck.architecture}, {task} pretraining")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", type=Path, required=True)
    ap.add_argument("--signal", nargs="+", required=True)
    ap.add_argument("--background", nargs="+", required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="run seeds first-seed .. first-seed+seeds-1 (to split a run)")
    ap.add_argument("--merge", type=Path, nargs="+", help="combine the records of earlier partial runs' JSONs")
    ap.add_argument("--strategies", nargs="+", default=["scratch", "frozen", "finetune"])
    ap.add_argument("--test-per-class", type=int, default=20000)
    ap.add_argument("--validation-per-class", type=int, default=0,
                    help="a fixed, separate validation set (0: each finetuning set's own val_fraction, the old way)")
    ap.add_argument("--recipe", choices=sorted(RECIPES), help="optimisation settings (flags override them)")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--patience", type=int, help="0: no early stopping (the whole budget)")
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--backbone-lr", type=float)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ck = load_checkpoint(args.backbone)
    if args.merge:  # records (and embeddings' CKA, recomputed only in single runs) of partial runs
        parts = [json.loads(p.read_text()) for p in args.merge]
        out = parts[0]
        out["records"] = [r for p in parts for r in p["records"]]
        out["summary"] = _summary(out["records"], args.strategies, args.sizes)
        if len(parts) > 1:
            out["cka_event_embeddings"] = {"partial_runs": [p.get("cka_event_embeddings") for p in parts]}
        args.json.write_text(json.dumps(out, indent=1, default=float) + "\n")
        _plots(out["records"], args.json, ck)
        print(json.dumps(out["summary"], indent=1, default=float))
        return
    data = load_events({"ttbar": args.background, "signal": args.signal}, ck.spec)
    labels = data.targets["label"]
    rng = np.random.default_rng(12345)
    test_idx = np.concatenate([rng.choice(np.flatnonzero(labels == c), args.test_per_class, replace=False)
                               for c in (0, 1)])
    test = data.take(np.sort(test_idx))
    rest = np.setdiff1d(np.arange(len(data)), test_idx)
    val = None
    if args.validation_per_class:
        rl = labels[rest]
        val_idx = np.concatenate([rng.choice(rest[rl == c], args.validation_per_class, replace=False) for c in (0, 1)])
        val = data.take(np.sort(val_idx))
        val.label_names = ["ttbar", "signal"]
        rest = np.setdiff1d(rest, val_idx)
    pool = data.take(rest)
    pool.label_names = test.label_names = ["ttbar", "signal"]
    avail = {c: int((pool.targets["label"] == c).sum()) for c in (0, 1)}
    print(f"pool: {avail} events per class; test: {args.test_per_class} per class; "
          f"validation: {args.validation_per_class or 'carved out of each finetuning set'}", flush=True)

    records, latents = [], {}
    probe = test.take(np.arange(min(2000, len(test))))
    for n in args.sizes:
        if n // 2 > min(avail.values()):
            print(f"skipping size {n}: only {avail} events per class available", flush=True)
            continue
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            sub = pool.balanced_subset(n, seed=1000 + seed)
            for strategy in args.strategies:
                cfg = _train_config(args, seed)
                t0 = time.perf_counter()
                model, hist = finetune_model(ck, sub, strategy, cfg, score_index=1, val_data=val)
                seconds = time.perf_counter() - t0
                m = task_metrics(model, test, Classification(score_index=1))
                rec = {"strategy": strategy, "n_events": n, "seed": seed, "auc": m["auc"], "accuracy": m["accuracy"],
                       "test_loss": m["loss"], "best_epoch": hist.best_epoch, "epochs_run": len(hist.train_loss),
                       "seconds": round(seconds, 1), "train_events_per_second": round(hist.events_per_second, 1)}
                records.append(rec)
                print(json.dumps(rec), flush=True)
                with torch.no_grad():  # event embeddings of the same test events, for CKA
                    latents[(strategy, n, seed)] = model.embed_event(torch.from_numpy(probe.objects),
                                                                     torch.from_numpy(probe.mask)).numpy()

    summary = _summary(records, args.strategies, args.sizes)

    # Representation similarity (linear CKA) of the event embeddings at the largest size: within each
    # strategy's ensemble of seeds, and between strategies (mean over seed pairs).
    cka: dict[str, float] = {}
    n_max = max((r["n_events"] for r in records), default=0)
    keys = [k for k in latents if k[1] == n_max]
    if keys:
        mat = cka_matrix([latents[k] for k in keys])
        for a in args.strategies:
            for b in args.strategies:
                if b < a:
                    continue
                ia = [i for i, k in enumerate(keys) if k[0] == a]
                ib = [i for i, k in enumerate(keys) if k[0] == b]
                vals = [mat[i, j] for i in ia for j in ib if i != j]
                if vals:
                    cka[f"{a}~{b}"] = float(np.mean(vals))
    out = {
        "benchmark": "pretraining_gain", "date": date.today().isoformat(),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "threads": args.threads,
                    "torch": torch.__version__, "device": "cpu"},
        "backbone": {"path": str(args.backbone), "architecture": ck.architecture, "task": ck.task,
                     "weights_sha256": ck.weights_sha256, "pretraining": ck.meta.get("pretraining")},
        "data": {"signal": [Path(f).name for f in args.signal], "background": [Path(f).name for f in args.background],
                 "pool_per_class": avail, "test_per_class": args.test_per_class,
                 "validation_per_class": args.validation_per_class, "selection": "spec"},
        "train_config": {k: v for k, v in vars(_train_config(args, 0)).items() if k != "seed"},
        "settings": {k: v for k, v in vars(args).items() if k not in {"json", "signal", "background", "backbone"}},
        "records": records, "summary": summary,
        "cka_event_embeddings": {"n_events": n_max, "probe_events": len(probe), "mean_pairwise": cka},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(json.dumps(summary, indent=1, default=float))
    print("CKA:", json.dumps(cka, indent=1))
    _plots(records, args.json, ck)


if __name__ == "__main__":
    main()
