"""Relative loop scores, polarities and the loop-dominance Dataset."""

from __future__ import annotations

import numpy as np
import xarray as xr

METHOD = (
    "Loops that Matter: Schoenberg, Davidsen & Eberlein (2020), System Dynamics Review "
    "36(2):158-190; flow-to-stock link score of Schoenberg, Hayward & Eberlein (2023), "
    "SDR 39(2):140-151"
)


def _relative(scores: np.ndarray, members: list[np.ndarray]) -> np.ndarray:
    """Each loop's score over the sum of |scores| of the loops it is compared with."""
    out = np.zeros_like(scores)
    for idx in members:
        total = np.abs(scores[idx]).sum(axis=0)
        with np.errstate(all="ignore"):
            out[idx] = np.where(total > 0, scores[idx] / total, 0.0)
    return out


def _polarity(loops: list, ls) -> str:
    """R or B where the loop's nonzero scores all have one sign (or, for a loop never
    active, where each of its links kept one sign); else U."""
    scores = np.concatenate([lp.score for lp in loops])
    nz = scores[scores != 0]
    if nz.size:
        if (nz > 0).all():
            return "R"
        if (nz < 0).all():
            return "B"
        return "U"
    sign = 1
    for lp in loops:
        s = 1
        for a, b in zip(lp.nodes, lp.nodes[1:] + lp.nodes[:1], strict=True):
            row = ls.scores[ls.edges[(a, b)]]
            row = row[row != 0]
            if not row.size or not ((row > 0).all() or (row < 0).all()):
                return "U"
            s *= 1 if row[0] > 0 else -1
        if sign != s and lp is not loops[0]:
            return "U"
        sign = s
    return "R" if sign > 0 else "B"


def _patterns(run: dict) -> dict:
    """{key: dict(path, polarity, length, stocks, partition, active, relative (time, group),
    raw (time, group))}: element-level loops (``by`` None) or loop patterns per group."""
    loops, ls, by = run["loops"], run["ls"], run["by"]
    n_t = ls.scores.shape[1]
    scores = np.array([lp.score for lp in loops]).reshape(len(loops), n_t)
    out: dict = {}
    if by is None:  # every element-level loop, normalised within its cycle partition
        parts: dict = {}
        for i, lp in enumerate(loops):
            parts.setdefault(lp.scc, []).append(i)
        rel = _relative(scores, [np.asarray(v) for v in parts.values()])
        for i, lp in enumerate(loops):
            out[f"{lp.key}@{lp.label}"] = {
                "path": lp.label,
                "polarity": _polarity([lp], ls),
                "length": len(lp.nodes),
                "stocks": lp.stocks,
                "partition": lp.scc,
                "active": True,
                "relative": rel[i][:, None],
                "raw": scores[i][:, None],
            }
        return out
    groups = _group_labels(ls, by)
    # relative scores within each (group, cycle partition): rel[group] is (loop, time). The
    # partition is the label shared by parts made of the same variables, so a park whose
    # stocks have a second subscript (industry groups) is normalised over all its parts
    # of that kind together, not once per part.
    rel = np.zeros((len(groups), len(loops), n_t))
    members: dict = {}
    for i, lp in enumerate(loops):
        for gi, g in enumerate(groups):
            if g in lp.parks:
                members.setdefault((gi, lp.partition), []).append(i)
    for (gi, _), idx in members.items():
        idx = np.asarray(idx)
        rel[gi, idx] = _relative(scores[idx], [np.arange(len(idx))])
    touches = np.array([[g in lp.parks for g in groups] for lp in loops]).reshape(len(loops), -1)
    by_key: dict = {}
    for i, lp in enumerate(loops):
        by_key.setdefault(lp.key, []).append(i)
    for key, idx in by_key.items():
        idx = np.asarray(idx)
        mask = touches[idx]  # (instance, group)
        if not mask.any():
            continue  # touches no group
        first = loops[idx[0]]
        out[key] = {
            "path": first.path,
            "polarity": _polarity([loops[i] for i in idx], ls),
            "length": len(first.nodes),
            "stocks": first.stocks,
            "partition": first.partition,
            "active": True,
            # the instances of the pattern that touch each group, added
            "relative": np.einsum("git,ig->tg", rel[:, idx], mask),
            "raw": np.einsum("it,ig->tg", scores[idx], mask),
        }
    for key, (path, stocks, length, part) in (run["structure"] or {}).items():
        if key not in out and _touches(key, ls, by):
            out[key] = {
                "path": path,
                "polarity": "U",
                "length": length,
                "stocks": stocks,
                "partition": part,
                "active": False,
                "relative": np.zeros((n_t, len(groups))),
                "raw": np.zeros((n_t, len(groups))),
            }
    return out


