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
