"""References in equations: a variable, range or element on the right-hand side as source.

A reference's subscripts bind to the context axes of the equation (the left-hand side's
subscripts, and the ``range!`` axes of an enclosing SUM/PROD/VMIN/VMAX): through a
declared mapping (element k to element k), else the same range family, else a range with
the same elements. The referenced array is then indexed, transposed and given size-1
axes so that it broadcasts onto the context.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from yaan_sim.engines.vector.plan import CONTROL_NAMES, TIME_NAME, Expr, Variable, value_name
from yaan_sim.engines.vector.subscripts import Subscripts
from yaan_sim.errors import ModelError, UnsupportedConstructError


def _contiguous(idx: list) -> bool:
    return all(b - a == 1 for a, b in itertools.pairwise(idx))


class References:
    """Mixin of :class:`yaan_sim.engines.vector.compiler.Compiler`: references.

    Uses the compiler's ``subs``, ``clean_to_py``, ``variables``, ``const``, ``fail`` and
    ``_current``.
    """

    subs: Subscripts
    clean_to_py: dict[str, str]
    variables: dict[str, Variable]
    _current: str
    const: Callable[[Any], str]
    fail: Callable[[str], UnsupportedConstructError]

    def _time_like(self, code) -> Expr:
        return Expr(code, frozenset(), frozenset({"time"}), scalar=True)

    def reference(self, node, ctx) -> Expr:
        ref = node.reference
        if ref == "time":
            return self._time_like(TIME_NAME)
        py = self.clean_to_py.get(ref)
        if py is None:
            rng = self.subs.range_name(ref.replace("_", " ")) or self.subs.range_name(ref)
            if rng is not None:
                return self.range_value(rng, ctx)
            elem = self.subs.element(ref.replace("_", " ")) or self.subs.element(ref)
            if elem is not None:  # an element used as a value: its position
                elems = self.subs.ranges[self.subs.value_range(elem)]
                return Expr(repr(float(elems.index(elem) + 1)), frozenset(), frozenset(), True)
            raise ModelError(f"{self._current}: unknown variable '{ref}'")
        if py in CONTROL_NAMES:
            return Expr(CONTROL_NAMES[py], frozenset(), frozenset({"control"}), scalar=True)
        var = self.variables[py]
        if var.kind == "lookup":
            raise self.fail(f"the lookup '{var.name}' used without an argument")
        code, present = self._align(value_name(py), var, node.subscripts, ctx, lead=1)
        return Expr(code, present, frozenset({var.key}))

    def _align(self, base: str, var: Variable, subscripts, ctx, lead: int):
        """Source that takes ``var``'s array (``lead`` leading axes) onto the context."""
        subs = list(subscripts.subscripts) if subscripts is not None else []
        nd = len(var.roots)
        if len(subs) != nd:
            if not subs and nd:
                raise self.fail(f"a reference to the subscripted '{var.name}' without subscripts")
            raise ModelError(
                f"{self._current}: '{var.name}' takes {nd} subscripts, {len(subs)} given"
            )
        index = [":"] * lead
        takes = []  # (axis position in the indexed array, index constant)
        bound: list[int] = []  # context axis for each kept axis, in order
        for i, s in enumerate(subs):
            text = s.strip()
            bang = text.endswith("!")
            name = text.rstrip("!").strip()
            rng = self.subs.range_name(name)
            coords = var.coords[i]
            if rng is not None:
                j, source = self._bind_map(rng, bang, ctx)
                wanted = list(ctx[j].elements)
                if source is not None:  # a declared mapping: element k <-> element k
                    src, dst = self.subs.ranges[source], self.subs.ranges[rng]
                    if len(src) != len(dst):
                        raise self.fail("subscript mapping between ranges of different sizes")
                    wanted = [dst[src.index(e)] for e in wanted]
                try:
                    idx = [coords.index(e) for e in wanted]
                except ValueError:
                    what = (
                        f"subscript mapping ('{name}' for a '{var.roots[i]}' dim)"
                        if self.subs.root[rng] != var.roots[i]
                        else f"a reference to '{var.name}[{text}]' outside the elements it is "
                        "defined on"
                    )
                    raise self.fail(what) from None
                if idx == list(range(len(coords))):
                    index.append(":")
                elif _contiguous(idx):
                    index.append(f"{idx[0]}:{idx[-1] + 1}")
                else:
                    index.append(":")
                    takes.append((lead + len(bound), np.asarray(idx)))
                bound.append(j)
                continue
            elem = self.subs.element(name)
            if elem is None or bang:
                raise ModelError(f"{self._current}: unknown subscript '{text}'")
            if elem not in coords:
                raise self.fail(f"a reference to '{var.name}[{elem}]' which is not defined")
            index.append(str(coords.index(elem)))
        code = base
        if any(x != ":" for x in index):
            code = f"{code}[{', '.join(index)}]"
        for pos, positions in takes:
            code = f"{code}.take({self.const(positions)}, axis={pos})"
        if len(set(bound)) != len(bound):
            raise self.fail(f"the same dimension twice in a reference to '{var.name}'")
        order = sorted(range(len(bound)), key=lambda k: bound[k])
        if order != list(range(len(bound))):
            perm = tuple(range(lead)) + tuple(lead + k for k in order)
            code = f"{code}.transpose({perm})"
        sorted_bound = sorted(bound)
        if len(ctx) and sorted_bound != list(range(len(ctx))):
            ins = [":"] * lead + [":" if j in bound else "None" for j in range(len(ctx))]
            code = f"{code}[{', '.join(ins)}]"
            # the context's shape, size 1 where a reduction's axis is missing: _f.ctx marks
            # the view (the identity) for the optimiser, which writes one computed before
            # the time loop out to that shape (.optimise._materialise). Along the
            # equation's own dims the result is broadcast so anyway: the same values
            spread = [j not in bound and not ctx[j].reduction for j in range(len(ctx))]
            if lead == 1 and any(spread):
                full = tuple(
                    1 if j not in bound and not spread[j] else len(ax.elements)
                    for j, ax in enumerate(ctx)
                )
                code = f"_f.ctx({code}, {full!r})"
        return code, frozenset(bound)

    def range_value(self, rng: str, ctx) -> Expr:
        """A subscript range used as a value: the 1-based position of each element in
        its full range (as PySD)."""
        j = self._bind(rng, False, ctx)
        elems = self.subs.ranges[self.subs.value_range(rng)]  # the position in the full range
        try:
            values = np.asarray([elems.index(e) + 1 for e in ctx[j].elements], dtype=float)
        except ValueError:
            raise self.fail(f"the range '{rng}' used as a value outside its elements") from None
        shape = [1] * (1 + len(ctx))
        shape[1 + j] = len(values)
        return Expr(self.const(values.reshape(shape)), frozenset({j}), frozenset())

    def _bind_map(self, rng: str, bang: bool, ctx):
        """The context axis a reference's range binds to -> (axis, mapped-from range).

        A declared mapping between a left-hand range and this one (``DimB: b1, b2 ->
        DimA``) maps elements by position; otherwise the same range family binds by
        element; then a left-hand range with the same elements (a copy, or an equal
        range)."""
        named = [  # (axis, name written, range) of the left-hand side's ranges
            (j, ax.name, name)
            for j, ax in enumerate(ctx)
            if not ax.reduction and (name := self.subs.range_name(ax.name)) is not None
        ]
        if not bang and not any(written == rng for _, written, _ in named):
            mapped = [(j, name) for j, _, name in named if self.subs.mapped(name, rng)]
            if len(mapped) == 1:
                return mapped[0]
        try:
            return self._bind(rng, bang, ctx), None
        except UnsupportedConstructError as first:
            if bang:
                raise
            error = first
        elems = set(self.subs.ranges[rng])
        same = [j for j, _, name in named if set(self.subs.ranges[name]) == elems]
        if len(same) == 1:
            return same[0], None
        raise error

    def _bind(self, rng: str, bang: bool, ctx) -> int:
        root = self.subs.root[rng]
        if bang:
            for j, ax in enumerate(ctx):
                if ax.reduction and ax.name == rng:
                    return j
            raise self.fail(f"'{rng}!' outside of a SUM/PROD/VMIN/VMAX")
        cands = [j for j, ax in enumerate(ctx) if not ax.reduction and ax.root == root]
        exact = [j for j in cands if ctx[j].name == rng]
        if exact:
            return exact[0]
        if len(cands) == 1:
            return cands[0]
        if not cands:
            raise self.fail(f"the subscript '{rng}' which is not on the left-hand side")
        raise self.fail(f"an ambiguous subscript '{rng}'")
