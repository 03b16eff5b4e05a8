"""Write the vector engine's run schedule as a JAX program: one ``jax.jit`` per kind of run.

The schedule (:func:`yaan_sim.engines.vector.codegen.schedule`) and every line of
equation source are the numpy engine's; only the frame differs:

* the names ``np`` and ``_f`` are bound to jax.numpy and :mod:`.functions`;
* variables defined piecewise are assembled with ``x.at[idx].set(y)``;
* the time loop is a ``lax.scan`` over the integration times, carrying the states and one
  output buffer per returned variable (``(saved times, samples, *dims)``); at each time the
  variables the derivatives need are computed, the others only where the time is saved
  (``lax.cond``), then every state is updated; the update after the last time is unused;
* the number of stages of each SMOOTH and DELAY fixes array shapes, so it is computed
  first, with numpy, by :attr:`JaxProgram.counts` (the same functions, warnings and
  refusals as the numpy engine), and the traced program is specialised on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from yaan_sim.engines.jax import functions as _jf
from yaan_sim.engines.vector import functions as _f
from yaan_sim.engines.vector.built import BuiltPrograms, fingerprint
from yaan_sim.engines.vector.codegen import Schedule, program_globals, schedule
from yaan_sim.engines.vector.plan import (
    INITIALISING_NAME,
    TIME_NAME,
    Plan,
    lookup_names,
    value_name,
)

_SIGNATURE = "P, SC, SCI, times, flags, slots, t_init, ti_init, ti_run, _tf, _dt, _sp"


@dataclass
class JaxProgram:
    """The JAX simulation program for one kind of run."""

    source: str  # the traced function (JAX)
    counts_source: str  # the stage counts (numpy)
    dynamic_outputs: list
    constant_outputs: list
    shapes: dict  # py name -> shape of a returned variable (without the sample axis)
    counts: Any = None  # (P, SCI, t_init, ti_init, _tf, _dt, _sp) -> {id: stages}
    _sim: Any = None
    _jitted: dict = field(default_factory=dict)

    def jitted(self, stages: dict, recompute: bool, samples: int, saved: int, every: bool):
        """The jitted function for these stage counts and static sizes (cached)."""
        key = (tuple(sorted(stages.items())), recompute, samples, saved, every)
        fn = self._jitted.get(key)
        if fn is None:
            static = dict(NS=stages, RECOMPUTE=recompute, C=samples, NSAVE=saved, EVERY=every)
            fn = self._jitted[key] = PackedCall(partial(self._sim, **static))
        return fn


class PackedCall:
    """A jitted simulation that returns every output raveled into one float64 array: one
    transfer to the host instead of one per variable (256 transfers took 6 ms of a 20 ms
    run). ``unpack`` gives back ``(constants, outputs)`` as views of its host copy."""

    def __init__(self, sim):
        self._sim = sim
        self._jit = jax.jit(self._packed)
        # by the shapes of the arguments (a retrace): the tree and (shape, dtype) of each
        # output; a constant's shape depends on whether its inputs are per sample
        self._layouts: dict = {}

    @staticmethod
    def _signature(args) -> tuple:
        leaves, tree = jax.tree_util.tree_flatten(args)
        return tree, tuple((np.shape(v), np.result_type(v)) for v in leaves)

    def _packed(self, *args):
        leaves, tree = jax.tree_util.tree_flatten(self._sim(*args))
        layout = [(jnp.shape(v), jnp.result_type(v)) for v in leaves]
        self._layouts[self._signature(args)] = (tree, layout)
        return jnp.concatenate([jnp.ravel(jnp.asarray(v, dtype=float)) for v in leaves])

    def __call__(self, *args):
        """The call, at once (asynchronous), and ``unpack(host copy)`` for its result."""
        result = self._jit(*args)
        tree, layout = self._layouts[self._signature(args)]

        def unpack(flat: np.ndarray) -> tuple[dict, dict]:
            leaves, at = [], 0
            for shape, dtype in layout:
                size = math.prod(shape)
                v = flat[at : at + size].reshape(shape)
                leaves.append(v if v.dtype == dtype else v.astype(dtype))
                at += size
            return jax.tree_util.tree_unflatten(tree, leaves)

        return result, unpack


def _indent(lines, depth: int) -> list[str]:
    return [" " * (4 * depth) + line for line in lines]


def _counts_source(sc: Schedule, counted: list) -> str:
    """numpy source of ``_counts``: the stage count of each stateful object in ``counted``,
    computing only what those counts need at initialisation."""
    starts = [d for key in counted for d in sc.stateful(key).count_deps()]
    needed = sc.closure([d for d in starts if d.startswith(("v:", "s:"))], sc.init_deps)
    lines = ["def _counts(P, SCI, t_init, ti_init, _tf, _dt, _sp):"]
    body = [
        *_lookups(sc.plan),
        f"{INITIALISING_NAME} = True",
        "_ti = ti_init",
        f"{TIME_NAME} = t_init",
    ]
    for key in sc.init_order:
        if key in needed:
            body += sc.init_lines(key)
    for key in counted:
        if key not in needed:
            st = sc.stateful(key)
            body.append(f"_n{st.id} = {st.count_code()}")
    ids = ", ".join(f"{sc.stateful(k).id}: _n{sc.stateful(k).id}" for k in counted)
    body.append(f"return {{{ids}}}")
    return "\n".join(lines + _indent(body, 1)) + "\n"


def _lookups(plan: Plan) -> list[str]:
    return [
        "{}, {} = P[{!r}]".format(*lookup_names(v.py_name), v.py_name)
        for v in plan.variables.values()
        if v.kind == "lookup"
    ]


def _sim_source(sc: Schedule, counted: list) -> str:
    states = [name for key in sc.live_states for name in sc.stateful(key).carried()]
    carry = "(" + "".join(f"{s}, " for s in states) + ")"
    saved_only = [n for n in sc.dyn_order if n not in sc.ddt_order]

    body = _lookups(sc.plan)
    body += [
        f"{INITIALISING_NAME} = True  # initialising (ACTIVE INITIAL)",
        "_ti = ti_init",
        f"{TIME_NAME} = t_init",
    ]
    for key in sc.init_order:
        if key in counted:
            body.append(f"_n{sc.stateful(key).id} = NS[{sc.stateful(key).id}]")
        body += sc.init_lines(key, inplace=False, count=False)
    body += [f"{INITIALISING_NAME} = False", "_ti = ti_run", f"{TIME_NAME} = times[0]"]
    if sc.redo:
        body.append("if True:" if sc.redo_always else "if RECOMPUTE:")
        for key in sc.redo:
            body += _indent(sc.var_lines(key, "run", inplace=False), 1)
    body.append("O = {" + ", ".join(f"{py!r}: {value_name(py)}" for py in sc.const_out) + "}")
    body.append(
        "B = {"
        + ", ".join(
            f"{py!r}: np.zeros((NSAVE, C, *{sc.plan.variables[py].shape!r}))" for py in sc.dyn_out
        )
        + "}"
    )
    body.append(f"{carry} = _f.widen({carry}, C)")

    step = [f"{carry}, B = carry", f"k, {TIME_NAME} = x"]
    for key in sc.ddt_order:
        step += sc.var_lines(key, "run", inplace=False)
    save = ["def _save(B):"]
    for key in saved_only:
        save += _indent(sc.var_lines(key, "run", inplace=False), 1)
    save.append(
        "    return {"
        + ", ".join(f"{py!r}: _f.put(B[{py!r}], slots[k], {value_name(py)})" for py in sc.dyn_out)
        + "}"
    )
    step += save
    step.append("B = _save(B) if EVERY else _f.cond(flags[k], _save, B)")
    for key in sc.live_states:
        step += sc.stateful(key).ddt_code()
    for key in sc.live_states:
        step += sc.stateful(key).update_code()
    step.append(f"return (_f.widen({carry}, C), B), None")

    body.append("def _step(carry, x):")
    body += _indent(step, 1)
    body.append(f"({carry}, B), _ = _lax.scan(_step, ({carry}, B), (np.arange(len(times)), times))")
    body.append("return O, B")
    head = f"def _sim({_SIGNATURE}, *, NS, RECOMPUTE, C, NSAVE, EVERY):"
    return "\n".join([head, *_indent(body, 1)]) + "\n"


#: programs built in this process, by fingerprint: a model loaded twice (a notebook
#: re-run, simulate after a direct JaxModel) reuses its compiled programs
PROGRAMS: BuiltPrograms[JaxProgram] = BuiltPrograms()


def build_jax_program(plan: Plan, overrides: dict, returns: list) -> JaxProgram:
    """The JAX program for ``overrides`` (py name -> kind) and ``returns`` (py names)."""
    sc = schedule(plan, overrides, returns)
    counted = [
        key for key in sc.init_order if key.startswith("s:") and sc.stateful(key).count_code()
    ]
    source, counts_source = _sim_source(sc, counted), _counts_source(sc, counted)
    glb = program_globals(plan)
    where = f"<yaan_sim.engines.jax:{plan.path.name}>"

    def build() -> JaxProgram:
        prog = JaxProgram(
            source=source,
            counts_source=counts_source,
            dynamic_outputs=sc.dyn_out,
            constant_outputs=sc.const_out,
            shapes={py: plan.variables[py].shape for py in returns},
        )
        counts_ns = {"np": np, "_f": _f, **glb}
        exec(compile(prog.counts_source, where, "exec"), counts_ns)
        sim_ns = {"np": _jf.np_namespace, "_f": _jf, "_lax": jax.lax, **glb}
        exec(compile(prog.source, where, "exec"), sim_ns)
        prog.counts = counts_ns["_counts"]
        prog._sim = sim_ns["_sim"]
        return prog

    return PROGRAMS.get(fingerprint(source, counts_source, where, constants=glb), build)
