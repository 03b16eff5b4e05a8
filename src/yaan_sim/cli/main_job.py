"""The main job's outputs beside the results: chart, goal table and report when available."""

from __future__ import annotations

from pathlib import Path

from ..results import write_atomic


def write_main_outputs(ds, out_dir: Path, force: bool = False) -> list[Path]:
    """Write what the installed modules can produce; return the paths written."""
    written = [write_revenue_chart(ds, out_dir / "revenue_by_park.png", force)]
    try:
        from ..report import write_main_job_outputs  # goals, charts, report (issue 4)
    except ImportError:
        return written
    written += list(write_main_job_outputs(ds, out_dir, force=force))
    return written


def write_revenue_chart(ds, path: Path, force: bool = False) -> Path:
    """Revenue by park over time: one panel per park, one line per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rev = ds["revenue"]
    parks = list(rev["park"].values)
    ncols = 3
    nrows = -(-len(parks) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(11, 2.6 * nrows), squeeze=False)
    scenarios = list(ds["scenario"].values) if "scenario" in rev.dims else [None]
    for ax, park in zip(axes.flat, parks):
        for sc in scenarios:
            data = rev.sel(park=park) if sc is None else rev.sel(park=park, scenario=sc)
            ax.plot(data["time"], data, label=str(sc) if sc is not None else "model defaults")
        ax.set_title(str(park), fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in axes.flat[len(parks):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(rev.attrs.get("units", ""), fontsize=8)
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Revenue by park (yiyuan per year)")
    fig.tight_layout()
    try:
        return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110), force=force)
    finally:
        plt.close(fig)
