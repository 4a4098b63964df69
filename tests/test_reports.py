"""Reports on the shipped demo's own numbers: every rate says what it counts, and an agent
that failed is a fail (issue: reports researchers can publish from).

The demo is deterministic (the stand-in draws each run's outcome from its path): subtest
T2/01 has two passes and one agent that produced nothing (run 3)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from helpers import output_of, scylla
from scipy import stats

from scylla.layout import paths


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> paths.ExperimentPaths:
    wd = tmp_path_factory.mktemp("demo")
    proc = scylla(wd, "run", "-q")
    assert proc.returncode == 0, output_of(proc)[-3000:]
    return paths.experiment(wd / "results", "demo")


def summary(path: Path) -> dict:
    return json.loads(path.read_text())["summary"]


def runs_of(ep: paths.ExperimentPaths, tier: str, subtest: str | None = None) -> list[dict]:
    found = sorted((ep.dir / tier).glob(f"{subtest or '*'}/run_*/run_result.json"))
    return [json.loads(p.read_text()) for p in found]


def test_an_agent_that_failed_is_a_fail_in_every_rate(demo):
    failed = runs_of(demo, "T2", "01")[2]
    assert failed["agent_failed"] and failed["judge_grade"] == "F" and not failed["judge_valid"]
    sub = summary(demo.subtest_report("T2", "01"))
    # it used to say pass_rate 1.0 over the two judged runs, with no F anywhere
    assert sub["counted_runs"] == 3 and sub["passed"] == 2
    assert sub["pass_rate"] == pytest.approx(2 / 3)
    assert sub["grade_distribution"]["F"] == 1 and sub["min_grade"] == "F"
    assert sub["mean_score"] == pytest.approx(
        sum(r["judge_score"] for r in runs_of(demo, "T2", "01")) / 3
    )


def test_tier_and_experiment_rates_count_every_finished_run(demo):
    for tier in ("T0", "T1", "T2"):
        runs = runs_of(demo, tier)
        counted = [r for r in runs if r["judge_valid"] or r["agent_failed"]]
        tier_summary = summary(demo.tier_report(tier))
        assert tier_summary["counted_runs"] == len(counted), tier
        assert tier_summary["pass_rate"] == pytest.approx(
            sum(bool(r["judge_passed"]) for r in counted) / len(counted)
        ), tier
        assert sum(tier_summary["grade_distribution"].values()) == len(counted), tier
    whole = summary(demo.report())
    assert whole["counted_runs"] + whole["invalid_judgments"] + whole["infra_excluded"] == 21
    assert whole["missing_runs"] == 0
    assert "agent failure (a fail" in whole["denominators"]
    assert "*Denominators*" in demo.report("md").read_text()


# -- statistics, tables and figures (checked against values computed here independently) ---


def csv_rows(path: Path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_every_rate_has_its_interval_and_pass_at_k(demo):
    sub = summary(demo.subtest_report("T2", "01"))  # 2 passes of 3 counted runs
    ci = sub["pass_rate_ci"]
    wilson = stats.binomtest(2, 3).proportion_ci(method="wilson")
    assert ci["method"] == "wilson"
    assert (ci["low"], ci["high"]) == pytest.approx((wilson.low, wilson.high))
    # unbiased pass@k: 1 - C(n-c, k) / C(n, k) with n = 3, c = 2
    assert sub["pass_at_k"] == pytest.approx({"1": 2 / 3, "2": 1.0, "3": 1.0})
    scores = [r["judge_score"] if r["judge_valid"] else 0.0 for r in runs_of(demo, "T2", "01")]
    boot = stats.bootstrap(
        (np.array(scores),),
        np.mean,
        n_resamples=10_000,
        method="BCa",
        rng=np.random.default_rng(42),
    ).confidence_interval
    mean_ci = sub["mean_score_ci"]
    assert (mean_ci["method"], mean_ci["n_resamples"], mean_ci["seed"]) == ("BCa", 10_000, 42)
    assert (mean_ci["low"], mean_ci["high"]) == pytest.approx((boot.low, boot.high))
    whole = json.loads(demo.report().read_text())
    assert whole["statistics"]["seed"] == 42 and "Holm" in whole["statistics"]["tier_comparisons"]
    for tier in whole["tiers"]:
        assert tier["pass_rate_low"] <= tier["pass_rate"] <= tier["pass_rate_high"], tier
    assert "pass_rate | 0.714 [" in demo.report("md").read_text()


def test_tier_comparisons_match_scipy_on_the_runs_table(demo):
    runs = [r for r in csv_rows(demo.table("runs")) if r["present"] == "True"]
    counted = [r for r in runs if r["judge_valid"] == "True" or r["agent_failed"] == "True"]

    def scores(tier):
        return [
            float(r["score"]) if r["judge_valid"] == "True" else 0.0
            for r in counted
            if r["tier"] == tier
        ]

    pairs = {(r["a"], r["b"]): r for r in csv_rows(demo.table("comparisons"))}
    assert set(pairs) == {("T0", "T1"), ("T1", "T2")}
    raw = [stats.mannwhitneyu(scores(a), scores(b)).pvalue for a, b in pairs]
    for (a, b), p in zip(pairs, raw, strict=True):
        assert float(pairs[a, b]["pvalue"]) == pytest.approx(p)
        x, y = np.array(scores(a)), np.array(scores(b))
        delta = np.sign(x[:, None] - y[None, :]).mean()
        assert float(pairs[a, b]["cliffs_delta"]) == pytest.approx(delta)
    holm = sorted(raw)
    expected = [min(1.0, max(len(raw) * holm[0], 0)), min(1.0, max(len(raw) * holm[0], holm[1]))]
    got = sorted(float(r["pvalue_holm"]) for r in pairs.values())
    assert got == pytest.approx(expected)
    kw = json.loads(demo.report().read_text())["comparisons"]["kruskal_wallis"]
    assert kw["pvalue"] == pytest.approx(
        stats.kruskal(*(scores(t) for t in ("T0", "T1", "T2"))).pvalue
    )


def test_judge_agreement_is_krippendorffs_alpha_of_the_judges_table(demo):
    judges = [r for r in csv_rows(demo.table("judges")) if r["is_valid"] == "True"]
    slots = sorted({r["slot"] for r in judges})
    units = sorted({(r["tier"], r["subtest"], r["run"]) for r in judges})
    matrix = np.full((len(slots), len(units)), np.nan)
    for r in judges:
        matrix[slots.index(r["slot"]), units.index((r["tier"], r["subtest"], r["run"]))] = float(
            r["score"]
        )
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval")
    agreement = json.loads(demo.report().read_text())["judge_agreement"]
    assert agreement["krippendorff_alpha"] == pytest.approx(expected)
    assert agreement["ci"]["low"] <= agreement["krippendorff_alpha"] <= agreement["ci"]["high"]
    assert {j["judge"] for j in agreement["judges"]} == {
        f"{s}:{m}" for s, m in {(r["slot"], r["model"]) for r in judges}
    }


def test_criteria_table_holds_every_scored_criterion(demo):
    rows = csv_rows(demo.table("criteria"))
    run = demo.run("T0", "00", 1)
    judgment = json.loads(run.judge_slot("01").judgment.read_text())
    mine = [
        r for r in rows if (r["tier"], r["subtest"], r["run"], r["slot"]) == ("T0", "00", "1", "01")
    ]
    assert {r["criterion"] for r in mine} == set(judgment["criteria_scores"])
    for r in mine:
        assert float(r["score"]) == pytest.approx(
            judgment["criteria_scores"][r["criterion"]]["score"]
        )


def test_figures_are_written_as_png_and_svg(demo):
    listed = json.loads(demo.report().read_text())["figures"]
    assert set(listed) == set(paths.FIGURES)
    for name in paths.FIGURES:
        png, svg = demo.figure(name, "png"), demo.figure(name, "svg")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert "<svg" in svg.read_text()[:2000], name
        assert f"figures/{name}.png" in demo.report("md").read_text()


def test_scylla_report_rebuilds_the_same_numbers_and_an_html_report(demo, tmp_path):
    before = json.loads(demo.report().read_text())
    html = tmp_path / "report.html"
    proc = scylla(
        demo.dir.parent.parent, "report", str(demo.dir), "--format", "json", "--html", str(html)
    )
    assert proc.returncode == 0, output_of(proc)
    printed = json.loads(proc.stdout)
    after = json.loads(demo.report().read_text())
    for key in ("pass_rate", "pass_rate_ci", "mean_score", "mean_score_ci", "pass_at_k"):
        assert printed["summary"][key] == before["summary"][key] == after["summary"][key], key
    assert after["judge_agreement"] == before["judge_agreement"]
    text = html.read_text()
    for name in paths.FIGURES:
        assert f"{name}.png" in text, name


def test_the_html_report_shows_a_figure_in_a_headless_browser(demo, tmp_path):
    """Snakemake's HTML report of the demo, opened in headless Chromium: Results > Figures >
    pass_rate shows the PNG (decoded, not a broken image); the screenshot must be non-trivial."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium on PATH (.ci/run installs the Debian package)")
    html = tmp_path / "report.html"
    proc = scylla(demo.dir.parent.parent, "report", str(demo.dir), "--html", str(html))
    assert proc.returncode == 0, output_of(proc)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(html.as_uri())
        page.get_by_text("Figures", exact=True).click()
        row = page.locator("tr", has_text="pass_rate")
        row.locator("a").first.click()  # the eye: show the figure
        page.wait_for_function(
            "() => [...document.images].some(i => i.src.includes('pass_rate.png')"
            " && i.complete && i.naturalWidth > 500)",
            timeout=20_000,
        )
        page.screenshot(path=str(tmp_path / "report.png"))
        browser.close()
    assert (tmp_path / "report.png").stat().st_size > 10_000


