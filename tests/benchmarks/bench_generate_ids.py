"""What the identification branches cost in generation: CPU seconds per 1000 tt̄ events.

    PYTHONPATH=. python3 tests/benchmarks/bench_generate_ids.py [--events 1000]

Measures, in CPU time (``time.process_time``, so a shared machine inflates it less than wall
time): one Pythia block with extraction, the production-vertex extraction the impact parameters
need, the whole emulation, and each ``_ident`` function called from it.  The added cost is
(vertex extraction + the ID functions) / (Pythia + emulation); writing is not counted.
"""

from __future__ import annotations

import argparse
import time

import awkward as ak
import numpy as np

from hepfm_root.generate import EmulationConfig, _emulate, _ident
from hepfm_root.generate._processes import COMMON_SETTINGS, get_process
from hepfm_root.generate._pythia import PythiaBlockGenerator

_ID_FUNCTIONS = ("lepton_ip_fields", "electron_cut_based", "muon_ids", "jet_id", "qgl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    proc = get_process("ttbar")
    gen = PythiaBlockGenerator([*COMMON_SETTINGS, *proc.settings_for(proc.resolve_parameters(None))[0][1]], 7)
    t = time.process_time()
    rec = gen.generate(args.events)
    t_pythia = time.process_time() - t

    flat = ak.flatten(gen.pythia.nextBatch(args.events).prt)
    t = time.process_time()
    vprod = flat.vProd
    for c in ("px", "py", "pz"):
        ak.fill_none(getattr(vprod, c), 0.0).to_numpy()
    t_vertex = time.process_time() - t

    spent: dict[str, float] = dict.fromkeys(_ID_FUNCTIONS, 0.0)

    def timed(name: str):  # noqa: ANN202 - a wrapper of any signature
        f = getattr(_ident, name)

        def call(*a, **k):  # noqa: ANN002, ANN003, ANN202
            t0 = time.process_time()
            out = f(*a, **k)
            spent[name] += time.process_time() - t0
            return out
        return call

    for name in _ID_FUNCTIONS:
        setattr(_emulate, name, timed(name))
    cfg = EmulationConfig()
    t = time.process_time()
    _emulate.emulate(rec, cfg, np.random.default_rng(1), np.random.default_rng(2))
    t_emulate = time.process_time() - t
    t_ids = sum(spent.values())
    scale = 1000 / args.events
    print(f"per 1000 events (CPU s): pythia + extraction {t_pythia * scale:.2f}, emulation {t_emulate * scale:.3f}")
    print(f"  vertex extraction {t_vertex * scale:.3f}; ID functions {t_ids * scale:.3f} "
          + ", ".join(f"{k} {v * scale:.4f}" for k, v in spent.items()))
    print(f"added: {(t_vertex + t_ids) / (t_pythia + t_emulate) * 100:.1f} % of Pythia + emulation")


if __name__ == "__main__":
    main()
