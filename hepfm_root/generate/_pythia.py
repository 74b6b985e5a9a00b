"""Pythia 8 through ``pythia8mc``: seeded generators and the vectorised event record.

``Pythia.nextBatch(n)`` (pythia8mc ≥ 8.316) returns the whole event record of up to ``n`` events
as one awkward array, filled in C++.  This replaces the per-particle Python loop that limited
an earlier prototype to ~80 events/s; here only numpy runs per particle.  "Up to": its default
mode makes ``n`` attempts and drops failed events, so a block tops itself up (``MAX_ATTEMPTS_PER_EVENT``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import awkward as ak
import numpy as np

from .._extras import require
from ..errors import GenerationError, GeneratorSettingError

__all__ = ["MAX_ATTEMPTS_PER_EVENT", "ParticleRecord", "PythiaBlockGenerator", "import_pythia", "pythia_seed"]

log = logging.getLogger(__name__)

#: Attempts allowed per requested event before a block gives up (a failure rate above 90 %).
MAX_ATTEMPTS_PER_EVENT = 10

#: Pythia accepts seeds 1 … 900 000 000 (0 would mean "seed from the clock").
_MAX_PYTHIA_SEED = 900_000_000


def import_pythia():  # noqa: ANN201 - the module object
    """Import ``pythia8mc``, or say which extra installs it."""
    return require("pythia8mc", extra="generate")


def pythia_seed(seq: np.random.SeedSequence) -> int:
    """A Pythia seed in its allowed range, derived from a numpy ``SeedSequence``.

    Example:
        >>> 1 <= pythia_seed(np.random.SeedSequence(1, spawn_key=(2,))) <= 900_000_000
        True
        >>> pythia_seed(np.random.SeedSequence(1)) == pythia_seed(np.random.SeedSequence(1))
        True
    """
    return int(seq.generate_state(1, dtype=np.uint64)[0] % _MAX_PYTHIA_SEED) + 1


@dataclass
class ParticleRecord:
    """Flat numpy view of the full event record of a batch (index 0 of each event is Pythia's system line).

    Mother/daughter indices are event-local, as in Pythia; ``offsets[i]`` is the flat index of
    event ``i``'s first entry.
    """

    counts: np.ndarray
    offsets: np.ndarray
    pdg_id: np.ndarray
    status: np.ndarray
    mother1: np.ndarray
    daughter1: np.ndarray
    daughter2: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    energy: np.ndarray
    mass: np.ndarray
    charge: np.ndarray
    vx: np.ndarray   # production vertex (mm, Pythia's units): displaced for products of b, c, τ decays
    vy: np.ndarray
    vz: np.ndarray
    weight: np.ndarray

    @property
    def n_events(self) -> int:
        return len(self.counts)

    @staticmethod
    def concatenate(records: list[ParticleRecord], order: np.ndarray) -> ParticleRecord:
        """Join batches (from several variants) and put their events in ``order``."""
        fields = [f for f in ParticleRecord.__dataclass_fields__ if f not in ("counts", "offsets", "weight")]
        counts = np.concatenate([r.counts for r in records])
        starts = np.concatenate([r.offsets + sum(len(x.pdg_id) for x in records[:i]) for i, r in enumerate(records)])
        counts, starts = counts[order], starts[order]
        take = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(counts.sum())
        out = {f: np.concatenate([getattr(r, f) for r in records])[take] for f in fields}
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        weight = np.concatenate([r.weight for r in records])[order]
        return ParticleRecord(counts=counts, offsets=offsets, weight=weight, **out)


class PythiaBlockGenerator:
    """One initialised Pythia instance for one setting list and one seed."""

    def __init__(self, settings: list[str], seed: int, *, user_settings: Sequence[str] = ()) -> None:
        # ``user_settings`` (``--pythia-setting``, applied last) are the user's: Pythia refusing one of
        # them, or failing to initialise with them, is a user error (exit 2); our own settings failing is a bug.
        pythia8mc = import_pythia()
        self.pythia = pythia8mc.Pythia("", False)  # no banner
        # Same order as ever (built-in, the user's, then the seed), so that files stay reproducible.
        for s in settings:
            if not self.pythia.readString(s):
                raise GenerationError(f"Pythia refused the built-in setting {s!r}")
        for s in user_settings:
            if not self.pythia.readString(s):
                raise GeneratorSettingError(f"Pythia refused the setting {s!r} (--pythia-setting)")
        for s in ("Random:setSeed = on", f"Random:seed = {seed}"):
            if not self.pythia.readString(s):
                raise GenerationError(f"Pythia refused the built-in setting {s!r}")
        if not self.pythia.init():
            if user_settings:
                raise GeneratorSettingError(f"Pythia failed to initialise with the settings {list(user_settings)} "
                                            "(--pythia-setting)")
            raise GenerationError(f"Pythia failed to initialise with settings {settings}")
        self._charge: dict[int, float] = {}

    def _charges(self, pdg_id: np.ndarray) -> np.ndarray:
        # Charges from Pythia's particle table, looked up once per distinct id (a few hundred).
        ids, inverse = np.unique(pdg_id, return_inverse=True)
        table = np.array([self._charge.setdefault(int(i), self.pythia.particleData.charge(int(i))) for i in ids])
        return table[inverse].astype(np.float32) if len(ids) else np.zeros(0, np.float32)

    def _batch(self, n_events: int) -> ak.Array:
        """Exactly ``n_events`` events, topping up the ones Pythia drops.

        ``nextBatch`` in its default ``"skip"`` mode makes ``n`` attempts and silently drops
        the events whose ``next()`` failed (e.g. a parton shower stuck in a loop), so a batch can
        come back short ("999 of 1000").  The block asks again for the missing events from the
        same instance, whose random stream simply continues: the same seed gives the same
        events, and nothing depends on other blocks (hence not on ``--jobs``).  At most
        ``MAX_ATTEMPTS_PER_EVENT × n_events`` attempts are made; a setting that makes Pythia
        fail more often than that is an error, not something to loop on.
        """
        limit = MAX_ATTEMPTS_PER_EVENT * n_events
        parts: list[ak.Array] = []
        have = attempts = 0
        while have < n_events and attempts < limit:
            ask = min(n_events - have, limit - attempts)
            batch = self.pythia.nextBatch(ask)
            attempts += ask
            if len(batch):
                parts.append(batch)
                have += len(batch)
        if have < n_events:
            raise GenerationError(f"Pythia failed {attempts - have} of {attempts} events (got {have}, needed {n_events}); "
                                  f"check the process settings (at most {MAX_ATTEMPTS_PER_EVENT} attempts per event)")
        if attempts > n_events:
            log.info("Pythia failed %d of %d events; topped the block up to %d", attempts - n_events, attempts, n_events)
        return parts[0] if len(parts) == 1 else ak.concatenate(parts)

    def generate(self, n_events: int) -> ParticleRecord:
        """Exactly ``n_events`` events; events Pythia fails are made up by further attempts (``_batch``)."""
        batch = self._batch(n_events)
        prt = batch.prt
        counts = ak.num(prt).to_numpy().astype(np.int64)
        flat = ak.flatten(prt)
        mom = flat.p
        pdg = flat.id.to_numpy()
        weights = batch.info.weights
        weight = ak.fill_none(ak.firsts(weights), 1.0).to_numpy().astype(np.float32)
        vprod = flat.vProd   # None where Pythia set no vertex (the origin)
        return ParticleRecord(
            counts=counts,
            offsets=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
            pdg_id=pdg,
            status=flat.status.to_numpy(),
            mother1=flat.mother1.to_numpy(),
            daughter1=flat.daughter1.to_numpy(),
            daughter2=flat.daughter2.to_numpy(),
            px=mom.px.to_numpy(),
            py=mom.py.to_numpy(),
            pz=mom.pz.to_numpy(),
            energy=mom.e.to_numpy(),
            mass=flat.m.to_numpy(),
            charge=self._charges(pdg),
            vx=ak.fill_none(vprod.px, 0.0).to_numpy(),
            vy=ak.fill_none(vprod.py, 0.0).to_numpy(),
            vz=ak.fill_none(vprod.pz, 0.0).to_numpy(),
            weight=weight,
        )
