"""Helpers for tests that write their own ROOT files."""

from __future__ import annotations

from pathlib import Path

import awkward as ak

#: The shipped model most tests score with (a small, stable export: six_object spec).
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1"


def mktree_columns(arrays: ak.Array) -> dict:
    """Record array with flat NanoAOD names -> uproot ``mktree``/``extend`` data.

    Scalar branches stay arrays; ``Coll_field`` jagged branches are zipped per collection, so
    uproot writes the NanoAOD counter ``nColl`` and ``Coll_field`` branches again.
    """
    out, groups = {}, {}
    for name in arrays.fields:
        if arrays[name].ndim == 1:
            out[name] = ak.to_numpy(arrays[name])
        else:
            coll, field = name.split("_", 1)
            groups.setdefault(coll, {})[field] = arrays[name]
    out.update({c: ak.zip(f, depth_limit=2) for c, f in groups.items()})
    return out


def clustered_copy(src: Path, dest: Path, entries_per_cluster: int) -> Path:
    """``src``'s ``Events`` tree rewritten with one cluster per ``entries_per_cluster`` entries (ROOT's CloneTree).

    Under ImplicitMT each cluster is a separate task, processed in no fixed order: what a test of
    "the same scores under ImplicitMT" needs (a one-cluster file is read in order by one thread).
    """
    import ROOT

    fin = ROOT.TFile.Open(str(src))
    fout = ROOT.TFile(str(dest), "RECREATE")
    copy = fin.Get("Events").CloneTree(0)
    copy.SetAutoFlush(entries_per_cluster)
    copy.CopyEntries(fin.Get("Events"))
    copy.Write()
    fout.Close()
    fin.Close()
    return dest


def n_clusters(path: Path) -> int:
    """Clusters of the ``Events`` tree of ``path`` (ROOT's cluster iterator)."""
    import ROOT

    f = ROOT.TFile.Open(str(path))
    tree, n, it = f.Get("Events"), 0, None
    it = tree.GetClusterIterator(0)
    while it.Next() < tree.GetEntries():
        n += 1
    f.Close()
    return n


def train_fold_set(folder: Path, dy: Path, tt: Path, k: int = 2) -> Path:
    """A k-fold set of tiny object transformers (1 epoch, ``hepfm finetune --folds k --fold-rule hash``) on the
    real DY and tt̄ samples; returns its manifest ``folder/out/kf.folds.json``."""
    import yaml
    from click.testing import CliRunner

    from hepfm_root.cli import cli

    (folder / "out").mkdir(parents=True)
    cfg = {"name": "kf", "strategy": "scratch", "spec": "event_graph",
           "model": {"architecture": "object_transformer", "size": "tiny"},
           "data": {"classes": {"dy": [str(dy)], "tt": [str(tt)]}},
           "train": {"epochs": 1, "batch_size": 64, "lr": 3e-3, "seed": 0, "device": "cpu"}, "output": "out/kf.pt"}
    (folder / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    r = CliRunner().invoke(cli, ["finetune", str(folder / "cfg.yaml"), "--folds", str(k), "--fold-rule", "hash"])
    assert r.exit_code == 0, r.output
    return folder / "out" / "kf.folds.json"