def _figure_bytes(ep: paths.ExperimentPaths) -> dict[str, bytes]:
    return {
        f"{name}.{ext}": ep.figure(name, ext).read_bytes()
        for name in paths.FIGURES
        for ext in ("png", "svg")
    }


def test_a_report_rebuilt_from_the_same_data_copies_its_kept_figures(demo, tmp_path):
    """Rebuilding the experiment report from unchanged data copies each figure kept under
    the figure cache instead of drawing it; drawing gives the same bytes."""
    wd = tmp_path / "wd"
    shutil.copytree(demo.dir.parent.parent, wd, symlinks=True)
    ep = paths.experiment(wd / "results", "demo")
    cache = paths.report_cache(wd, "figures", "demo")
    before = _figure_bytes(ep)
    assert len(list(cache.iterdir())) == 2 * len(paths.FIGURES)

    # nothing kept: the report job draws every figure, byte for byte as before, and keeps it
    shutil.rmtree(cache)
    ep.report().unlink()
    assert scylla(wd, "run", "-q").returncode == 0
    assert _figure_bytes(ep) == before
    kept = sorted(p.name for p in cache.iterdir())
    assert len(kept) == 2 * len(paths.FIGURES)

    # kept: copied, not drawn (a kept file made recognisable comes back as it is)
    (entry,) = cache.glob("pass_rate.*.png")
    entry.write_bytes(b"kept " + entry.read_bytes())
    ep.report().unlink()
    assert scylla(wd, "run", "-q").returncode == 0
    assert ep.figure("pass_rate", "png").read_bytes() == entry.read_bytes()
    assert {k: v for k, v in _figure_bytes(ep).items() if k != "pass_rate.png"} == {
        k: v for k, v in before.items() if k != "pass_rate.png"
    }
    assert sorted(p.name for p in cache.iterdir()) == kept


