"""Independent per-event reference implementations of the built-in specs.

Plain Python loops over one event at a time, written from the physics
description of each spec (not from the library code), so that a vectorisation
bug in ``hepfm_root.tensors`` cannot hide behind the same bug here.
"""

from __future__ import annotations

import math

import numpy as np

WP = 0.2783  # DeepJet medium working point used by the built-in specs


def _row(pt, eta, phi, mass):
    return [math.log(max(pt, 1e-6)), eta, math.sin(phi), math.cos(phi), math.log1p(max(mass, 0.0))]


def _onehot(i, n):
    return [1.0 if j == i else 0.0 for j in range(n)]


def _objs(a, coll, i, fields):
    n = len(a[f"{coll}_pt"][i])
    return [tuple(float(a[f"{coll}_{f}"][i][j]) for f in fields) + (j,) for j in range(n)]


def six_object_event(a, i, met="MET", btag="Jet_btagDeepFlavB"):
    """Return (rows (6x9 list), mask (6 bools), selected bool) for event i."""
    leptons = [o for o in _objs(a, "Electron", i, ["pt", "eta", "phi", "mass"]) if o[0] > 10 and abs(o[1]) < 2.5]
    leptons += [o for o in _objs(a, "Muon", i, ["pt", "eta", "phi", "mass"]) if o[0] > 10 and abs(o[1]) < 2.4]
    leptons.sort(key=lambda o: -o[0])
    jets = [o + (float(a[btag][i][o[4]]),) for o in _objs(a, "Jet", i, ["pt", "eta", "phi", "mass"])]
    good = [j for j in jets if j[0] > 20 and abs(j[1]) < 2.5]
    bjets = sorted([j for j in good if j[5] >= WP], key=lambda o: -o[0])
    light = sorted([j for j in good if j[5] < WP], key=lambda o: -o[0])
    rows, mask = [], []

    def put(objs, k, type_id):
        for r in range(k):
            if r < len(objs):
                o = objs[r]
                rows.append(_row(o[0], o[1], o[2], o[3]) + _onehot(type_id, 4))
                mask.append(True)
            else:
                rows.append([0.0] * 9)
                mask.append(False)

    put(leptons, 1, 0)
    rows.append(_row(float(a[f"{met}_pt"][i]), 0.0, float(a[f"{met}_phi"][i]), 0.0) + _onehot(1, 4))
    mask.append(True)
    put(bjets, 2, 2)
    put(light, 2, 3)
    selected = len(leptons) >= 1 and len(bjets) >= 2 and len(light) >= 2
    return rows, mask, selected


def event_graph_event(a, i, met="MET", btag="Jet_btagDeepFlavB", photons=True):
    """Return (rows 18x11, mask) for event i: MET then pT-ordered objects."""
    types = {"jet": 0, "electron": 1, "muon": 2, "photon": 3, "met": 4}
    objs = []
    for j in _objs(a, "Jet", i, ["pt", "eta", "phi"]):
        if j[0] > 20 and abs(j[1]) < 2.5:
            objs.append((j[0], j[1], j[2], float(a[btag][i][j[3]]) >= WP, 0.0, "jet"))
    for coll, typ, etamax, ptmin in [("Electron", "electron", 2.5, 10), ("Muon", "muon", 2.4, 10)]:
        for o in _objs(a, coll, i, ["pt", "eta", "phi", "charge"]):
            if o[0] > ptmin and abs(o[1]) < etamax:
                objs.append((o[0], o[1], o[2], False, o[3], typ))
    if photons:
        for o in _objs(a, "Photon", i, ["pt", "eta", "phi"]):
            if o[0] > 15 and abs(o[1]) < 2.5:
                objs.append((o[0], o[1], o[2], False, 0.0, "photon"))
    objs.sort(key=lambda o: -o[0])  # stable: ties keep jets, electrons, muons, photons order
    mpt, mphi = float(a[f"{met}_pt"][i]), float(a[f"{met}_phi"][i])
    rows = [[math.log(mpt), 0.0, mphi, math.log(mpt), 0.0, 0.0] + _onehot(4, 5)]
    mask = [True]
    for r in range(17):
        if r < len(objs):
            pt, eta, phi, b, q, typ = objs[r]
            rows.append([math.log(pt), eta, phi, math.log(pt * math.cosh(eta)), float(b), q] + _onehot(types[typ], 5))
            mask.append(True)
        else:
            rows.append([0.0] * 11)
            mask.append(False)
    return rows, mask


def jet_constituents_event(a, i, max_jets=5, max_cands=100):
    """Return (jet rows 5x5, jet mask, constituents 5x100x14, constituent mask) for event i."""
    jets = [j for j in _objs(a, "Jet", i, ["pt", "eta", "phi", "mass"]) if j[0] > 20 and abs(j[1]) < 2.5]
    jets.sort(key=lambda o: -o[0])
    jets = jets[:max_jets]
    jet_rows = np.zeros((max_jets, 5))
    jet_mask = np.zeros(max_jets, bool)
    cons = np.zeros((max_jets, max_cands, 14))
    cmask = np.zeros((max_jets, max_cands), bool)
    links = list(zip(a["JetPFCands_jetIdx"][i], a["JetPFCands_pFCandsIdx"][i], strict=True))
    for s, (pt, eta, phi, m, ji) in enumerate(jets):
        jet_rows[s] = [math.log(pt), eta, phi, math.log1p(max(m, 0.0)), 0.0]
        jet_mask[s] = True
        ejet = math.sqrt((pt * math.cosh(eta)) ** 2 + m * m)
        cands = []
        for jidx, cidx in links:
            if jidx != ji:
                continue
            c = [float(a[f"PFCands_{f}"][i][cidx]) for f in ["pt", "eta", "phi", "mass", "charge", "pdgId"]]
            cands.append(c)
        cands.sort(key=lambda c: -c[0])
        for r, (cpt, ceta, cphi, cm, q, pid) in enumerate(cands[:max_cands]):
            e = math.sqrt((cpt * math.cosh(ceta)) ** 2 + cm * cm)
            deta = ceta - eta
            dphi = (cphi - phi + math.pi) % (2 * math.pi) - math.pi
            pid_cols = [1.0 if abs(pid) == c else 0.0 for c in (211, 130, 22, 11, 13)]
            cons[s, r] = [deta, dphi, math.log(cpt), math.log(e), math.log(cpt / pt), math.log(e / ejet),
                          math.sqrt(deta * deta + dphi * dphi), q] + pid_cols + [1.0 - sum(pid_cols)]
            cmask[s, r] = True
    return jet_rows, jet_mask, cons, cmask
