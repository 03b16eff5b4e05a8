"""The vector engine's public object: :class:`VectorModel`.

``VectorModel.from_mdl(path)`` parses the .mdl with PySD's Vensim translator and compiles
its abstract model (:mod:`.compile`); ``run()`` turns overrides into arrays, builds (or
reuses) the simulation function for that kind of run (:mod:`.codegen`), integrates all
samples at once and returns an ``xarray.Dataset``.

Semantics follow PySD 3.14.3's ``Model.run`` on a freshly loaded model:

* time grid: ``t_{k+1} = t_k + dt`` from the start while ``t + dt*1e-5 < final``; a time
  is saved when ``(t - start) % saveper`` is within ``dt*1e-5`` of 0 (or of saveper);
  saved times are rounded like PySD's output index;
* ``start`` (PySD's ``initial_condition=(start, {})``): stocks and INITIAL values are
  computed at the model's own INITIAL TIME, as PySD does, and the integration runs from
  ``start``; from then on ``INITIAL TIME`` reads ``start`` (as in PySD). With
  ``init_at="start"`` everything is initialised at ``start`` instead, as a copy of the
  .mdl with INITIAL TIME = start would be (yaan_sim's PySD path, ``at_start``);
* a scalar or DataArray override replaces the variable's equation by that value; one with
  a ``time`` dim is a schedule, interpolated linearly at each integration time and held
  flat beyond its ends (PySD's ``pd.Series`` override).
"""

from __future__ import annotations

import math
import operator
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from yaan_sim.engines.vector import functions as _f
from yaan_sim.engines.vector.assemble import Block, Layout, assemble_dataset, layout_of
from yaan_sim.engines.vector.codegen import build_program
from yaan_sim.engines.vector.compiler import compile_file
from yaan_sim.engines.vector.plan import CONTROL_NAMES, Plan
from yaan_sim.engines.vector.statefuls import Integ
from yaan_sim.errors import ModelError, UnsupportedConstructError, YaanSimError
from yaan_sim.outputs.dataset import index_coordinate

__all__ = ["UnsupportedConstructError", "VectorModel"]

_RPREC = 1e-5  # PySD's Time.rprec

#: the environment variable that sets the threads of a run (a whole number >= 1)
THREADS_VARIABLE = "YAAN_SIM_THREADS"


def default_threads() -> int:
    """Threads for the chunks of a run: ``YAAN_SIM_THREADS`` where set; else, on the main
    thread, the cores this process may use (10,000 samples, benchmarks/README.md: 3.9 s on
    one core of the 2-core machine, 3.1 s on two); 1 on any other thread (a dask worker's
    task, a server's request), whose caller already runs work side by side."""
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise YaanSimError(
                f"{THREADS_VARIABLE}={text!r}: give a whole number of threads of at least 1 "
                f"(e.g. {THREADS_VARIABLE}=1 for one), or unset it to use every core"
            )
        return int(text)
    if threading.current_thread() is not threading.main_thread():
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _on_grid(pts: np.ndarray, tvals: np.ndarray, vals: np.ndarray) -> tuple:
    """A schedule (``vals`` (T, ...) at ``tvals``) at the integration times ``pts[:-1]``
    and at the initial time ``pts[-1]``. A finite schedule given on those times already
    (every lever of ``ys.simulate``'s runs) is taken as it is (contiguous, as the
    interpolation's copy was): what interpolation at its own knots gives, bit for bit,
    without its passes (~35 us a lever)."""
    run_times = pts[:-1]
    if (
        tvals.shape == run_times.shape
        and np.array_equal(tvals, run_times)
        and np.isfinite(vals).all()
    ):
        vals = np.ascontiguousarray(vals)  # a held lever is a broadcast view: one copy
        if pts[-1] == run_times[0]:
            return vals, vals[0]
        first = _f.interp_columns(pts[-1:], tvals, vals.reshape(vals.shape[0], -1))
        return vals, first.reshape(vals.shape[1:])
    flat = vals.reshape(vals.shape[0], -1)
    out = _f.interp_columns(pts, tvals, flat).reshape((len(pts), *vals.shape[1:]))
    return out[:-1], out[-1]


