"""The ``GenPart`` subset: the hard process, heavy-particle last copies, prompt leptons, B hadrons.

Mother indices point to the nearest *kept* ancestor (as in NanoAOD's pruned record), found
for all kept particles at once by pointer jumping along Pythia's ``mother1``.

``GenPart_status`` follows the HepMC convention of CMS: 1 final state, 2 decayed/intermediate,
Pythia's |status| for hard-process particles (22, 23 …).  ``GenPart_statusFlags`` sets bit 7
(isHardProcess) and bit 13 (isLastCopy) only; other NanoAOD bits stay 0.
"""

from __future__ import annotations

import numpy as np

from ._config import GenPartConfig
from ._kinematics import counts_of, offsets_of
from ._pythia import ParticleRecord

__all__ = ["genpart", "hadron_flags", "last_copies"]

_HEAVY = np.array([6, 15, 23, 24, 25, 35, 36, 37])   # t, τ, Z, W, h, H, A, H±
_LEPTONS = np.array([11, 12, 13, 14, 16])
_IS_HARD, _IS_LAST_COPY = 1 << 7, 1 << 13
_MAX_ANCESTRY_STEPS = 200   # Pythia records are a few thousand lines; a chain is far shorter


def hadron_flags(rec: ParticleRecord, glob_mother: np.ndarray, flavour: int) -> np.ndarray:
    """Weakly decaying hadrons containing quark ``flavour`` (5 or 4): no daughter of the same kind.

    Example::

        last_b = hadron_flags(rec, glob_mother, 5)
    """
    a = np.abs(rec.pdg_id)
    hadron = (a >= 100) & (a < 1_000_000) & ((a // 10) % 10 != 0)   # diquarks have a 0 tens digit
    kind = hadron & (((a // 100) % 10 == flavour) | ((a // 1000) % 10 == flavour))
    if flavour == 4:  # a c hadron that also holds a b (B_c) counts as b
        kind &= ~(((a // 100) % 10 == 5) | ((a // 1000) % 10 == 5))
    has_same_daughter = np.zeros(len(a), bool)
    child = np.flatnonzero(kind & (glob_mother >= 0))
    parents = glob_mother[child]
    has_same_daughter[parents[kind[parents]]] = True
    return kind & ~has_same_daughter


def last_copies(rec: ParticleRecord) -> np.ndarray:
    """True for record entries that no later copy of the same particle follows.

    Pythia continues a particle with a new entry whenever it recoils (one daughter,
    ``daughter1 == daughter2``) *or* radiates (t → t g: daughters t' and g, both with
    the old entry as ``mother1``).  An entry is therefore the last copy unless some
    entry with the same pdgId names it as ``mother1``.
    """
    n = len(rec.pdg_id)
    event_start = np.repeat(rec.offsets, rec.counts)
    has_mother = rec.mother1 > 0
    child = np.flatnonzero(has_mother)
    parent = rec.mother1[child] + event_start[child]
    same = rec.pdg_id[parent] == rec.pdg_id[child]
    not_last = np.zeros(n, bool)
    not_last[parent[same]] = True
    return ~not_last


def genpart(rec: ParticleRecord, glob_mother: np.ndarray, last_b: np.ndarray, cfg: GenPartConfig,
            also_keep: np.ndarray, kinematics: tuple[np.ndarray, np.ndarray, np.ndarray], last_copy: np.ndarray):
    """Counts and fields of ``GenPart``, and each record entry's index in it (-1 if not kept).

    ``also_keep`` are record indices kept in any case (the particles behind reconstructed
    electrons, muons and photons, so that their ``genPartIdx`` points somewhere);
    ``kinematics`` is (pT, η, φ) of every record entry and ``last_copy`` ``last_copies(rec)``,
    both computed once per batch by the caller.
    """
    a = np.abs(rec.pdg_id)
    st = np.abs(rec.status)
    pt, eta, phi = kinematics
    event = np.repeat(np.arange(rec.n_events), rec.counts)

    hard = (st >= 22) & (st <= 29)   # 21 (incoming, pT = 0) left out: its η is infinite
    heavy_last = np.isin(a, _HEAVY) & last_copy
    final = rec.status > 0
    lepton = final & np.isin(a, _LEPTONS) & (pt > cfg.min_lepton_pt)
    keep = (hard | heavy_last | lepton | (last_b if cfg.keep_b_hadrons else False)) & (pt > 0)
    keep[also_keep] = True

    kept = np.flatnonzero(keep)
    mom = glob_mother[kept]
    for _ in range(_MAX_ANCESTRY_STEPS):
        climb = (mom >= 0) & ~keep[np.maximum(mom, 0)]
        if not climb.any():
            break
        mom[climb] = glob_mother[mom[climb]]
    kevent = event[kept]
    counts = counts_of(kevent, rec.n_events)
    new_index = np.full(len(a), -1, np.int64)
    new_index[kept] = np.arange(len(kept))
    first = offsets_of(counts)
    local = np.where(mom >= 0, new_index[np.maximum(mom, 0)] - first[kevent], -1)
    record_to_local = np.full(len(a), -1, np.int64)
    record_to_local[kept] = np.arange(len(kept)) - first[kevent]
    status = np.where(final[kept], 1, np.where(hard[kept], st[kept], 2))
    flags = np.where(hard[kept], _IS_HARD, 0) | np.where(last_copy[kept], _IS_LAST_COPY, 0)
    fields = {
        "pt": pt[kept].astype(np.float32),
        "eta": eta[kept].astype(np.float32),
        "phi": phi[kept].astype(np.float32),
        "mass": rec.mass[kept].astype(np.float32),
        "pdgId": rec.pdg_id[kept].astype(np.int32),
        "status": status.astype(np.int32),
        "statusFlags": flags.astype(np.int32),
        "genPartIdxMother": local.astype(np.int32),
    }
    return counts, fields, record_to_local