def _touches(key: str, ls, by: str) -> bool:
    return any(by in ls.blocks[k].dims for k in key.split(">"))


def _group_labels(ls, by) -> list:
    for b in ls.blocks.values():
        if by in b.dims:
            return list(b.coords[b.dims.index(by)])
    return []


def dataset(runs: list, names) -> xr.Dataset:
    pats = [_patterns(r) for r in runs]
    by = runs[0]["by"]
    times = runs[0]["times"]
    keys = list(dict.fromkeys(k for p in pats for k in p))
    info = {}
    for k in keys:
        found = [p[k] for p in pats if k in p]
        active = [f for f in found if f["active"]]
        pols = {f["polarity"] for f in active}
        info[k] = {
            **found[0],
            "polarity": pols.pop() if len(pols) == 1 else "U",
            "active": bool(active),
        }
    n_g = len(_group_labels(runs[0]["ls"], by)) if by else 1
    rel = np.full((len(runs), len(keys), len(times), n_g), np.nan)
    raw = np.full_like(rel, np.nan)
    for s, p in enumerate(pats):
        for i, k in enumerate(keys):
            if k in p:
                rel[s, i] = p[k]["relative"]
                raw[s, i] = p[k]["raw"]
    # ids: R, B then U; in each, the main cycle partition first, then by importance (the
    # largest mean |relative score| in any park and scenario)
    weight = np.nanmax(np.nanmean(np.abs(rel), axis=2), axis=(0, 2))
    weight = np.where(np.isfinite(weight), weight, 0.0)
    rank = {"R": 0, "B": 1, "U": 2}
    order = sorted(
        range(len(keys)),
        key=lambda i: (rank[info[keys[i]]["polarity"]], info[keys[i]]["partition"], -weight[i]),
    )
    counters = {"R": 0, "B": 0, "U": 0}
    ids = []
    for i in order:
        pol = info[keys[i]]["polarity"]
        counters[pol] += 1
        ids.append(f"{pol}{counters[pol]}")
    keys = [keys[i] for i in order]
    rel, raw = rel[:, order], raw[:, order]
    dims = ["scenario", "loop", "time"]
    coords = {
        "loop": ids,
        "time": times,
        "path": ("loop", [info[k]["path"] for k in keys]),
        "polarity": ("loop", [info[k]["polarity"] for k in keys]),
        "length": ("loop", np.array([info[k]["length"] for k in keys], dtype=int)),
        "stocks": ("loop", [info[k]["stocks"] for k in keys]),
        "key": ("loop", keys),
        "active": ("loop", np.array([info[k]["active"] for k in keys], dtype=bool)),
        "partition": ("loop", np.array([info[k]["partition"] for k in keys], dtype=int)),
    }
    if by is not None:
        dims.append(by)
        coords[by] = _group_labels(runs[0]["ls"], by)
    else:
        rel, raw = rel[..., 0], raw[..., 0]
    if names is None:
        rel, raw, dims = rel[0], raw[0], dims[1:]
    else:
        coords["scenario"] = names
    ds = xr.Dataset(
        {
            "relative_score": (
                dims,
                rel,
                {
                    "units": "1",
                    "long_name": "relative loop score (share of the change of the stocks "
                    "explained by the loop; + reinforcing, - balancing)",
                    "long_name_zh": (
                        "相对回路得分（该回路对存量变化的解释份额；正为增强，负为调节）"
                    ),
                },
            ),
            "loop_score": (
                dims,
                raw,
                {"units": "1", "long_name": "loop score (product of the loop's link scores)"},
            ),
        },
        coords=coords,
    )
    ds["time"].attrs.update(
        {"units": "year", "long_name": "end of the computation interval [t - dt, t] scored"}
    )
    h = runs[0]["horizon"]
    ds.attrs.update(
        {
            "title": "yaan-sim loop dominance (Loops that Matter)",
            "method": METHOD,
            "by": by or "",
            "normalisation": (
                f"per {by} and cycle partition: over the loops of the partition that touch "
                f"the {by} (any of its elements); the instances of one loop pattern in a "
                f"{by} are added"
                if by
                else "over the loops of the same cycle partition"
            ),
            "partitions": "; ".join(
                f"{i}: {stocks}"
                for i, stocks in runs[0]["partitions"][
                    "label_stocks" if by else "scc_stocks"
                ].items()
            ),
            "dt": float(h.step),
            "start": float(h.start),
            "stop": float(h.stop),
            "loop_finding": runs[0]["finding"],
            "n_active_loops_element_level": int(max(len(r["loops"]) for r in runs)),
        }
    )
    return ds