def test_a_figure_key_follows_its_data():
    import pandas as pd

    from scylla.reports import figcache

    frame = pd.DataFrame({"tier": ["T0", "T1"], "pass_rate": [0.5, 0.25]})
    same = figcache.key("cost_frontier", (frame.copy(),))
    assert figcache.key("cost_frontier", (frame,)) == same
    assert figcache.key("pass_rate", (frame,)) != same
    changed = frame.assign(pass_rate=[0.5, 0.2500001])
    assert figcache.key("cost_frontier", (changed,)) != same
    assert figcache.key("cost_frontier", (frame.astype({"pass_rate": "float32"}),)) != same
    assert figcache.key("judge_agreement", (frame, 0.5)) != figcache.key(
        "judge_agreement", (frame, None)
    )


def test_a_figure_cache_keeps_the_latest_entry_of_each_figure(tmp_path):
    from scylla.reports import figcache

    cache = figcache.Cache(tmp_path / "cache")
    base = tmp_path / "figures" / "pass_rate"
    base.parent.mkdir()
    for digest, body in (("a" * 32, b"first"), ("b" * 32, b"second")):
        for ext in ("png", "svg"):
            base.with_suffix(f".{ext}").write_bytes(body + ext.encode())
        cache.store("pass_rate", digest, base)
    cache.store("cost_frontier", "c" * 32, base)
    names = sorted(p.name for p in cache.root.iterdir())
    assert [n for n in names if n.startswith("pass_rate.")] == [
        f"pass_rate.{'b' * 32}.png",
        f"pass_rate.{'b' * 32}.svg",
    ]
    assert not cache.restore("pass_rate", "a" * 32, tmp_path / "out" / "pass_rate")
    assert cache.restore("pass_rate", "b" * 32, tmp_path / "out" / "pass_rate")
    assert (tmp_path / "out" / "pass_rate.svg").read_bytes() == b"secondsvg"


