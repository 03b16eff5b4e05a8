"""The HTML report: content (every goal, chart, assumption), files, CLI, and a browser render."""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import pytest
import xarray as xr
from support.fake_results import make_results

from yaan_sim.cli import main
from yaan_sim.errors import YaanSimError
from yaan_sim.model.docmeta import VarMeta
from yaan_sim.outputs.goals import load_goals
from yaan_sim.outputs.report import assumptions, build_report, write_outputs, write_report

SUPPORT = Path(__file__).parent / "support"


def _meta(name, source, units="Dmnl", zh=""):
    fields = {"source": source} | ({"zh": zh} if zh else {})
    return VarMeta(
        name=name,
        py_name=name.lower().replace(" ", "_"),
        subscripts=(),
        units=units,
        limits=(0.0, 1.0),
        kind="Constant",
        subtype="Normal",
        fields=fields,
    )


FAKE_METAS = [
    _meta(
        "Depreciation rate",
        "assumed: the 9.6 percent most studies of China use.",
        "1/Year",
        "折旧率",
    ),
    _meta("Enclave transfer share", "assumed."),
    _meta("Research intensity target", "plan 一(三): 1.2 percent."),  # not an assumption
    _meta("Initial revenue", "sources.md A1; others assumed"),  # does not *start* with assumed
]
FAKE_MODEL = SimpleNamespace(
    meta={m.name: m for m in FAKE_METAS},
    by_py_name={m.py_name: m for m in FAKE_METAS},
    mdl_path=Path("models/yaan_parks.mdl"),
)
ASSUMED = ["Depreciation rate", "Enclave transfer share"]


@pytest.fixture(scope="module")
def ensemble():
    return make_results(
        scenarios={"baseline": {}, "plan": {"revenue_growth": 0.35, "rd_share": 0.014}}, samples=20
    )


