"""The emulation config and the process registry (no generator needed)."""

from __future__ import annotations

import numpy as np
import pytest

from hepfm_root.errors import InvalidArgumentError, InvalidConfigError, UnknownProcessError
from hepfm_root.generate import PROCESSES, UNAVAILABLE, EmulationConfig, get_process


def test_config_yaml_round_trip_and_override(tmp_path):
    path = tmp_path / "det.yaml"
    path.write_text("btag: {efficiency_b: 0.6}\njet: {min_pt: 20, resolution: {stochastic: 1.2}}\n")
    cfg = EmulationConfig.from_yaml(path)
    default = EmulationConfig()
    assert cfg.btag.efficiency_b == 0.6 and cfg.jet.min_pt == 20 and cfg.muon == default.muon
    assert cfg.jet.resolution.stochastic == 1.2 and cfg.jet.resolution.constant == default.jet.resolution.constant
    assert cfg.jet.radius == 0.4
    again = tmp_path / "again.yaml"
    again.write_text(cfg.to_yaml())
    assert EmulationConfig.from_yaml(again) == cfg


@pytest.mark.parametrize("text", [
    "btag: {efficency_b: 0.6}\n", "jet: {resolution: {sigma: 1}}\n", "btag: {efficiency_b: 1.5}\n", "config_version: 2\n",
])
def test_config_refuses_typos_and_bad_values(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InvalidConfigError, match="bad.yaml"):
        EmulationConfig.from_yaml(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(InvalidConfigError, match="does not exist"):
        EmulationConfig.from_yaml(tmp_path / "nope.yaml")


@pytest.mark.parametrize("flavour", ["b", "c", "light"])
def test_btag_score_calibration_is_exact(flavour):
    # The drawn score passes the working point with exactly the configured probability.
    b = EmulationConfig().btag
    z = np.random.default_rng(1).standard_normal(400_000)
    score = 1 / (1 + np.exp(-(b.logit_mean(flavour) + getattr(b, f"width_{flavour}") * z)))
    eff = float(np.mean(score > b.working_point))
    assert eff == pytest.approx(getattr(b, f"efficiency_{flavour}"), abs=0.003)


def test_process_registry():
    assert len({p.code for p in PROCESSES.values()}) == len(PROCESSES)
    assert {"ttbar", "ttbar_semilep", "ttH", "ggH", "VBFH", "WH", "ZH", "single_top", "qcd", "resonance_hh_4b",
            "heavy_higgs_tt", "charged_higgs_tb"} <= set(PROCESSES)
    semilep = get_process("ttbar_semilep").settings_for()
    assert [w for w, _ in semilep] == [0.5, 0.5]
    with pytest.raises(UnknownProcessError, match="did you mean 'ttH'"):
        get_process("tth")
    with pytest.raises(UnknownProcessError, match="no built-in tt̄W"):
        get_process("ttW")
    assert "ttW" in UNAVAILABLE
    with pytest.raises(InvalidArgumentError, match="no parameter 'mas'"):
        get_process("heavy_higgs_tt").settings_for({"mas": 400})


def test_jet_calibration_table():
    from hepfm_root.generate._config import JetCalibration

    cfg = EmulationConfig()
    for jc in (cfg.jet.calibration, cfg.fatjet.calibration):
        assert len(jc.pt) >= 3 and all(0.9 < f < 1.2 for f in jc.factor)     # derived, not empty
        assert all(b >= a - 1e-3 for a, b in zip(jc.factor[1:], jc.factor[:-1], strict=False))   # smaller correction at high pT
    c = cfg.jet.calibration.correction(np.array([1.0, 50.0, 1e5]))
    assert c[0] == cfg.jet.calibration.factor[0] and c[-1] == cfg.jet.calibration.factor[-1]   # held beyond ends
    np.testing.assert_array_equal(JetCalibration().correction(np.array([20.0, 300.0])), [1.0, 1.0])
    for bad in ({"pt": [20, 10], "factor": [1.1, 1.0]}, {"pt": [10, 20], "factor": [1.1]},
                {"pt": [10, 20], "factor": [1.1, 0.0]}):
        with pytest.raises(ValueError, match="calibration"):
            JetCalibration.model_validate(bad)


def test_id_sections_override_from_yaml_and_refuse_non_nested_working_points(tmp_path):
    path = tmp_path / "ids.yaml"
    path.write_text("electron_id: {tight: {efficiency: 0.7}}\nmuon_id: {tight_max_abs_dxy: 0.05}\njet_id: {efficiency: 0.9}\n")
    cfg = EmulationConfig.from_yaml(path)
    default = EmulationConfig()
    assert cfg.electron_id.tight.efficiency == 0.7 and cfg.electron_id.tight.iso_barrel == default.electron_id.tight.iso_barrel
    assert cfg.muon_id.tight_max_abs_dxy == 0.05 and cfg.jet_id.efficiency == 0.9 and cfg.qgl == default.qgl
    for text in ("electron_id: {tight: {efficiency: 0.99}}\n",       # tight above medium: not nested
                 "muon_id: {medium_efficiency: 0.999}\n", "jet_id: {max_muon_fraction: 1.5}\n", "qgl: {colour: 1}\n"):
        path.write_text(text)
        with pytest.raises(InvalidConfigError, match="ids.yaml"):
            EmulationConfig.from_yaml(path)


def test_lepton_ids_follow_their_cuts():
    from hepfm_root.generate._ident import electron_cut_based, lepton_ip_fields, muon_ids

    cfg = EmulationConfig()
    n = 20_000
    rng = np.random.default_rng(4)
    # isolated central electrons: tight with the configured ID efficiency; an isolation between the
    # medium and loose cuts caps them at loose (2)
    level = electron_cut_based(np.full(n, 40.0), np.zeros(n), np.zeros(n), cfg.electron_id, rng)
    assert np.mean(level == 4) == pytest.approx(cfg.electron_id.tight.efficiency, abs=0.01)
    level = electron_cut_based(np.full(n, 40.0), np.zeros(n), np.full(n, 0.08), cfg.electron_id, rng)
    assert level.max() == 2
    ids = muon_ids(np.r_[np.zeros(n), np.full(n, 0.3)], np.zeros(2 * n), cfg.muon_id, rng)
    assert ids["tightId"][:n].mean() == pytest.approx(cfg.muon_id.tight_efficiency, abs=0.005)
    assert not ids["tightId"][n:].any() and ids["looseId"][n:].mean() > 0.99   # |dxy| > 0.2 cm: never tight

    class Record:   # leptons from the primary vertex, and from a vertex 2 mm away along y
        vx, vy, vz = np.zeros(2 * n), np.r_[np.zeros(n), np.full(n, 2.0)], np.zeros(2 * n)
    ip = lepton_ip_fields(Record, np.arange(2 * n), np.full(2 * n, 30.0), np.zeros(2 * n), np.zeros(2 * n),
                          cfg.impact_parameter, "muon", rng)
    prompt, displaced = ip["sip3d"][:n], ip["sip3d"][n:]
    assert 0.95 < np.mean(prompt < 4) < 0.995                 # χ(2 dof) with 5 % tails at 3σ
    assert np.all(displaced > 20) and np.median(ip["dxy"][n:]) == pytest.approx(0.2, abs=0.005)   # mm -> cm
    assert ip["dxyErr"].dtype == np.float32 and ip["dxyErr"][0] == pytest.approx(cfg.impact_parameter.muon_dxy.sigma(30.0))