class VectorModel:
    """A .mdl compiled to numpy, run for many samples at once."""

    #: samples integrated together; larger chunks are split (results are the same);
    #: None: the engine's own default (:meth:`default_chunk_size`)
    chunk_size: int | None = None
    #: threads for the chunks of one run (numpy releases the GIL in its loops); None:
    #: :func:`default_threads` (the cores this process may use, on the main thread)
    threads: int | None = None
    #: a run without samples computes its report variables after the time loop, for
    #: every saved time at once (:func:`.codegen.saved_only_after_loop`)
    saved_after_loop: bool = True

    def __init__(self, plan: Plan):
        self.plan = plan
        self._programs: dict = {}
        self._controls = self._eval_controls({})
        self._base: dict[str, Any] = {
            py: self._literal_array(v)
            for py, v in plan.variables.items()
            if v.kind == "aux" and v.literal
        }
        for py, v in plan.variables.items():
            if v.kind == "lookup":
                self._base[py] = (v.xp, v.table)

    def __getstate__(self):  # picklable (for process pools): programs are rebuilt
        state = self.__dict__.copy()
        state["_programs"] = {}
        state.pop("_jax_model", None)  # JaxModel.for_vector's, rebuilt where needed
        return state

    # ---- construction ----------------------------------------------------------------
    @classmethod
    def from_mdl(cls, path) -> VectorModel:
        """Parse and compile ``path``; raises UnsupportedConstructError naming the
        variable and the construct where the engine cannot run the model."""
        return cls(compile_file(Path(path)))

    @property
    def variables(self) -> list[str]:
        """py names of the variables a run returns by default (no lookups or controls)."""
        return [py for py, v in self.plan.variables.items() if v.kind == "aux"]

    def _literal_array(self, var) -> np.ndarray:
        arr = np.empty((1, *var.shape))
        for c in var.components:
            if c.keep is not None:
                cells: tuple = (slice(None), *c.keep[0])
                arr[cells] = c.literal[c.keep[1]]
            else:
                cells = (slice(None), *np.ix_(*[np.asarray(x) for x in c.index]))
                arr[cells] = c.literal
        arr.setflags(write=False)
        return arr

    # ---- control variables -----------------------------------------------------------
    def _eval_controls(self, given: dict) -> dict:
        """Values of the four control variables; ``given`` (py name -> value) wins."""
        from pysd.translators.structures import abstract_expressions as ae

        asts = self.plan.controls
        values: dict = {}

        def ev(node, stack=()):
            if isinstance(node, (int, float, np.integer, np.floating)):
                return float(node)
            if isinstance(node, ae.ReferenceStructure) and node.subscripts is None:
                ref = node.reference
                py = ref if ref in CONTROL_NAMES else self.plan.by_name.get(ref)
                if py in CONTROL_NAMES:
                    return value_of(py, stack)
                var = self.plan.variables.get(py) if py else None
                if var is not None and var.kind == "aux" and var.literal and not var.roots:
                    return float(var.components[0].literal)
            if isinstance(node, ae.ArithmeticStructure):
                args = [ev(a, stack) for a in node.arguments]
                if node.operators == ["negative"]:
                    return -args[0]
                out = args[0]
                ops: dict[str, Callable[[float, float], float]] = {
                    "+": operator.add,
                    "-": operator.sub,
                    "*": operator.mul,
                    "/": operator.truediv,
                    "^": operator.pow,
                }
                for op, a in zip(node.operators, args[1:], strict=False):
                    out = ops[op](out, a)
                return out
            raise UnsupportedConstructError(
                f"{'/'.join(stack) or 'control'}: a control variable defined by an equation "
                "other than numbers, constants and other control variables is not supported "
                "by the vector engine; run with engine='pysd'"
            )

        def value_of(py, stack=()):
            if py in given and given[py] is not None:
                return float(given[py])
            if py in values:
                return values[py]
            if py in stack:
                raise ModelError(f"control variables depend on each other in a circle: {stack}")
            if py not in asts:
                raise ModelError(f"the model does not define {py.upper().replace('_', ' ')}")
            values[py] = ev(asts[py], (*stack, py))
            return values[py]

        return {py: value_of(py) for py in CONTROL_NAMES}

    # ---- time grid ---------------------------------------------------------------------
    @staticmethod
    def _time_grid(start: float, final: float, dt: float, saveper: float):
        if not dt > 0:
            raise YaanSimError(f"TIME STEP must be positive, got {dt}")
        if not saveper > 0:
            raise YaanSimError(f"SAVEPER must be positive, got {saveper}")
        times = [float(start)]
        t = float(start)
        while t + dt * _RPREC < final:
            t = t + dt
            times.append(t)
        prec = dt * _RPREC
        flags = []
        for t in times:
            delay = t - start
            flags.append(delay % saveper < prec or -delay % saveper < prec)
        digits = -int(np.log10(dt * _RPREC))
        saved = [round(t, digits) for t, f in zip(times, flags, strict=False) if f]
        return [np.float64(t) for t in times], flags, np.asarray(saved, dtype=float)

    # ---- overrides -------------------------------------------------------------------
    def _resolve(self, name: str):
        try:
            var = self.plan.lookup(name)
        except KeyError:
            raise YaanSimError(
                f"'{name}' is not a variable of {self.plan.path.name}; give the Vensim name "
                "(e.g. 'Investment attraction rate') or the Python name"
            ) from None
        return var

    def _override_array(self, var, value, samples: int | None):
        """-> (kind, array): 'const' (S, *shape) or 'sched' (times, values (T, S, *shape))."""
        dims = list(var.dims)
        if isinstance(value, pd.Series):
            value = xr.DataArray(
                np.asarray(value.values, dtype=float),
                coords={"time": np.asarray(value.index, dtype=float)},
                dims=["time"],
            )
        if isinstance(value, xr.DataArray):
            extra = set(value.dims) - {"sample", "time"} - set(dims)
            if extra:
                raise YaanSimError(
                    f"override of '{var.name}': dims {sorted(map(str, extra))} are not among "
                    f"{['sample', 'time', *dims]}"
                )
            da_dims = list(value.dims)
            arr = np.asarray(value.values, dtype=float)  # numpy from here: much faster
            for d, coords in zip(dims, var.coords, strict=False):
                if d not in da_dims:
                    continue
                axis = da_dims.index(d)
                coord = value.coords.variables.get(d)  # a Variable: no DataArray made
                if coord is None:
                    if arr.shape[axis] != len(coords):
                        raise YaanSimError(
                            f"override of '{var.name}': {arr.shape[axis]} values along "
                            f"'{d}', {len(coords)} expected"
                        )
                    continue
                have = {str(c): i for i, c in enumerate(coord.values)}
                missing = [c for c in coords if c not in have]
                if missing:
                    raise YaanSimError(f"override of '{var.name}': no value for {d}={missing}")
                idx = [have[c] for c in coords]
                if idx != list(range(arr.shape[axis])):
                    arr = np.take(arr, idx, axis=axis)
            sizes = dict(zip(da_dims, arr.shape, strict=False))
            if "sample" in sizes and (samples is None or sizes["sample"] != samples):
                raise YaanSimError(
                    f"override of '{var.name}' has {sizes['sample']} samples but samples={samples}"
                )
            order = [d for d in ("time", "sample") if d in sizes] + [d for d in dims if d in sizes]
            arr = arr.transpose([da_dims.index(d) for d in order])
            # expand to (time?, sample, *dims)
            shape = []
            if "time" in sizes:
                shape.append(sizes["time"])
            shape.append(sizes.get("sample", 1))
            for d, coords in zip(dims, var.coords, strict=False):
                shape.append(len(coords) if d in sizes else 1)
            arr = arr.reshape(shape)
            lead_shape = tuple(shape[: -len(dims)] if dims else shape)
            arr = np.broadcast_to(arr, lead_shape + var.shape)
            da = value
            if "time" in da.dims:
                tcoord = da.coords.variables.get("time")
                tvals = None if tcoord is None else np.asarray(tcoord.values, dtype=float)
                if tvals is None:
                    raise YaanSimError(f"override of '{var.name}': the time dim has no coords")
                order_t = np.argsort(tvals, kind="stable")
                return "sched", (tvals[order_t], arr[order_t])
            return "const", arr
        if isinstance(value, (np.ndarray, list, tuple)) and np.ndim(value) > 0:
            raise YaanSimError(
                f"override of '{var.name}': give a scalar or an xarray.DataArray with dims "
                f"among {['sample', 'time', *dims]}, not a {type(value).__name__}"
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise YaanSimError(f"override of '{var.name}': {value!r} is not a number") from None
        return "const", np.broadcast_to(np.float64(v), (1, *var.shape))

    def _lookup_table(self, var, value, samples):
        """A new table for a lookup: DataArray with dims ("lookup_x", [sample,] *dims),
        or a pd.Series indexed by x for a lookup without subscripts."""
        dims = list(var.dims)
        if isinstance(value, pd.Series) and not dims:
            value = xr.DataArray(
                np.asarray(value.values, dtype=float),
                coords={"lookup_x": np.asarray(value.index, dtype=float)},
                dims=["lookup_x"],
            )
        if not isinstance(value, xr.DataArray) or "lookup_x" not in value.dims:
            raise YaanSimError(
                f"override of the lookup '{var.name}': give an xarray.DataArray with a "
                f"'lookup_x' dim (and optionally 'sample' and {dims})"
            )
        extra = set(value.dims) - {"lookup_x", "sample"} - set(dims)
        if extra:
            raise YaanSimError(
                f"override of '{var.name}': unexpected dims {sorted(map(str, extra))}"
            )
        if "lookup_x" not in value.coords:
            raise YaanSimError(f"override of '{var.name}': the lookup_x dim needs coords")
        da = value.sortby("lookup_x")
        xp = np.asarray(da["lookup_x"].values, dtype=float)
        if len(np.unique(xp)) != len(xp):
            raise YaanSimError(f"override of '{var.name}': repeated lookup_x values")
        da = da.drop_vars("lookup_x").assign_coords(lookup_x=np.arange(len(xp)))
        _kind, arr = self._override_array(
            var,
            da.rename(lookup_x="time").assign_coords(time=np.arange(len(xp), dtype=float)),
            samples,
        )
        return xp, np.ascontiguousarray(arr[1])

    # ---- run -------------------------------------------------------------------------
    def run(
        self,
        overrides: dict | None = None,
        start: float | None = None,
        stop: float | None = None,
        step: float | None = None,
        saveper: float | None = None,
        samples: int | None = None,
        return_vars=None,
        *,
        init_at: str = "model",
        threads: int | None = None,
        chunk_size: int | None = None,
        start_state: dict | None = None,
        lead_dim: str | None = None,
    ) -> xr.Dataset:
        """Integrate the model for ``samples`` samples at once (one run if None).

        Returns an ``xarray.Dataset``: one variable per model variable (PySD's Python
        names), dims ``(sample,) time, *subscript dims`` and attrs ``units`` and
        ``vensim_name``.

        ``start`` with ``init_at="model"`` (the default) is PySD's
        ``run(initial_condition=(start, {}))``: initial values are computed at the
        .mdl's INITIAL TIME, the integration runs from ``start`` and INITIAL TIME reads
        ``start`` after initialisation. ``init_at="start"`` is the .mdl with its INITIAL
        TIME set to ``start`` (yaan_sim's PySD path for another start,
        ``YaanModel.at_start``): everything is initialised at ``start``.

        ``start_state`` ({stock name: value, optionally with a ``sample`` dim}) sets those
        stocks at ``start`` after initialisation, as PySD's ``initial_condition=(start,
        {stock: value})`` does; the other stocks keep their initial values.

        ``lead_dim`` (one run only): every variable gets a leading dim of length 1 of this
        name, without a coordinate (``scenario`` for :func:`yaan_sim.simulate`, whose
        results would otherwise make every variable again to add it).

        Samples are integrated in chunks of ``chunk_size`` (default
        ``VectorModel.chunk_size``) so that arrays stay in cache, on ``threads`` threads
        (default ``VectorModel.threads``, else :func:`default_threads`: numpy releases the
        GIL in its loops).
        """
        plan = self.plan
        if samples is not None:
            samples = int(samples)
            if samples < 1:
                raise YaanSimError(f"samples must be at least 1, got {samples}")
            if lead_dim is not None:
                raise YaanSimError("lead_dim is for one run: give samples=None")
        given = {"final_time": stop, "time_step": step, "saveper": saveper}
        ctl = (
            self._eval_controls(given)
            if any(v is not None for v in given.values())
            else self._controls
        )
        if init_at not in ("model", "start"):
            raise YaanSimError(f"init_at must be 'model' or 'start', not {init_at!r}")
        t0 = self._controls["initial_time"] if start is None else float(start)
        # the time at which stocks, INITIAL and the like take their initial values
        t_model = self._controls["initial_time"] if init_at == "model" else t0
        dt, tf = ctl["time_step"], ctl["final_time"]
        sp = ctl["saveper"] if saveper is None else float(saveper)
        times, flags, saved = self._time_grid(t0, tf, dt, sp)

        # overrides
        kinds: dict = {}
        P = dict(self._base)
        SC, SCI = {}, {}
        pts = None
        for name, value in (overrides or {}).items():
            var = self._resolve(name)
            if var.kind == "lookup":
                P[var.py_name] = self._lookup_table(var, value, samples)
                kinds[var.py_name] = "table"
                continue
            if var.kind != "aux":
                raise YaanSimError(
                    f"'{var.name}' is a control variable: use start/stop/step/saveper"
                )
            if any(st.owner == var.name and isinstance(st, Integ) for st in plan.statefuls):
                raise YaanSimError(f"'{var.name}' is a stock: its value cannot be overridden")
            kind, arr = self._override_array(var, value, samples)
            kinds[var.py_name] = kind
            if kind == "const":
                P[var.py_name] = arr
            else:
                tvals, vals = arr
                if pts is None:  # the integration times, then the initial time
                    pts = np.asarray([float(t) for t in times] + [t_model])
                SC[var.py_name], SCI[var.py_name] = _on_grid(pts, tvals, vals)

        for name, value in (start_state or {}).items():
            var = self._resolve(name)
            if not any(st.owner == var.name and isinstance(st, Integ) for st in plan.statefuls):
                raise YaanSimError(f"start state: '{var.name}' is not a stock (an INTEG)")
            kind, arr = self._override_array(var, value, samples)
            if kind != "const":
                raise YaanSimError(f"start state of '{var.name}': one value per element, no time")
            P[f"state:{var.name}"] = arr

        # what to return
        if return_vars is None:
            returns = self.variables
        else:
            if isinstance(return_vars, str):
                return_vars = [return_vars]
            returns = []
            for name in return_vars:
                var = self._resolve(name)
                if var.kind != "aux":
                    raise YaanSimError(f"'{var.name}' is a lookup or control variable")
                if var.py_name not in returns:
                    returns.append(var.py_name)

        prog = self._program(kinds, returns, samples is None and self.saved_after_loop)
        args = (
            times,
            flags,
            np.float64(t_model),
            np.float64(t_model),
            np.float64(t0),
            np.float64(tf),
            np.float64(dt),
            np.float64(sp),
            t0 != t_model,
        )
        # an ensemble's chunks are written into the Dataset's block as they return (its
        # outputs held once, not twice); a single run is assembled after, as one piece
        block = (
            None
            if samples is None
            else Block(returns, prog.dynamic_outputs, saved, samples, self._layout)
        )
        parts = self._integrate(
            prog,
            P,
            SC,
            SCI,
            args,
            samples or 1,
            self._chunk(chunk_size),
            self._threads(threads),
            block,
        )
        return self._dataset(returns, parts, saved, samples, block, lead_dim)

    def _chunk(self, chunk_size: int | None) -> int:
        """Samples integrated together: the run's ``chunk_size``, the model's, the engine's."""
        for size in (chunk_size, self.chunk_size):
            if size is not None:
                return max(1, int(size))
        return self.default_chunk_size()

    def _threads(self, threads: int | None) -> int:
        """Threads for the chunks: the run's ``threads``, the model's, :func:`default_threads`."""
        for n in (threads, self.threads):
            if n is not None:
                return max(1, int(n))
        return default_threads()

    def default_chunk_size(self) -> int:
        """About 64k elements (512 KiB) in the largest variable, so that a step's arrays
        stay in a core's cache: 512 samples for the park model (108 cells at most), ~1.5x
        faster than 8,192 at N = 10,000, Python's per-operation cost still small."""
        if "_default_chunk" not in self.__dict__:
            cells = max((math.prod(v.shape) for v in self.plan.variables.values()), default=1)
            self._default_chunk = int(min(8192, max(256, 2 ** round(math.log2(65536 / cells)))))
        return self._default_chunk

    def _program(self, kinds: dict, returns: list, one_run: bool = False):
        """The simulation program for this kind of run (built once, then reused);
        ``one_run``: for a run without samples (``build_program``'s)."""
        key = (tuple(sorted(kinds.items())), tuple(returns), one_run)
        prog = self._programs.get(key)
        if prog is None:
            prog = self._programs[key] = self._build(kinds, returns, one_run=one_run)
        return prog

    def _build(self, kinds: dict, returns: list, one_run: bool = False):
        return build_program(self.plan, kinds, returns, one_run=one_run)

    def _integrate(
        self, prog, P, SC, SCI, args, n: int, size: int, workers: int, block: Block | None = None
    ) -> list:
        """Run ``prog`` for ``n`` samples -> [(lo, hi, constants, per-time outputs)]; with a
        ``block``, each chunk's outputs are written into it as the chunk returns, and its
        part keeps no outputs."""
        # equal chunks of at most `size` samples; one per thread at least when each
        # would still be large enough to be worth a thread
        n_chunks = -(-n // size)
        if workers > 1 and n >= 1024 * workers:
            n_chunks = max(n_chunks, workers)
        step_ = -(-n // n_chunks)
        bounds = [(lo, min(lo + step_, n)) for lo in range(0, n, step_)]
        if len(bounds) == 1:
            return [Block.keep(block, 0, n, *self._call(prog, P, SC, SCI, args))]

        def work(b):
            lo, hi = b
            sub = [self._slice(x, lo, hi, n, axis) for x, axis in ((P, 0), (SC, 1), (SCI, 0))]
            return Block.keep(block, lo, hi, *self._call(prog, sub[0], sub[1], sub[2], args))

        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                return list(pool.map(work, bounds))
        return [work(b) for b in bounds]

    @staticmethod
    def _call(prog, P, SC, SCI, args):
        with np.errstate(all="ignore"):  # thread-local: set in the thread that computes
            return prog.func(P, SC, SCI, *args)

    @staticmethod
    def _slice(params: dict, lo: int, hi: int, n: int, axis: int) -> dict:
        """The samples lo:hi of every per-sample array (shared ones are kept whole)."""
        out = {}
        for key, v in params.items():
            if isinstance(v, tuple):  # a lookup: (x values, table (K, sample, ...))
                xp, tab = v
                out[key] = (xp, tab[:, lo:hi] if tab.shape[1] == n and n > 1 else tab)
            elif v.shape[axis] == n and n > 1:
                out[key] = v[lo:hi] if axis == 0 else v[:, lo:hi]
            else:
                out[key] = v
        return out

    def program_source(self, overrides=(), return_vars=None, samples: int | None = None) -> str:
        """The generated simulation source (for inspection and debugging) of a run with
        ``samples`` (None: one run)."""
        returns = (
            self.variables
            if return_vars is None
            else [self._resolve(n).py_name for n in return_vars]
        )
        kinds = {self._resolve(n).py_name: k for n, k in dict(overrides).items()}
        return self._program(kinds, returns, samples is None and self.saved_after_loop).source

    # ---- output ----------------------------------------------------------------------
    def _dataset(
        self, returns, parts, saved, samples, block: Block | None = None, lead_dim=None
    ) -> xr.Dataset:
        if block is not None:  # filled chunk by chunk already
            return block.dataset(parts, self._dim_coord)
        return assemble_dataset(
            returns, parts, saved, samples, self._dim_coord, self._layout, lead_dim
        )

    def _layout(self, py: str) -> Layout:
        """Where a variable's values go in the Dataset, worked out once per variable."""
        cache = self.__dict__.setdefault("_layouts", {})
        if py not in cache:
            cache[py] = layout_of(self.plan.variables[py])
        return cache[py]

    def _dim_coord(self, dim: str):
        """A subscript dim's coordinate and index, made once (a string index costs
        xarray ~70 us each time: it tries it as a cftime index)."""
        cache = self.__dict__.setdefault("_dim_coords", {})
        if dim not in cache:
            cache[dim] = index_coordinate(dim, np.asarray(self.plan.dims[dim]))
        return cache[dim]
