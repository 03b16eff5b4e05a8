"""The forms a lever's value takes in a scenario file, each read and checked.

A value is a number, a schedule (``{2016: a, 2018: b}`` or ``{schedule: ..., interpolation:
linear}``), a per-element map (``{default: a, ETDZ: b, East: c}``; parks and regions may
be named in Chinese, e.g. 经开区 or 汉源), ``{value: ...}`` or ``{scale: k}``. Each
``read_*`` function records its problems on the :class:`~yaan_sim.scenario.checks.Ctx`
and returns the value, or None when it is not valid.
"""

from __future__ import annotations

import math
import re

import numpy as np
import xarray as xr

from yaan_sim.model.levers import Lever, closest
from yaan_sim.model.load import Horizon
from yaan_sim.scenario.reader import Node, as_float, is_float_text, kind_of
from yaan_sim.scenario.types import TOL, LeverSetting, Schedule
from yaan_sim.tables import format_exact as _fmt

INTERPOLATIONS = ("step", "linear")
META_KEYS = ("plan", "note")  # free text on a lever: the plan's section, a remark


def read_number(ctx, y: Node, path, lever: Lever) -> float | None:
    x = as_float(y.value)
    if x is None:
        fix = f"write a number, e.g. {lever.name}: {_fmt(typical(lever))}"
        if isinstance(y.value, str) and is_float_text(y.value):
            fix = f"remove the quotes: {float(y.value)!r}"
        if isinstance(y.value, str) and lever.units.lower() in ("dmnl", "", "1"):
            pct = re.fullmatch("\\s*([-+]?[0-9.]+)\\s*%\\s*", y.value)
            try:
                if pct:
                    fix = (
                        f"write the fraction {_fmt(float(pct.group(1)) / 100)} "
                        f"instead of {y.value!r}"
                    )
            except ValueError:
                pass
        ctx.problem(
            y.at,
            path,
            f"{kind_of(y.value)} is not a number",
            expected=f"a number in {lever.range_text}",
            fix=fix,
        )
        return None
    if not math.isfinite(x):
        ctx.problem(
            y.at,
            path,
            f"{(_fmt(x) if not math.isnan(x) else 'NaN')} is not a finite number",
            expected=f"a number in {lever.range_text}",
            fix=f"write a finite value within {lever.range_text}",
        )
        return None
    if not lever.in_range(x):
        ctx.problem(
            y.at,
            path,
            f"{_fmt(x)} is outside the range of {lever.name!r}, {lever.range_text}",
            expected=f"a number in {lever.range_text}",
            fix=f"use a value within {lever.range_text} (the range is the .mdl's [min,max]; "
            "change the model if the range is wrong)",
        )
        return None
    return x


def read_schedule(
    ctx, owner: Node, owner_path, items: dict, path, lever: Lever, horizon: Horizon
) -> Schedule | None:
    """Read ``{year: value}`` (``items`` at ``path``); ``owner`` is the mapping that
    may hold ``interpolation:``."""
    interp = "step"
    iy = owner.value.get("interpolation") if isinstance(owner.value, dict) else None
    y = owner
    if iy is not None:
        if iy.value not in INTERPOLATIONS:
            ctx.problem(
                iy.at,
                (*owner_path, "interpolation"),
                f"interpolation is {kind_of(iy.value)}",
                expected="step or linear",
                fix="write interpolation: step (or linear)",
            )
            return None
        interp = iy.value
    if not items:
        ctx.problem(
            y.at,
            path,
            "an empty schedule",
            expected="{year: value, ...} with at least one year",
            fix="write e.g. schedule: {2016: 0.1, 2018: 0.2}",
        )
        return None
    years: list[float] = []
    values: list[float | None] = []
    ok = True
    for key, v in items.items():
        year = as_float(key)
        if year is None or not math.isfinite(year):
            ctx.problem(
                v.at,
                (*path, key),
                f"schedule key {key!r} is not a year",
                expected="years as numbers, e.g. 2018 or 2018.5",
                fix="remove the quotes around the year"
                if is_float_text(key)
                else "write the year as a number",
            )
            ok = False
            continue
        if year < horizon.start - TOL or year > horizon.stop + TOL:
            ctx.problem(
                v.at,
                (*path, key),
                f"year {_fmt(year)} is outside the horizon "
                f"{_fmt(horizon.start)}-{_fmt(horizon.stop)}",
                expected=f"years from {_fmt(horizon.start)} to {_fmt(horizon.stop)}",
                fix="remove the year or extend `horizon:`",
            )
            ok = False
        if years and year <= years[-1]:
            ctx.problem(
                v.at,
                (*path, key),
                f"year {_fmt(year)} comes after {_fmt(years[-1])}",
                expected="years in increasing order",
                fix="sort the schedule by year",
            )
            ok = False
        x = read_number(ctx, v, (*path, key), lever)
        if x is None:
            ok = False
        years.append(year)  # kept even when the value is bad: the order check needs it
        values.append(x)
    if not ok:
        return None
    return Schedule(tuple(years), tuple(x for x in values if x is not None), interp)


