"""Benchmark: jet backbones from constituents inside an event classifier (issue 9).

Part 1 — strategies.  A particle-transformer jet backbone pretrained on the jet pretext task
(H -> bb̄ jets vs other jets, generator truth; ``--backbone``, e.g. the shipped
``exports/jet_particle_transformer_hbb/0.1/backbone.pt``) is put inside the deep-sets event
head (``JetEventModel``, representation ``--representation``) and trained to separate
resonance_hh_4b events (signal) from qcd events with ``frozen`` / ``finetune`` / ``scratch``,
for several numbers of finetuning events and seeds.  Metrics on one fixed, balanced test set:
background rejection 1/ε_B at ε_S = 90 %, AUC, and the maximum significance improvement
ε_S/√ε_B (over thresholds with at least 10 background test events left, so one lucky event
cannot dominate).

Part 2 — jet images.  A ViT masked autoencoder (embedding 128, patch masking 0.75) is
pretrained by reconstruction on the jets of the pretraining files, then linearly probed
(frozen encoder, new linear head) and finetuned on the jet pretext task; a small CNN is
trained from scratch on the same jets.  Jet-level accuracy and AUC on the jets of the test
events, and trainable parameters.

Data (generated here when missing, into ``--data``; ~90 s): jets_pre_{hh4b,qcd}.root (2000
events each, seeds 201/202: jet pretraining, MAE) and jets_ft_{hh4b,qcd}.root (1500 each,
seeds 101/102: finetuning pool and test set).

Run by hand (about 12 minutes on one shared CPU core):

    OMP_NUM_THREADS=1 python tests/benchmarks/bench_jets.py --data /tmp/jets_data \
        --backbone exports/jet_particle_transformer_hbb/0.1/backbone.pt \
        --json tests/benchmarks/results/bench_jets.json --plot tests/benchmarks/results/bench_jets.png
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

from hepfm_root.evaluate import auc
from hepfm_root.generate import generate
from hepfm_root.models import build_model, load_checkpoint, model_config, model_inputs, with_new_head
from hepfm_root.train import (
    EventData,
    JetTagging,
    MAEReconstruction,
    TrainConfig,
    finetune_model,
    fit,
    load_events,
)
from hepfm_root.train._loop import trim_constituents
from hepfm_root.train._run import fit_image_scales

FILES = {"jets_pre_hh4b": ("resonance_hh_4b", 2000, 201), "jets_pre_qcd": ("qcd", 2000, 202),
         "jets_ft_hh4b": ("resonance_hh_4b", 1500, 101), "jets_ft_qcd": ("qcd", 1500, 102)}


def _files(folder: Path) -> dict[str, Path]:
    out = {}
    for name, (process, n, seed) in FILES.items():
        path = folder / f"{name}.root"
        if not path.exists():
            generate(process, n, path, seed=seed, jobs=1)
        out[name] = path
    return out


@torch.no_grad()
def predict(model: torch.nn.Module, data: EventData, *, jets: bool = False) -> np.ndarray:
    """Softmax outputs per event ``(N, C)`` or per jet ``(N, k, C)`` (``jets``)."""
    model.eval()
    names = model_inputs(model)
    arrays = data.arrays(names)
    out = []
    for i in range(0, len(data), 256):
        xs = trim_constituents(tuple(torch.from_numpy(np.ascontiguousarray(a[i : i + 256])) for a in arrays), names)
        logits = model.object_logits(*xs) if jets else model(*xs)
        out.append(torch.softmax(logits.float(), -1).numpy())
    return np.concatenate(out)


def event_metrics(score: np.ndarray, is_signal: np.ndarray, min_background: int = 10) -> dict[str, float]:
    """AUC, background rejection at 90 % signal efficiency, max ε_S/√ε_B.

    Example:
        >>> m = event_metrics(np.arange(40.0), np.arange(40) >= 20)
        >>> m["auc"], m["rejection_at_90"] > 1e3
        (1.0, True)
    """
    s, b = np.sort(score[is_signal])[::-1], np.sort(score[~is_signal])[::-1]
    cut = s[int(np.ceil(0.9 * len(s))) - 1]                      # keeps 90 % of the signal
    eff_b = float((b >= cut).mean())
    thresholds = np.unique(score)
    eps_s = np.array([(s >= t).mean() for t in thresholds])
    n_b = np.array([(b >= t).sum() for t in thresholds])
    ok = n_b >= min_background
    sic = float(np.max(eps_s[ok] / np.sqrt(n_b[ok] / len(b)))) if ok.any() else float("nan")
    return {"auc": auc(score, is_signal), "rejection_at_90": 1.0 / eff_b if eff_b > 0 else float(len(b)),
            "max_significance_improvement": sic}


def part_strategies(args: argparse.Namespace, files: dict[str, Path], spec, log: list) -> list[dict]:  # noqa: ANN001
    ck = load_checkpoint(args.backbone)
    pool = load_events({"qcd": [files["jets_ft_qcd"]], "hh4b": [files["jets_ft_hh4b"]]}, spec)
    pool = pool.truncate_constituents(args.max_constituents)
    labels = pool.targets["label"]
    rng = np.random.default_rng(12345)
    test_idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), args.test_per_class, replace=False)
                                       for c in (0, 1)]))
    rest = np.setdiff1d(np.arange(len(pool)), test_idx)
    test, train_pool = pool.take(test_idx), pool.take(rest)
    records = []
    for seed in range(args.seeds):
        for size in args.sizes:
            sub = train_pool.balanced_subset(size, seed=1000 * seed + size)
            for strategy in args.strategies:
                cfg = TrainConfig(epochs=args.epochs, batch_size=64, lr=args.lr, backbone_lr=args.backbone_lr,
                                  patience=args.patience, seed=seed, device="cpu")
                t0 = time.perf_counter()
                model, hist = finetune_model(ck, sub, strategy, cfg, score_index=1,
                                             event_head={"representation": args.representation, "hidden": 32})
                seconds = time.perf_counter() - t0
                m = event_metrics(predict(model, test)[:, 1], test.targets["label"] == 1)
                rec = {"strategy": strategy, "n_train": size, "seed": seed, **{k: round(v, 5) for k, v in m.items()},
                       "epochs_run": len(hist.train_loss), "seconds": round(seconds, 1)}
                records.append(rec)
                log.append(rec)
                print(json.dumps(rec), flush=True)
    return records


def _n_trainable(model: torch.nn.Module, head_only: bool = False) -> int:
    params = model.head.parameters() if head_only else model.parameters()
    return int(sum(p.numel() for p in params))


def part_images(args: argparse.Namespace, files: dict[str, Path], spec) -> list[dict]:  # noqa: ANN001
    jets = load_events([files["jets_pre_hh4b"], files["jets_pre_qcd"]], spec, jet_truth=True)
    jets = jets.truncate_constituents(args.max_constituents).take(
        np.sort(np.random.default_rng(7).choice(len(jets), size=min(args.image_events, len(jets)), replace=False)))
    test = load_events([files["jets_ft_hh4b"], files["jets_ft_qcd"]], spec, jet_truth=True)
    test = test.take(np.sort(np.random.default_rng(8).choice(len(test), size=min(1000, len(test)), replace=False)))
    test = test.truncate_constituents(args.max_constituents)
    y = test.targets["jet_label"]
    real = y >= 0

    def jet_metrics(model: torch.nn.Module) -> dict[str, float]:
        p = predict(model, test, jets=True)
        return {"accuracy": float((p.argmax(-1)[real] == y[real]).mean()), "auc": auc(p[..., 1][real], y[real] == 1)}

    options = fit_image_scales("jet_image_mae", jets, {}, "default", spec)
    torch.manual_seed(0)
    mae = build_model("jet_image_mae", model_config("jet_image_mae", spec, 2, size="default", **options))
    t0 = time.perf_counter()
    hist = fit(mae, jets, MAEReconstruction(), TrainConfig(epochs=args.mae_epochs, batch_size=64, lr=1e-3, patience=3,
                                                           device="cpu"))
    rows = [{"model": "mae_pretraining", "reconstruction_mse_first_epoch": round(hist.val_loss[0], 6),
             "reconstruction_mse_best": round(min(hist.val_loss), 6), "seconds": round(time.perf_counter() - t0, 1)}]
    state = {k: v.clone() for k, v in mae.state_dict().items()}
    cfg = TrainConfig(epochs=args.probe_epochs, batch_size=64, lr=3e-3, patience=3, device="cpu")
    for name, backbone_lr in (("mae_linear_probe", 0.0), ("mae_finetune", 3e-4)):
        mae.load_state_dict(state)
        model = with_new_head(mae, 2, seed=1)
        t0 = time.perf_counter()
        fit(model, jets, JetTagging(), TrainConfig(**{**cfg.__dict__, "backbone_lr": backbone_lr}))
        rows.append({"model": name, **{k: round(v, 4) for k, v in jet_metrics(model).items()},
                     "trainable_parameters": _n_trainable(model, head_only=backbone_lr == 0),
                     "seconds": round(time.perf_counter() - t0, 1)})
        print(json.dumps(rows[-1]), flush=True)
    torch.manual_seed(0)
    cnn = build_model("jet_cnn", model_config("jet_cnn", spec, 2, size="default", **options))
    t0 = time.perf_counter()
    fit(cnn, jets, JetTagging(), cfg)
    rows.append({"model": "cnn_scratch", **{k: round(v, 4) for k, v in jet_metrics(cnn).items()},
                 "trainable_parameters": _n_trainable(cnn), "seconds": round(time.perf_counter() - t0, 1)})
    print(json.dumps(rows[-1]), flush=True)
    return rows


def plot(records: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("rejection_at_90", "background rejection at ε_S = 90 %"), ("auc", "AUC"),
            ("max_significance_improvement", "max ε_S / √ε_B")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, (key, label) in zip(axes, keys, strict=True):
        for strategy in sorted({r["strategy"] for r in records}):
            sizes = sorted({r["n_train"] for r in records if r["strategy"] == strategy})
            vals = [[r[key] for r in records if r["strategy"] == strategy and r["n_train"] == n] for n in sizes]
            ax.errorbar(sizes, [np.mean(v) for v in vals], yerr=[np.std(v) for v in vals], marker="o", capsize=3,
                        label=strategy)
        ax.set_xscale("log")
        ax.set_xlabel("finetuning events")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--backbone", type=Path, required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--strategies", nargs="+", default=["frozen", "finetune", "scratch"])
    ap.add_argument("--representation", default="score_hl")
    ap.add_argument("--test-per-class", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--patience", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--backbone-lr", type=float, default=2e-4)
    ap.add_argument("--max-constituents", type=int, default=64)
    ap.add_argument("--image-events", type=int, default=1500)
    ap.add_argument("--mae-epochs", type=int, default=8)
    ap.add_argument("--probe-epochs", type=int, default=6)
    ap.add_argument("--skip-images", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--plot", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from hepfm_root import load_spec

    spec = load_spec("jet_constituents")
    args.data.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    files = _files(args.data)
    log: list = []
    records = part_strategies(args, files, spec, log)
    images = [] if args.skip_images else part_images(args, files, spec)
    summary = {}
    for strategy in args.strategies:
        for n in args.sizes:
            rs = [r for r in records if r["strategy"] == strategy and r["n_train"] == n]
            summary[f"{strategy}/{n}"] = {k: [round(float(np.mean([r[k] for r in rs])), 4),
                                              round(float(np.std([r[k] for r in rs])), 4)]
                                          for k in ("rejection_at_90", "auc", "max_significance_improvement")}
    out = {
        "benchmark": "bench_jets", "date": str(date.today()), "machine": platform.processor() or platform.machine(),
        "threads": args.threads, "seconds_total": round(time.perf_counter() - t0, 1),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "backbone": {"path": str(args.backbone), "weights_sha256": load_checkpoint(args.backbone).weights_sha256},
        "data": {name: {"process": p, "events": n, "seed": s} for name, (p, n, s) in FILES.items()},
        "signal": "resonance_hh_4b (m_H2 = 1 TeV, HH -> 4b) events vs qcd (pT-hat > 300) events, AK4 jets "
                  "(built-in jet_constituents spec)",
        "summary_mean_std": summary, "records": records, "images": images,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1) + "\n")
    if args.plot:
        plot(records, args.plot, f"JetEventModel ({args.representation}) on a pretrained ParT jet backbone: "
                                  f"hh4b vs qcd, {args.seeds} seeds")
    print(f"done in {out['seconds_total']} s")


if __name__ == "__main__":
    main()
