"""Jet-level truth labels for the jet pretext task: H -> bb̄ jets vs other jets.

A jet is labelled 1 when a last-copy Higgs boson (``pdgId`` 25, ``statusFlags``
bit 13) that decays to b quarks (a ``GenPart`` with |pdgId| = 5 whose
``genPartIdxMother`` is that Higgs) lies within ΔR < 0.4 of the jet axis, 0 for
every other real jet, and -1 for padded slots (ignored by the loss).  Generated
``resonance_hh_4b`` files store the H -> bb̄ daughters; ``qcd`` files have no
Higgs, so all their jets are 0.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

__all__ = ["JET_TRUTH_BRANCHES", "jet_truth_labels"]

JET_TRUTH_BRANCHES = ("GenPart_pdgId", "GenPart_statusFlags", "GenPart_eta", "GenPart_phi", "GenPart_genPartIdxMother")
_LAST_COPY = 1 << 13
MATCH_DR = 0.4


def jet_truth_labels(arrays: ak.Array, jet_eta: np.ndarray, jet_phi: np.ndarray, jet_mask: np.ndarray) -> np.ndarray:
    """``(N, k)`` int64 labels for jets ``(N, k)`` (η, φ, mask) of the events in ``arrays``.

    Example:
        >>> ev = ak.Array({"GenPart_pdgId": [[25, 5, -5], [21]], "GenPart_statusFlags": [[8192, 0, 0], [8192]],
        ...                "GenPart_eta": [[0.0, 0.1, -0.1], [0.0]], "GenPart_phi": [[1.0, 1.0, 1.0], [0.0]],
        ...                "GenPart_genPartIdxMother": [[-1, 0, 0], [-1]]})
        >>> eta, phi = np.array([[0.1, 2.0], [0.0, 0.0]]), np.array([[1.2, 1.0], [0.0, 0.0]])
        >>> jet_truth_labels(ev, eta, phi, np.array([[True, True], [True, False]])).tolist()
        [[1, 0], [0, -1]]
    """
    pdg = arrays["GenPart_pdgId"]
    mother = arrays["GenPart_genPartIdxMother"]
    counts = ak.to_numpy(ak.num(pdg)).astype(np.int64)
    off = np.concatenate([[0], np.cumsum(counts)])
    flat_pdg = ak.to_numpy(ak.flatten(pdg)).astype(np.int64)
    flat_mother = ak.to_numpy(ak.flatten(mother)).astype(np.int64)
    evt = np.repeat(np.arange(len(counts)), counts)
    # Higgs bosons with a b-quark daughter.
    is_b_child = (np.abs(flat_pdg) == 5) & (flat_mother >= 0)
    has_bb = np.zeros(len(flat_pdg), dtype=bool)
    has_bb[off[evt[is_b_child]] + flat_mother[is_b_child]] = True
    flags = ak.to_numpy(ak.flatten(arrays["GenPart_statusFlags"])).astype(np.int64)
    is_h = (flat_pdg == 25) & ((flags & _LAST_COPY) != 0) & has_bb
    h_evt = evt[is_h]
    h_eta = ak.to_numpy(ak.flatten(arrays["GenPart_eta"])).astype(np.float64)[is_h]
    h_phi = ak.to_numpy(ak.flatten(arrays["GenPart_phi"])).astype(np.float64)[is_h]
    labels = np.where(jet_mask, 0, -1).astype(np.int64)
    for e, eta, phi in zip(h_evt, h_eta, h_phi, strict=True):
        dphi = np.remainder(jet_phi[e] - phi + np.pi, 2 * np.pi) - np.pi
        close = (np.hypot(jet_eta[e] - eta, dphi) < MATCH_DR) & jet_mask[e]
        labels[e, close] = 1
    return labels