def _reports(ep: paths.ExperimentPaths) -> dict[str, dict]:
    """Every report.json of the experiment, without the time it was written."""
    found = {}
    for path in sorted(ep.dir.rglob(f"{ep.report_stem}.json")):
        data = json.loads(path.read_text())
        data.pop("generated_at", None)
        found[str(path.relative_to(ep.dir))] = data
    return found


def test_a_report_rebuilt_from_the_same_data_uses_its_kept_intervals(demo, tmp_path):
    """Every bootstrap interval of every report is kept by a digest of its data; rebuilding
    from unchanged runs reads them, and they are what a new bootstrap gives."""
    from scylla import config, reports

    wd = tmp_path / "wd"
    shutil.copytree(demo.dir.parent.parent, wd, symlinks=True)
    ep = paths.experiment(wd / "results", "demo")
    exp = config.load_saved(ep.dir)
    cache = paths.report_cache(wd, "intervals", "demo")
    kept = sorted(p.name for p in cache.iterdir())
    scopes = ["experiment", *exp.tiers, *(f"{t}-{s}" for t, s in exp.subtests())]
    # each report's mean, median and cost of a pass; the judges' agreement
    assert len(kept) == 3 * len(scopes) + 1, kept
    before = _reports(ep)

    # kept: read, not computed (an entry made recognisable comes back as it is)
    (entry,) = cache.glob("experiment-cost_of_pass.*.json")
    interval = json.loads(entry.read_text())
    entry.write_text(json.dumps({**interval, "low": 0.123}))
    reports.write_all(ep, exp)
    assert json.loads(ep.report().read_text())["summary"]["cost_of_pass_ci"]["low"] == 0.123

    # nothing kept: every interval computed again, the reports as they were, the same entries
    shutil.rmtree(cache)
    reports.write_all(ep, exp)
    assert _reports(ep) == before
    assert sorted(p.name for p in cache.iterdir()) == kept


def test_an_interval_key_follows_every_value_of_its_data():
    from scylla.reports import figcache

    costs = np.linspace(0.0, 1.0, 5000)  # numpy's repr would elide the middle
    changed = costs.copy()
    changed[2500] += 1e-9
    same = figcache.key("cost_of_pass", (stats.bootstrap, costs), figcache.STATISTICS)
    assert (
        figcache.key("cost_of_pass", (stats.bootstrap, costs.copy()), figcache.STATISTICS) == same
    )
    assert figcache.key("cost_of_pass", (stats.bootstrap, changed), figcache.STATISTICS) != same
    assert (
        figcache.key(
            "cost_of_pass", (stats.bootstrap, costs.astype("float32")), figcache.STATISTICS
        )
        != same
    )
    assert figcache.key("cost_of_pass", (np.mean, costs), figcache.STATISTICS) != same
    assert figcache.key("cost_of_pass", (stats.bootstrap, costs)) != same  # drawing code
