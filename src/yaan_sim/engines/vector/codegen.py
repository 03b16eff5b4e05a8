"""Write and ``compile()`` the simulation function for one plan and one kind of run.

The function is specialised on which variables are overridden (by a constant or by a time
schedule) and which are returned: those change the dependency graph, so the order of
evaluation, what is constant and what must be computed at each step. The per-sample
shapes are left to numpy broadcasting, so one function serves every ``samples``.

Order of work, as in PySD's Euler integration:

1. initialisation at the model's INITIAL TIME: every needed variable and the initial
   value of every stateful object (INTEG, SMOOTH, DELAY, INITIAL), in dependency order;
2. for each integration time ``t_k``: the variables (all returned ones where ``t_k`` is
   saved, else only what the derivatives need), then every derivative, then
   ``state += ddt * dt`` for all states at once;
3. the variables at the final time, if it is saved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yaan_sim.engines.vector import functions as _f
from yaan_sim.engines.vector.compile import Plan, Variable
from yaan_sim.errors import ModelError


@dataclass
class Program:
    func: object
    source: str
    dynamic_outputs: list  # py names returned per saved time
    constant_outputs: list  # py names returned once


def _var_deps(var: Variable, overrides: dict, init: bool = False) -> frozenset:
    if var.py_name in overrides or var.literal:
        return frozenset()
    deps = var.init_deps() if init else var.deps()
    return frozenset(d for d in deps if d.startswith(("v:", "s:")))


def _toposort(nodes, deps_of, what: str) -> list:
    order, state = [], {}
    for root in nodes:
        if root in state:
            continue
        stack = [(root, iter(sorted(deps_of(root))))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            for dep in it:
                if dep not in nodes:
                    continue
                if state.get(dep) == 1:
                    raise ModelError(f"circular dependency ({what}) through {node} and {dep}")
                if dep not in state:
                    state[dep] = 1
                    stack.append((dep, iter(sorted(deps_of(dep)))))
                    break
            else:
                stack.pop()
                state[node] = 2
                order.append(node)
    return order


def _var_code(var: Variable, overrides: dict, phase: str) -> list[str]:
    py = var.py_name
    kind = overrides.get(py)
    if kind == "const" or (kind is None and var.literal):
        return [f"v_{py} = P[{py!r}]"]
    if kind == "sched":
        return [f"v_{py} = SCI[{py!r}]" if phase == "init" else f"v_{py} = SC[{py!r}][k]"]
    shape = var.shape
    comps = var.components
    full = [list(range(n)) for n in shape]
    if len(comps) == 1 and comps[0].keep is None and [list(i) for i in comps[0].index] == full:
        e = comps[0].expr
        if e.scalar or e.present != frozenset(range(len(shape))):
            return [f"v_{py} = _f.bc({e.code}, {shape!r})"]
        return [f"v_{py} = {e.code}"]
    lines, names = [], []
    for i, c in enumerate(comps):
        name = f"_c{i}"
        names.append(name)
        if c.expr is not None:
            lines.append(f"{name} = {c.expr.code}")
        else:
            lines.append(f"{name} = L[{py!r}][{i}]")
    lead = "max(" + ", ".join(f"_f.lead({n})" for n in names) + ", 1)"
    lines.append(f"v_{py} = np.empty(({lead},) + {shape!r})")
    for i, c in enumerate(comps):
        idx = [list(x) for x in c.index]
        if c.keep is not None:
            ctx_shape = tuple(len(x) for x in idx)
            lines.append(
                f"v_{py}[(slice(None),) + IX[{py!r}][{i}][0]] = "
                f"_f.bc(_c{i}, {ctx_shape!r})[(slice(None),) + IX[{py!r}][{i}][1]]"
            )
        elif all(all(b - a == 1 for a, b in zip(x, x[1:])) for x in idx):
            sl = ", ".join(f"{x[0]}:{x[-1] + 1}" for x in idx)
            lines.append(f"v_{py}[:, {sl}] = _c{i}")
        else:
            lines.append(f"v_{py}[(slice(None),) + IX[{py!r}][{i}]] = _c{i}")
    return lines


def build_program(plan: Plan, overrides: dict, returns: list) -> Program:
    """``overrides``: py_name -> 'const' | 'sched'; ``returns``: py names to save."""
    variables = plan.variables
    statefuls = {st.key: st for st in plan.statefuls}

    def run_deps(node):
        if node.startswith("v:"):
            return _var_deps(variables[node[2:]], overrides)
        return statefuls[node].step_deps() & _live(statefuls[node].step_deps())

    def _live(deps):
        return frozenset(d for d in deps if d.startswith(("v:", "s:")))

    def init_deps(node):
        if node.startswith("v:"):
            return _var_deps(variables[node[2:]], overrides, init=True)
        return _live(statefuls[node].init_deps())

    # what is dynamic (changes with time)
    dyn_memo: dict = {}

    def dynamic(node) -> bool:
        if node in dyn_memo:
            return dyn_memo[node]
        dyn_memo[node] = False
        if node.startswith("s:"):
            out = statefuls[node].dynamic
        else:
            var = variables[node[2:]]
            kind = overrides.get(var.py_name)
            if kind == "sched":
                out = True
            elif kind == "const" or var.literal:
                out = False
            else:
                out = "time" in var.deps() or any(dynamic(d) for d in _var_deps(var, overrides))
        dyn_memo[node] = out
        return out

    # closure of what the run needs
    def closure(starts, deps_of):
        seen, stack = set(), list(starts)
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(deps_of(n))
        return seen

    ret_keys = [f"v:{py}" for py in returns]

    def need_deps(node):
        if node.startswith("v:"):
            return _var_deps(variables[node[2:]], overrides)
        return _live(statefuls[node].step_deps())

    need = closure(ret_keys, need_deps)
    live_states = [k for k in statefuls if k in need and statefuls[k].dynamic]
    # the whole chain: every stateful reached also needs what its derivative needs
    ddt_need = closure([d for s in live_states for d in run_deps(s)], need_deps)
    save_need = need | ddt_need
    need_init = closure(save_need, init_deps)
    live_states = [k for k in statefuls if k in save_need and statefuls[k].dynamic]

    init_order = _toposort(sorted(need_init), init_deps, "initialisation")
    var_nodes = sorted(n for n in save_need if n.startswith("v:"))
    run_order = _toposort(var_nodes, lambda n: run_deps(n), "equations")
    const_order = [n for n in run_order if not dynamic(n)]
    dyn_order = [n for n in run_order if dynamic(n)]
    ddt_order = [n for n in dyn_order if n in ddt_need]

    dyn_out = [py for py in returns if dynamic(f"v:{py}")]
    const_out = [py for py in returns if not dynamic(f"v:{py}")]

    L = []
    w = L.append
    w("def _sim(P, SC, SCI, times, flags, t_init, ti_init, ti_run, _tf, _dt, _sp, recompute):")
    for v in variables.values():
        if v.kind == "lookup":
            w(f"    X_{v.py_name}, T_{v.py_name} = P[{v.py_name!r}]")
    w("    _ip = True  # initialising (ACTIVE INITIAL)")
    w("    _ti = ti_init")
    w("    t = t_init")
    for node in init_order:
        if node.startswith("v:"):
            for line in _var_code(variables[node[2:]], overrides, "init"):
                w("    " + line)
        else:
            for line in statefuls[node].init_code():
                w("    " + line)
    w("    _ip = False")
    w("    _ti = ti_run")
    w("    t = times[0]")
    consts_to_redo = [
        n for n in const_order if not (overrides.get(n[2:]) == "const" or variables[n[2:]].literal)
    ]
    phased = any(variables[n[2:]].phased for n in const_order)
    if consts_to_redo:
        # after initialisation a constant may differ: INITIAL TIME is the start, and
        # ACTIVE INITIAL switches to its first argument
        w("    if True:" if phased else "    if recompute:")
        for node in consts_to_redo:
            for line in _var_code(variables[node[2:]], overrides, "run"):
                w("        " + line)
    w("    O = {}")
    for py in const_out:
        w(f"    O[{py!r}] = v_{py}")
    for py in dyn_out:
        w(f"    o_{py} = []")
    w("    K = len(times) - 1")

    def step_body(indent: str, with_ddt: bool):
        w(indent + "if flags[k]:")
        w(indent + "    pass")
        for node in dyn_order:
            for line in _var_code(variables[node[2:]], overrides, "run"):
                w(indent + "    " + line)
        for py in dyn_out:
            w(indent + f"    o_{py}.append(v_{py})")
        if with_ddt:
            w(indent + "else:")
            if ddt_order:
                for node in ddt_order:
                    for line in _var_code(variables[node[2:]], overrides, "run"):
                        w(indent + "    " + line)
            else:
                w(indent + "    pass")

    w("    for k in range(K):")
    w("        t = times[k]")
    step_body("        ", True)
    for key in live_states:
        for line in statefuls[key].ddt_code():
            w("        " + line)
    for key in live_states:
        for line in statefuls[key].update_code():
            w("        " + line)
    w("    k = K")
    w("    t = times[K]")
    step_body("    ", False)
    outs = ", ".join(f"{py!r}: o_{py}" for py in dyn_out)
    w(f"    return O, {{{outs}}}")
    source = "\n".join(L) + "\n"

    glb = {"np": np, "_f": _f}
    for i, c in enumerate(plan.constants):
        glb[f"K{i}"] = c
    glb["L"] = {
        v.py_name: [None if c.literal is None else c.literal[None, ...] for c in v.components]
        for v in variables.values()
        if v.kind == "aux" and not v.literal
    }
    glb["IX"] = {
        v.py_name: [
            c.keep if c.keep is not None else np.ix_(*[np.asarray(x) for x in c.index])
            for c in v.components
        ]
        for v in variables.values()
        if v.kind == "aux" and v.roots and not v.literal
    }
    code = compile(source, f"<yaan_sim.engines.vector:{plan.path.name}>", "exec")
    exec(code, glb)
    return Program(glb["_sim"], source, dyn_out, const_out)