def read_setting(ctx, name: str, y: Node, lever: Lever, horizon: Horizon):
    """Parse a lever's value (any form) into a LeverSetting, or None on problems."""
    path = ("levers", name)
    n0 = len(ctx.problems)
    if not isinstance(y.value, dict):
        v = read_value(ctx, y, path, lever, horizon)
        return LeverSetting(name, v, file=ctx.file, line=y.at) if v is not None else None
    items = dict(y.value)
    if "units" in items:
        check_units(ctx, items.pop("units"), (*path, "units"), lever)
    meta = {}
    for k in META_KEYS:
        if k in items:
            m = items.pop(k)
            if not isinstance(m.value, str):
                ctx.problem(
                    m.at,
                    (*path, k),
                    f"{k} is {kind_of(m.value)}",
                    expected="text",
                    fix=f'quote it: {k}: "..."',
                )
            else:
                meta[k] = m.value
    if "scale" in items:
        return read_scaled(ctx, name, y, items, meta, lever, path)
    if "schedule" in items or "value" in items:
        form = "schedule" if "schedule" in items else "value"
        for k in items:
            if k not in (form, "interpolation" if form == "schedule" else form):
                ctx.problem(
                    items[k].at,
                    (*path, k),
                    f"unexpected key {k!r} beside `{form}:`",
                    expected=f"`{form}:` with "
                    + ("`interpolation:`, " if form == "schedule" else "")
                    + "`plan:`, `note:`",
                    fix="put per-element values in a map with `default:` instead",
                )
        if form == "schedule":
            v = read_schedule_node(ctx, y, path, items["schedule"], lever, horizon)
        else:
            v = read_value(ctx, items["value"], (*path, "value"), lever, horizon)
        if len(ctx.problems) > n0 or v is None:
            return None
        return LeverSetting(
            name, v, plan=meta.get("plan", ""), note=meta.get("note", ""), file=ctx.file, line=y.at
        )
    keys = [k for k in items if k != "interpolation"]
    if keys and all(as_float(k) is not None for k in keys):
        v = read_schedule(ctx, y, path, {k: items[k] for k in keys}, path, lever, horizon)
        if len(ctx.problems) > n0 or v is None:
            return None
        return LeverSetting(
            name, v, plan=meta.get("plan", ""), note=meta.get("note", ""), file=ctx.file, line=y.at
        )
    if not items:
        ctx.problem(
            y.at,
            path,
            "an empty mapping",
            expected=f"a number in {lever.range_text}, a schedule or a per-element map",
            fix=f"write e.g. {name}: {_fmt(typical(lever))}",
        )
        return None
    return read_element_map(ctx, name, y, items, meta, lever, horizon, path)


def check_units(ctx, uy: Node, path, lever: Lever) -> None:
    """An optional ``units:`` must be the lever's units (case and spaces aside)."""

    def norm(u):
        return re.sub("\\s+", "", str(u)).lower()

    if not isinstance(uy.value, str) or norm(uy.value) != norm(lever.units):
        ctx.problem(
            uy.at,
            path,
            f"units {uy.value!r} are not the units of {lever.name!r}, {lever.units!r}",
            expected=f"units: {lever.units}",
            fix=f"convert the values to {lever.units} and write units: {lever.units} "
            "(or leave units: out)",
        )


