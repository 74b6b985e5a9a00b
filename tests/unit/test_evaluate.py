"""Evaluation metrics against values worked out by hand; bootstrap, CKA and learning-curve sanity; plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hepfm_root.errors import InvalidArgumentError
from hepfm_root.evaluate import (
    accuracy,
    auc,
    background_rejection_at,
    binary_metrics,
    bootstrap_metrics,
    cka_matrix,
    evaluate_scores,
    learning_curves,
    linear_cka,
    load_records,
    max_sic,
    mean_pairwise_cka,
    plot_learning_curves,
    roc_curve,
    sic_curve,
)

# 10 signal events at 0.1, 0.2, ..., 1.0 and 10 background events at 0.05, 0.15, ..., 0.95:
# signal i/10 beats the backgrounds (j - 0.5)/10 with j <= i, so AUC = (1 + ... + 10)/100 = 0.55.
SIG = np.arange(1, 11) / 10
BKG = (np.arange(1, 11) - 0.5) / 10
HAND_S = np.r_[SIG, BKG]
HAND_Y = np.r_[np.ones(10), np.zeros(10)]


def test_auc_of_perfect_random_and_reversed_classifiers():
    rng = np.random.default_rng(0)
    y = rng.random(20_000) < 0.3
    perfect = np.where(y, 0.9, 0.1) + rng.normal(0, 0.01, len(y))
    assert auc(perfect, y) == 1.0
    assert auc(-perfect, y) == 0.0
    assert auc(rng.random(len(y)), y) == pytest.approx(0.5, abs=0.015)
    assert auc(np.full(len(y), 0.3), y) == 0.5  # one tied block: the diagonal


@pytest.mark.train  # scipy: the independent Mann-Whitney reference
def test_auc_is_the_mann_whitney_statistic_to_the_last_bit_with_ties_and_integer_weights():
    from scipy.stats import mannwhitneyu

    # The one AUC (training's validation AUC too): U / (n_sig n_bkg), ties half, the same float as the rank formula;
    # an integer weight counts like that many copies of the event.
    rng = np.random.default_rng(1)
    for n in (2, 7, 100, 5000, 40_000):
        s = np.round(rng.random(n) * 30).astype(np.float32) / 30      # float32 scores with many ties
        y = np.r_[True, False, rng.random(n - 2) < 0.3]
        u = float(mannwhitneyu(s[y].astype(np.float64), s[~y].astype(np.float64)).statistic)
        assert auc(s, y) == u / (y.sum() * (~y).sum())
        w = rng.integers(0, 4, n)
        w[:2] = 1
        assert auc(s, y, w) == auc(np.repeat(s, w), np.repeat(y, w))


def test_hand_made_example():
    assert auc(HAND_S, HAND_Y) == pytest.approx(0.55)
    # eps_S >= 0.9: the tightest cut is score >= 0.2 (9 signal); background above 0.2: 0.25 ... 0.95 = 8 of 10
    assert background_rejection_at(HAND_S, HAND_Y, 0.9) == pytest.approx(1 / 0.8)
    # eps_S >= 0.5: score >= 0.6 keeps 5 signal and 0.65, 0.75, 0.85, 0.95 = 4 background
    assert background_rejection_at(HAND_S, HAND_Y, 0.5) == pytest.approx(1 / 0.4)
    eff, sic = sic_curve(HAND_S, HAND_Y, min_background=1)
    assert sic[np.isclose(eff, 0.5)].max() == pytest.approx(0.5 / np.sqrt(0.4))
    # best cut: score >= 0.1 drops only the background at 0.05: 1 / sqrt(0.9)
    assert max_sic(HAND_S, HAND_Y, min_background=1) == pytest.approx((1 / np.sqrt(0.9), 1.0))
    # signal predicted above 0.5: signal 0.6..1.0 right (5), background below 0.5 right (5)
    assert accuracy(HAND_S, HAND_Y) == pytest.approx(0.5)
    m = binary_metrics(HAND_S, HAND_Y, min_background=1)
    assert m["auc"] == pytest.approx(0.55)
    assert m["background_rejection_at_eff_sig_0.9"] == pytest.approx(1.25)


def test_roc_endpoints_and_ties():
    r = roc_curve([0.7, 0.7, 0.2, 0.2], [1, 0, 1, 0])
    assert r.eff_sig.tolist() == [0.0, 0.5, 1.0] and r.eff_bkg.tolist() == [0.0, 0.5, 1.0]
    assert r.thresholds[0] == np.inf and r.thresholds[-1] == 0.2


def test_rejection_is_inf_without_background_and_min_background_limits_sic():
    s, y = [0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]
    assert background_rejection_at(s, y, 0.9) == np.inf
    eff, sic = sic_curve(s, y, min_background=2)
    assert eff.tolist() == [1.0] and sic.tolist() == [1.0]   # only the cut keeping both background events


@pytest.mark.parametrize("scores, labels, message", [
    ([0.1, np.nan], [0, 1], "NaN or infinite"),
    ([0.1, 0.2], [1, 1], "need both classes"),
    ([0.1, 0.2], [0, 2], "0/1"),
    ([0.1, 0.2, 0.3], [0, 1], "3 scores but 2 labels"),
])
def test_bad_inputs_are_refused_with_what_and_expected(scores, labels, message):
    with pytest.raises(InvalidArgumentError, match=message):
        auc(scores, labels)


@pytest.mark.train  # scipy: the independent Mann-Whitney reference
def test_bootstrap_uncertainties_are_finite_sensible_and_seeded():
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(2)
    y = np.r_[np.ones(2000), np.zeros(2000)]
    s = rng.normal(y, 1.0)
    r = bootstrap_metrics(s, y, n_bootstrap=150, seed=7)
    # the Mann-Whitney U statistic computed independently; the population value is Phi(1/sqrt 2) = 0.760
    assert r.values["auc"] == pytest.approx(mannwhitneyu(s[y == 1], s[y == 0]).statistic / 2000**2, rel=1e-12)
    assert r.values["auc"] == pytest.approx(0.760, abs=0.03)
    assert 0.004 < r.errors["auc"] < 0.012
    for name, err in r.errors.items():
        assert np.isfinite(err) and err > 0, name
    assert r.errors["background_rejection_at_eff_sig_0.5"] < r.values["background_rejection_at_eff_sig_0.5"]
    assert np.all(r.band["lo"] <= r.band["hi"])
    assert bootstrap_metrics(s, y, n_bootstrap=150, seed=7).errors == r.errors
    assert bootstrap_metrics(s, y, n_bootstrap=150, seed=8).errors != r.errors
    # ~4x the events, ~half the uncertainty
    y4, s4 = np.tile(y, 4), rng.normal(np.tile(y, 4), 1.0)
    assert bootstrap_metrics(s4, y4, n_bootstrap=150, seed=7).errors["auc"] < 0.7 * r.errors["auc"]


def _cka_table() -> dict[str, float]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 10)) @ rng.normal(size=(10, 10))   # correlated features
    q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    return {
        "self": linear_cka(x, x),
        "column permutation": linear_cka(x, x[:, rng.permutation(10)]),
        "orthogonal rotation": linear_cka(x, x @ q),
        "isotropic scaling": linear_cka(x, 7.5 * x + 3.0),
        "small noise": linear_cka(x, x + 0.5 * rng.normal(size=x.shape) * x.std()),
        "large noise": linear_cka(x, x + 3.0 * rng.normal(size=x.shape) * x.std()),
        "independent": linear_cka(x, rng.normal(size=(2000, 10))),
        "anisotropic scaling": linear_cka(x, x * np.r_[10.0, np.ones(9)]),
    }


def test_cka_sanity_table():
    t = _cka_table()
    for name in ("self", "column permutation", "orthogonal rotation", "isotropic scaling"):
        assert t[name] == pytest.approx(1.0, abs=1e-9), name
    assert 0.5 < t["small noise"] < 1.0
    assert t["large noise"] < t["small noise"]
    assert t["independent"] < 0.05
    assert t["anisotropic scaling"] < 0.999   # CKA is not invariant to any invertible linear map


def test_cka_ensemble_mean_and_shape_errors():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 6))
    others = [x @ np.linalg.qr(rng.normal(size=(6, 6)))[0] for _ in range(3)]
    m = cka_matrix([x, *others, rng.normal(size=(500, 4))])
    assert m.shape == (5, 5) and np.allclose(np.diag(m), 1) and np.allclose(m, m.T)
    assert mean_pairwise_cka([x, *others]) == pytest.approx(1.0)
    with pytest.raises(InvalidArgumentError, match="500 events but y has 400"):
        linear_cka(x, x[:400])
    with pytest.raises(InvalidArgumentError, match="at least two"):
        mean_pairwise_cka([x])


RECORDS = [
    {"strategy": st, "n_events": n, "seed": seed, "auc": base + 0.05 * np.log10(n) + 0.01 * seed, "accuracy": 0.6}
    for st, base in (("scratch", 0.5), ("frozen", 0.55), ("finetune", 0.58))
    for n in (100, 1000, 10000) for seed in range(3)
]


@pytest.mark.plot
def test_learning_curves_mean_and_standard_error(tmp_path):
    path = tmp_path / "records.json"
    path.write_text(json.dumps({"records": RECORDS}))
    curves = learning_curves(path, "auc")
    assert list(curves) == ["scratch", "frozen", "finetune"]
    c = curves["frozen"]
    assert c.n_events.tolist() == [100, 1000, 10000] and c.n_seeds.tolist() == [3, 3, 3]
    assert c.mean[0] == pytest.approx(0.55 + 0.1 + 0.01)
    assert c.sem[0] == pytest.approx(0.01 / np.sqrt(3))   # std of (0, .01, .02) is .01
    files = plot_learning_curves(curves, tmp_path / "lc")
    assert [f.suffix for f in files] == [".png", ".pdf"]
    assert files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and files[1].read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("bad, message", [
    ({"strategy": "x", "seed": 0, "auc": 0.5}, "missing \\['n_events'\\]"),
    ({"strategy": "x", "n_events": 0, "seed": 0, "auc": 0.5}, "positive integer"),
    ({"strategy": "scratch", "n_events": 100, "seed": 0, "auc": 0.5}, "duplicate"),
])
def test_learning_curve_records_are_checked(bad, message):
    with pytest.raises(InvalidArgumentError, match=message):
        load_records([RECORDS[0], bad])


@pytest.mark.plot
def test_evaluate_scores_writes_metrics_and_plots(tmp_path):
    rng = np.random.default_rng(3)
    y = np.r_[np.ones(800), np.zeros(1200)]
    s = 1 / (1 + np.exp(-rng.normal(1.5 * y - 0.75, 1.0)))
    result = evaluate_scores(s, y, tmp_path / "out", n_bootstrap=30, seed=1)
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["n_signal"] == 800 and saved["n_background"] == 1200
    for name, entry in saved["metrics"].items():
        if name != "bootstrap":
            assert np.isfinite(entry["value"]) and np.isfinite(entry["uncertainty"]), name
    assert saved["metrics"]["auc"]["value"] == pytest.approx(auc(s, y))
    for stem in ("roc", "sic", "scores"):
        png, pdf = tmp_path / "out" / f"{stem}.png", tmp_path / "out" / f"{stem}.pdf"
        assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
        assert pdf.stat().st_size > 5_000 and pdf.read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        ["metrics.json"] + [f"{s}.{e}" for s in ("roc", "sic", "scores") for e in ("png", "pdf")])
    assert len(result["files"]) == 7


def test_strategy_gains_paired_unpaired_failed_baseline_and_the_shipped_result():
    import json

    from hepfm_root.evaluate import strategy_gains

    # paired: the same seeds on both sides; the seed-to-seed spread cancels in the differences
    recs = [{"strategy": s, "n_events": 100, "seed": i, "auc": a + 0.05 * i + 0.001 * (i % 2), "accuracy": 0.6}
            for i in range(5) for s, a in (("scratch", 0.60), ("finetune", 0.62))]
    (g,) = strategy_gains(recs)
    assert g.paired and g.seeds == 5 and abs(g.difference - 0.02) < 1e-12 and g.sem == 0.0 and g.is_gain
    # unpaired (other seeds): the spread counts, and 0.02 over a 0.05 spread is no gain
    recs2 = [dict(r, seed=r["seed"] + 10) if r["strategy"] == "finetune" else r for r in recs]
    (u,) = strategy_gains(recs2)
    assert not u.paired and 0.0 < u.n_sigma < 3 and not u.is_gain
    # a baseline that predicts one class (accuracy exactly 0.5) is failed: no gain is called over it
    recs3 = [dict(r, accuracy=0.5) if r["strategy"] == "scratch" and r["seed"] == 2 else r for r in recs]
    (f,) = strategy_gains(recs3)
    assert f.baseline_failed and not f.is_gain and f.n_sigma == float("inf")
    # the shipped masked-type result: the +0.031 (10^3) and +0.009 (3*10^3) AUC of finetune over scratch
    # are 1.9 and 1.0 sigma seed by seed, over baselines that failed (a scratch seed at accuracy 0.5 at
    # both sizes); at 10^4 finetuning is 3.1 sigma *below* scratch
    shipped = Path(__file__).parents[2] / "tests/benchmarks/results/pretraining_gain_transformer_masked_type_H500.json"
    gains = {(x.strategy, x.n_events): x for x in strategy_gains(json.loads(shipped.read_text())["records"])}
    g1, g3 = gains[("finetune", 1000)], gains[("finetune", 3000)]
    assert round(g1.difference, 3) == 0.031 and g1.baseline_failed and not g1.is_gain
    assert round(g3.difference, 3) == 0.009 and g3.baseline_failed and not g3.is_gain
    g4 = gains[("finetune", 10000)]
    assert g4.n_sigma < -3 and not g4.baseline_failed and not g4.is_gain


def test_the_pilot_table_of_the_pretraining_page_is_its_json():
    """docs/pretraining.md's pilot (reproduction 1): mean ± standard error and the gains, recomputed."""
    from hepfm_root.evaluate import strategy_gains

    root = Path(__file__).parents[2]
    records = json.loads((root / "tests/benchmarks/results/pilot_masked_type_whpm_study_recipe.json").read_text())["records"]
    page = (root / "docs/pretraining.md").read_text()
    for strategy in ("scratch", "frozen", "finetune"):
        for metric in ("auc", "accuracy"):
            v = np.array([r[metric] for r in records if r["strategy"] == strategy and r["n_events"] == 1000])
            assert len(v) == 5
            assert f"{v.mean():.3f} ± {v.std(ddof=1) / np.sqrt(len(v)):.3f}" in page, (strategy, metric)
    for g in strategy_gains(records, metric="auc"):
        assert not g.is_gain and not g.baseline_failed  # the rule misses noise around 0.5: the page says so
        assert f"+{g.difference:.3f}, {g.n_sigma:.1f}σ: no gain" in page