@pytest.fixture(scope="module")
def report_zh(ensemble, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(ensemble, path, lang="zh", model=FAKE_MODEL, dpi=40)
    return path


def _charts(text):
    return re.findall(
        r'<figure data-chart="([^"]+)"><img alt="[^"]*" '
        r'src="data:image/png;base64,([^"]+)"',
        text,
    )


def test_report_holds_every_goal_chart_and_assumption(report_zh):
    text = report_zh.read_text(encoding="utf-8")
    goals = load_goals()
    for g in goals:
        assert f'id="goal-{g.id}"' in text, g.id
        assert html.escape(g.text_zh) in text, g.id
        assert f'data-goal="{g.id}"' in text, g.id  # a row in the goal table
    keys = [k for k, _ in _charts(text)]
    expected = {
        "city_total",
        "park_trajectories",
        "goal_table",
        "goal_gaps",
        "scenario_comparison",
        "fan_revenue_city",
        "fan_revenue_park",
        "goal_rd_share",
        "goals_per_output",
        "goals_pollutants",
    }
    assert set(keys) == expected
    assert len(keys) == len(set(keys)) == text.count("<img ")
    for _, b64 in _charts(text):
        assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ASSUMED:
        assert f'data-assumption="{name}"' in text
    assert "折旧率" in text and "the 9.6 percent" in text
    assert text.count("data-assumption=") == len(ASSUMED)
    assert 'id="manifest"' in text and "model_sha256" in text
    # levers from the variables marked role=lever, one row per scenario
    assert "research_intensity_target" in text and "0.014" in text
    assert "143.0" not in text  # no stray numbers: sanity of the format
    assert text.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in text
    assert "http://" not in text.split("<body>")[0] and "<script" not in text
    assert "@font-face" in text  # the Chinese font travels with the file


def test_report_says_what_is_missing(tmp_path):
    ds = make_results(levers=False, manifest=False)
    text = build_report(ds, "en", model="no model file here", charts=[], embed_font=False)
    assert (
        'id="no-levers"' in text
        and "do not record the levers" in text
        and "role = lever" not in text
    )
    assert 'id="no-manifest"' in text
    assert 'id="no-assumptions"' in text and "no model file here" in text
    assert '<html lang="en">' in text and "Goal table" in text


def test_levers_are_the_variables_marked_as_levers():
    ds = make_results(levers=False, scenarios={"baseline": {}, "plan": {}})
    ds["research_intensity_target"] = xr.DataArray(
        [[0.005] * 9, [0.012] * 9],
        dims=("scenario", "park"),
        coords={"scenario": ["baseline", "plan"], "park": ds["park"].values},
        attrs={"units": "Dmnl", "role": "lever"},
    )
    lever = _meta("Research intensity target", "plan 一(三)", zh="研发投入强度目标")
    model = SimpleNamespace(
        meta={lever.name: lever}, by_py_name={lever.py_name: lever}, levers=lambda: [lever]
    )
    text = build_report(ds, "zh", model=model, charts=[], embed_font=False)
    assert 'id="no-levers"' not in text
    assert 'data-lever="research_intensity_target"' in text and "研发投入强度目标" in text
    assert "<td>0.005</td>" in text and "<td><b>0.012</b></td>" in text


def test_assumptions_of_the_real_model(model):
    found, why = assumptions(model)
    assert why is None and found
    assert all(m.fields["source"].lower().startswith("assumed") for m in found)
    expected = [
        m for m in model.meta.values() if m.fields.get("source", "").lower().startswith("assumed")
    ]
    # counted in the .mdl's raw text too, not only by the parser the report uses
    raw = model.mdl_path.read_text(encoding="utf-8")
    assert len(found) == len(expected) == len(re.findall(r"(?mi)^\s*source: assumed", raw))
    text = build_report(make_results(), "en", model=model, charts=[], embed_font=False)
    for m in expected:
        assert f'data-assumption="{html.escape(m.name)}"' in text


def test_write_is_atomic_and_refuses_to_overwrite(tmp_path, monkeypatch):
    import yaan_sim.outputs.report as report

    monkeypatch.setattr(report, "render_charts", lambda *a, **k: [])
    ds = make_results()
    path = tmp_path / "r.html"
    write_report(ds, path, lang="en", model=FAKE_MODEL, dpi=20, embed_font=False)
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left
    with pytest.raises(YaanSimError, match="exists already: pass --force"):
        write_report(ds, path, model=FAKE_MODEL)
    with pytest.raises(YaanSimError, match="does not exist: create it first"):
        write_report(ds, tmp_path / "no" / "r.html", model=FAKE_MODEL)


def test_write_outputs_for_make_run(tmp_path):
    paths = write_outputs(
        make_results(), tmp_path / "out", lang="en", model=FAKE_MODEL, dpi=30, embed_font=False
    )
    names = set(paths)
    assert {
        "goal_table.csv",
        "goal_table.md",
        "report.html",
        "charts/city_total.png",
        "charts/park_trajectories.png",
    } <= names
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    md = paths["goal_table.md"].read_text(encoding="utf-8")
    assert md.startswith("| goal_id |")
    with pytest.raises(YaanSimError, match="exist"):
        write_outputs(make_results(), tmp_path / "out", model=FAKE_MODEL)


def test_the_main_job_outputs_go_into_a_new_folder_in_both_languages(tmp_path, monkeypatch):
    import yaan_sim.outputs.report as report

    monkeypatch.setattr(report, "embedded_font_css", lambda text: "")  # tested elsewhere
    monkeypatch.setattr(report, "render_charts", lambda *a, **k: [])
    out = tmp_path / "new" / "pkg"  # made, as write_outputs makes its folder
    paths = report.write_main_job_outputs(make_results(), out, model=FAKE_MODEL)
    assert {p.name for p in paths} == {
        "goal_table.csv",
        "goal_table.md",
        "report.html",
        "report.en.html",
    }
    zh = (out / "report.html").read_text(encoding="utf-8")
    en = (out / "report.en.html").read_text(encoding="utf-8")
    assert "全市园区营业收入" in zh and "City park revenue" in en and "全市园区营业收入" not in en
    (out / "report.html").unlink()
    with pytest.raises(YaanSimError, match=r"report\.en\.html exists already"):
        report.write_main_job_outputs(make_results(), out, model=FAKE_MODEL)
    assert not (out / "report.html").exists()  # refused before anything was written


def test_cli_report(tmp_path, capsys, monkeypatch):
    import yaan_sim.outputs.report as report

    monkeypatch.setattr(report, "_try_model", lambda: FAKE_MODEL)
    # charts and the font are tested elsewhere; this checks the command's plumbing
    monkeypatch.setattr(report, "embedded_font_css", lambda text: "")
    monkeypatch.setattr(report, "render_charts", lambda *a, **k: [])
    nc = tmp_path / "results.nc"
    make_results(scenarios={"baseline": {}, "plan": {}}).to_netcdf(nc)
    out = tmp_path / "report.html"
    assert main(["report", str(nc), "-o", str(out), "--lang", "en"]) == 0
    assert out.is_file() and "industrial parks: evaluation" in out.read_text(encoding="utf-8")
    assert main(["report", str(nc), "-o", str(out)]) == 2
    assert "exists already: pass --force" in capsys.readouterr().err
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"garbage")
    assert main(["report", str(bad), "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert "is not a readable netCDF file" in err and "Traceback" not in err
    # a reference that is not in the results, or a --model that is no .mdl: refused, no file
    other = tmp_path / "other.html"
    assert main(["report", str(nc), "-o", str(other), "--reference", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "--reference 'nosuch' is not one of the scenarios run: baseline, plan" in err
    readme = tmp_path / "README.md"
    readme.write_text("# not a model", encoding="utf-8")
    assert main(["report", str(nc), "-o", str(other), "--model", str(readme)]) == 2
    assert "not a Vensim model file (.mdl)" in capsys.readouterr().err
    assert not other.exists()
    assert main(["report", str(nc), "-o", str(other), "--reference", "plan"]) == 0
    assert other.is_file()


# ------------------------------------------------------------------ a real browser

CHECK_SCRIPT = """<script>
window.addEventListener('load', async () => {
  await document.fonts.ready;
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  const font = document.fonts.check('16px "YaanSim CJK"', '全市园区');
  const d = document.createElement('div');
  d.id = 'render-check';
  d.textContent = `loaded=${ok} total=${imgs.length} font=${font}`;
  document.body.appendChild(d);
});
</script>"""


@pytest.fixture(scope="session")
def chromium():
    """Path of Chromium, installed from Debian's packages by the helper when missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    proc = subprocess.run(
        ["sh", str(SUPPORT / "ensure_chromium.sh")], capture_output=True, text=True, timeout=1200
    )
    if proc.returncode != 0:
        why = (
            "Chromium is not installed and tests/support/ensure_chromium.sh could not "
            f"install it (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
        )
        # YAAN_SIM_REQUIRE_BROWSER=1 (a machine known to provide a browser): a failure
        if os.environ.get("YAAN_SIM_REQUIRE_BROWSER") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return proc.stdout.strip().splitlines()[-1]


def test_report_renders_in_a_headless_browser(report_zh, chromium, tmp_path):
    text = report_zh.read_text(encoding="utf-8")
    n_images = text.count("<img ")
    page = tmp_path / "check.html"
    page.write_text(text.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r'<div id="render-check">loaded=(\d+) total=(\d+) font=(\w+)</div>', proc.stdout)
    assert m, f"the check script did not run; stderr: {proc.stderr[-1000:]}"
    loaded, total, font = int(m[1]), int(m[2]), m[3]
    assert total == n_images > 0
    assert loaded == total, f"{total - loaded} image(s) failed to load"
    assert font == "true", "the embedded CJK font did not load"