def read_scaled(ctx, name, y: Node, items: dict, meta: dict, lever: Lever, path):
    """The form ``{scale: k}``: k times the .mdl's value of every element."""
    for k in items:
        if k != "scale":
            ctx.problem(
                items[k].at,
                (*path, k),
                f"unexpected key {k!r} beside `scale:`",
                expected="`scale:` with `plan:`, `note:`",
                fix="remove it",
            )
    sy = items["scale"]
    k = as_float(sy.value)
    if k is None or not math.isfinite(k) or k < 0:
        ctx.problem(
            sy.at,
            (*path, "scale"),
            f"scale is {kind_of(sy.value)}",
            expected="a factor >= 0 on the .mdl's value",
            fix="write e.g. scale: 1.2",
        )
        return None
    scaled = lever.default * k
    bad = [(el, float(v)) for el, v in elements_of(scaled) if not lever.in_range(float(v))]
    if bad:
        cells = ", ".join((f"{el} {_fmt(v)}" if el else _fmt(v) for el, v in bad[:4]))
        more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
        ctx.problem(
            sy.at,
            (*path, "scale"),
            f"scale {_fmt(k)} puts values outside {lever.range_text}: {cells}{more}",
            expected=f"a factor that keeps every element in {lever.range_text}",
            fix="use a factor closer to 1, or give the values per element",
        )
    if bad or len(items) > 1:
        return None
    return LeverSetting(
        name,
        None,
        plan=meta.get("plan", ""),
        note=meta.get("note", ""),
        file=ctx.file,
        line=y.at,
        scale=k,
    )


def read_value(ctx, y: Node, path, lever, horizon):
    if isinstance(y.value, dict):
        items = dict(y.value)
        if "schedule" in items:
            for k in items:
                if k not in ("schedule", "interpolation"):
                    ctx.problem(
                        items[k].at,
                        (*path, k),
                        f"unexpected key {k!r} in a schedule",
                        expected="`schedule:` and `interpolation:`",
                        fix="remove it",
                    )
            return read_schedule_node(ctx, y, path, items["schedule"], lever, horizon)
        keys = [k for k in items if k != "interpolation"]
        bad = [k for k in keys if as_float(k) is None]
        if bad:
            ctx.problem(
                items[bad[0]].at,
                (*path, bad[0]),
                f"{bad[0]!r} in a value that must be a number or a schedule",
                expected="a number, or a schedule {year: value}",
                fix="per-element maps cannot nest; give a number or {2016: a, 2018: b}",
            )
            return None
        return read_schedule(ctx, y, path, {k: items[k] for k in keys}, path, lever, horizon)
    if isinstance(y.value, list):
        ctx.problem(
            y.at,
            path,
            "a list",
            expected="a number or a schedule {year: value}",
            fix="write a mapping {2016: a, 2018: b} for a schedule",
        )
        return None
    return read_number(ctx, y, path, lever)


def read_schedule_node(ctx, owner: Node, owner_path, sy: Node, lever, horizon):
    """The canonical form ``{schedule: {year: value}, interpolation: ...}``."""
    path = (*owner_path, "schedule")
    if not isinstance(sy.value, dict):
        ctx.problem(
            sy.at,
            path,
            f"schedule is {kind_of(sy.value)}",
            expected="a mapping {year: value}",
            fix="write schedule: {2016: 0.1, 2018: 0.2}",
        )
        return None
    return read_schedule(ctx, owner, owner_path, sy.value, path, lever, horizon)


def resolve_element_key(ctx, key, names: dict) -> str | None:
    """The element or group of ``names`` that ``key`` means: itself, or a park or region
    named in Chinese or by an alias (经开区, 汉源县, 东部), or None."""
    if key in names:
        return key
    places = getattr(ctx, "places", None)
    if places is None or not isinstance(key, str):
        return None
    place = places.resolve(key, kinds=("park", "region"))
    return place if place in names else None


