"""Check the masked-type study's signal, ``heavy_higgs_whpm`` (2hdm425-325), against semileptonic tt̄.

Run by hand (not a test, not part of ``run_all.py``).  It generates (or reuses) N events of
each process, tensorizes them with the built-in ``six_object`` spec and writes to
``results/hhdm_signal_check.json``:

- the six-object selection efficiency of each process;
- the truth content of the signal (``GenPart``): events with exactly one H⁰ → W∓H±,
  H± → W±h, h → bb̄ chain, and events with exactly one charged lepton from a W;
- the AUC (``hepfm_root.evaluate.auc``) of -|m_bb − 115 GeV| (the two b-jet rows of the tensor)
  and of HT (scalar sum of the four jets' pT in the tensor), signal vs tt̄, on selected events;
- generation time per 1000 events.

    nice -n 10 python3 tests/benchmarks/check_hhdm_signal.py --events 5000 --seed 1 --workdir /tmp/hhdm

A file already in ``--workdir`` is reused; its generation time is then read from
``NAME.root.timing.json`` (``{"wall_seconds": …, "cpu_seconds": …, "how": …}``) when that file
exists, e.g. written by hand from ``/usr/bin/time hepfm generate …``.  The cross-check with
Pythia's own (wide) H⁰ and H± widths::

    python3 tests/benchmarks/check_hhdm_signal.py --workdir /tmp/hhdm_wide \
        --pythia '35:doForceWidth = off' --pythia '37:doForceWidth = off' \
        --output tests/benchmarks/results/hhdm_signal_check_default_widths.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import uproot

import hepfm_root
from hepfm_root.evaluate import auc, bootstrap_metrics
from hepfm_root.generate import PROCESSES, generate

SIGNAL, BACKGROUND = "heavy_higgs_whpm", "ttbar_semilep"
#: Where the study centres its m_bb window (GeV).
M_BB_CENTRE = 115.0
_OUT = Path(__file__).parent / "results" / "hhdm_signal_check.json"


def _ensure(process: str, n: int, seed: int, workdir: Path, pythia: list[str]) -> dict:
    """The file of ``process`` in ``workdir`` (generated unless there) and how long it took."""
    path = workdir / f"{process}.root"
    if path.exists():
        stamp = path.with_suffix(".root.timing.json")
        timing = json.loads(stamp.read_text()) if stamp.exists() else {"how": "reused file, time not measured"}
        return {"path": path, **timing}
    start, cpu = time.perf_counter(), time.process_time()
    generate(process, n, path, seed=seed, jobs=1, pythia_settings=pythia)
    return {"path": path, "wall_seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
            "how": "hepfm_root.generate.generate(jobs=1) in this script"}


def _four_vectors(rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """(px, py, pz, E, pT) from tensor rows [log pT, η, sin φ, cos φ, log(1 + m), …]."""
    pt = np.exp(rows[..., 0])
    eta, sin_phi, cos_phi = rows[..., 1], rows[..., 2], rows[..., 3]
    m = np.expm1(rows[..., 4])
    px, py, pz = pt * cos_phi, pt * sin_phi, pt * np.sinh(eta)
    return px, py, pz, np.sqrt(px**2 + py**2 + pz**2 + m**2), pt


def observables(path: Path) -> dict[str, np.ndarray]:
    """Selection flag and, for every event, |m_bb − 115| and HT from the six-object tensor."""
    spec = hepfm_root.load_spec("six_object")
    t = hepfm_root.tensorize(uproot.open(path)["Events"].arrays(), spec)
    px, py, pz, e, pt = _four_vectors(t.objects[:, 2:4, :])        # rows 2, 3: the two b-jets
    m_bb = np.sqrt(np.maximum(e.sum(1) ** 2 - px.sum(1) ** 2 - py.sum(1) ** 2 - pz.sum(1) ** 2, 0.0))
    ht = _four_vectors(t.objects[:, 2:6, :])[4].sum(1)              # rows 2-5: b-jets and light jets
    return {"selected": np.asarray(t.selected, bool), "dm_bb": np.abs(m_bb - M_BB_CENTRE), "ht": ht}


def _children(pdg: list[int], mother: list[int], i: int) -> list[int]:
    return [j for j, m in enumerate(mother) if m == i]


def truth_content(path: Path) -> dict[str, float]:
    """Fractions of events with exactly one H⁰ → W H±, H± → W h, h → bb̄ chain and one lepton from a W."""
    a = uproot.open(path)["Events"].arrays(["GenPart_pdgId", "GenPart_genPartIdxMother", "GenPart_statusFlags"])
    chains = leptons = 0
    rows = zip(a.GenPart_pdgId.tolist(), a.GenPart_genPartIdxMother.tolist(), a.GenPart_statusFlags.tolist(), strict=True)
    for pdg, mother, flags in rows:
        chains += count_chains(pdg, mother) == 1
        # hard-process W decay products only (bit 7): a W's QED radiation can split into a lepton pair
        leptons += sum(1 for i, p in enumerate(pdg) if abs(p) in (11, 13, 15) and mother[i] >= 0
                       and abs(pdg[mother[i]]) == 24 and flags[i] & (1 << 7)) == 1
    return {"one_chain": chains / len(a), "one_lepton_from_w": leptons / len(a)}


def _last(pdg: list[int], mother: list[int], i: int) -> int:
    """Follow copies of particle ``i`` (same pdgId as its mother) to the last one."""
    while True:
        same = [j for j in _children(pdg, mother, i) if pdg[j] == pdg[i]]
        if not same:
            return i
        i = same[0]


def count_chains(pdg: list[int], mother: list[int]) -> int:
    """Number of H⁰ whose decay is W∓H± with H± → W±h and h → bb̄ (GenPart mother links)."""
    n = 0
    for h0 in (i for i, p in enumerate(pdg) if p == 35 and (mother[i] < 0 or pdg[mother[i]] != 35)):
        kids = _children(pdg, mother, _last(pdg, mother, h0))
        hc = [k for k in kids if abs(pdg[k]) == 37]
        w = [k for k in kids if abs(pdg[k]) == 24]
        if len(hc) != 1 or len(w) != 1 or pdg[hc[0]] * pdg[w[0]] > 0:
            continue
        kids = _children(pdg, mother, _last(pdg, mother, hc[0]))
        h = [k for k in kids if pdg[k] == 25]
        w2 = [k for k in kids if abs(pdg[k]) == 24]
        if len(h) != 1 or len(w2) != 1 or pdg[w2[0]] * pdg[hc[0]] < 0:
            continue
        b = sorted(pdg[k] for k in _children(pdg, mother, _last(pdg, mother, h[0])) if abs(pdg[k]) == 5)
        n += b == [-5, 5]
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--output", type=Path, default=_OUT)
    parser.add_argument("--pythia", action="append", default=[], metavar="SETTING",
                        help="extra Pythia setting for the signal only, e.g. '35:doForceWidth = off' (repeatable)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    result: dict = {"events": args.events, "seed": args.seed, "spec": "six_object", "m_bb_centre": M_BB_CENTRE,
                    "signal": SIGNAL, "signal_parameters": dict(PROCESSES[SIGNAL].parameters), "background": BACKGROUND,
                    "signal_extra_pythia_settings": args.pythia}
    obs = {}
    for role, process in (("signal", SIGNAL), ("background", BACKGROUND)):
        made = _ensure(process, args.events, args.seed, args.workdir, args.pythia if role == "signal" else [])
        obs[role] = observables(made["path"])
        n = len(obs[role]["selected"])
        result[process] = {
            "events": n, "selected": int(obs[role]["selected"].sum()),
            "selection_efficiency": round(float(obs[role]["selected"].mean()), 4),
            "timing": made["how"],
        }
        for kind in ("wall", "cpu"):
            if f"{kind}_seconds" in made:
                result[process][f"{kind}_seconds_per_1000_events"] = round(1000 * made[f"{kind}_seconds"] / n, 1)
        if role == "signal":
            result[process]["truth"] = {k: round(v, 4) for k, v in truth_content(made["path"]).items()}
    s, b = obs["signal"], obs["background"]
    labels = np.concatenate([np.ones(s["selected"].sum()), np.zeros(b["selected"].sum())])
    for name, key, sign in (("auc_minus_abs_m_bb_minus_115", "dm_bb", -1.0), ("auc_ht_four_jets", "ht", 1.0)):
        scores = sign * np.concatenate([s[key][s["selected"]], b[key][b["selected"]]])
        boot = bootstrap_metrics(scores, labels, n_bootstrap=200, seed=1)
        result[name] = round(float(auc(scores, labels)), 4)
        result[name + "_bootstrap_sd"] = round(boot.errors["auc"], 4)
    result["median_m_bb_distance_selected"] = {
        SIGNAL: round(float(np.median(s["dm_bb"][s["selected"]])), 1),
        BACKGROUND: round(float(np.median(b["dm_bb"][b["selected"]])), 1)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