def read_element_map(ctx, name, y, items, meta, lever: Lever, horizon, path):
    if "interpolation" in items:
        ctx.problem(
            items["interpolation"].at,
            (*path, "interpolation"),
            "interpolation beside per-element values",
            expected="interpolation inside each schedule",
            fix="write ETDZ: {schedule: {...}, interpolation: linear}",
        )
    if not lever.dims:
        k = next(iter(items))
        ctx.problem(
            items[k].at,
            (*path, k),
            f"{name!r} has no subscripts, so it takes one value, not a per-element map",
            expected="a number or a schedule {year: value}",
            fix=f"write {name}: {_fmt(typical(lever))}",
        )
        return None
    names = lever.element_names()
    base = None
    ranges: list[tuple] = []
    elements: list[tuple] = []
    ok = True
    covered: dict[tuple[str, str], str] = {}
    given: dict[str, str] = {}  # canonical name -> the key the file used
    for written, v in items.items():
        if written == "interpolation":
            continue
        kpath = (*path, written)
        if written == "default":
            base = read_value(ctx, v, kpath, lever, horizon)
            ok &= base is not None
            continue
        key = resolve_element_key(ctx, written, names)
        if key is None:
            report_unknown_element(ctx, written, v, kpath, lever)
            ok = False
            continue
        if key in given:
            ctx.problem(
                v.at,
                kpath,
                f"{written!r} and {given[key]!r} both name {key}",
                expected="each element or group once",
                fix="keep one of the two",
            )
            ok = False
            continue
        given[key] = written
        dim, els = names[key]
        val = read_value(ctx, v, kpath, lever, horizon)
        if val is None:
            ok = False
            continue
        (elements if len(els) == 1 and key == els[0] else ranges).append((key, dim, els, val))
    for key, dim, els, _v in ranges:
        for el in els:
            if (dim, el) in covered:
                ctx.problem(
                    items[given[key]].at,
                    (*path, given[key]),
                    f"{el} is in both {covered[dim, el]} and {key}",
                    expected="sub-ranges that do not overlap",
                    fix=f"set {el} on its own line instead",
                )
                ok = False
            covered[dim, el] = key
    if not ok:
        return None
    return LeverSetting(
        name,
        base,
        tuple(ranges + elements),
        plan=meta.get("plan", ""),
        note=meta.get("note", ""),
        file=ctx.file,
        line=y.at,
    )


def report_unknown_element(ctx, key, v: Node, path, lever: Lever):
    valid = [e for d in lever.dims for e in lever.coords[d]]
    subs = [r for d in lever.dims for r in lever.ranges[d] if r not in lever.subscripts]
    other = [
        d for d, cs in _all_coords(ctx.model).items() if d not in lever.dims and str(key) in cs
    ]
    dimword = " and ".join(lever.dims)
    if as_float(key) is not None:
        msg = f"year {key!r} among the {dimword} names"
        fix = f"a schedule per element goes under the element: ETDZ: {{{key}: ...}}"
    elif other:
        msg = (
            f"{key!r} is a {other[0]} element, but {lever.name!r} is subscripted by "
            f"{', '.join(lever.subscripts)}"
        )
        fix = f"use {dimword} names: {', '.join(valid)}"
    else:
        hint = closest(str(key), valid + subs + ["default"])
        places = getattr(ctx, "places", None)
        if not hint and places is not None:
            hint = [h for h in places.suggest(key) if h in valid + subs]
        msg = f"unknown {dimword} {key!r} for {lever.name!r}"
        fix = (
            (f"did you mean {hint[0]!r}? " if hint else "")
            + f"valid: {', '.join(valid)}"
            + (f"; groups: {', '.join(subs)}" if subs else "")
            + "; and `default`"
        )
    ctx.problem(
        v.at,
        path,
        msg,
        expected=f"`default` or one of the lever's {dimword} names or groups",
        fix=fix,
    )


def elements_of(da: xr.DataArray):
    """``(element label, value)`` for every cell of ``da`` (label "" without dims)."""
    if not da.dims:
        return [("", da.values)]
    stacked = da.stack(_cell=da.dims)
    return [
        (",".join(map(str, np.atleast_1d(c))), v)
        for c, v in zip(stacked["_cell"].values, stacked.values, strict=True)
    ]


def typical(lever: Lever) -> float:
    return float(np.asarray(lever.default.values, dtype=float).ravel()[0])


def _all_coords(model) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rng, elements in model.subscripts.items():
        out.setdefault(model.dim_of_range.get(rng, rng.lower()), [])
        out[model.dim_of_range.get(rng, rng.lower())] += list(elements)
    return out
