"""What each variable is defined on: dims, coords, the cells of each definition, lookup tables.

A variable's dims are the lower-cased names of its subscripts' root ranges; a second
subscript of the same range family (``x[dim, subdim]``) is named after the range written
there. Its coords are the elements it is defined on, in the root range's order. Each
component (one definition, e.g. ``x[East]= ...``) covers a block of cells, less its
``:EXCEPT:`` cells; definitions must not overlap and must cover every cell.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from yaan_sim.engines.vector.plan import CONTROL_NAMES, Axis, Variable, clean_name, unsupported
from yaan_sim.engines.vector.subscripts import Subscripts
from yaan_sim.errors import ModelError


class Declarations:
    """Mixin of :class:`yaan_sim.engines.vector.compiler.Compiler`: declares variables.

    Uses the compiler's ``am``/``ae`` (PySD's abstract model and expression modules),
    ``subs``, ``namespace``, ``variables``, ``controls``, ``by_name`` and ``_current``.
    """

    am: Any  # pysd.translators.structures.abstract_model
    ae: Any  # pysd.translators.structures.abstract_expressions
    namespace: Any  # PySD's NamespaceManager
    subs: Subscripts
    variables: dict[str, Variable]
    controls: dict[str, Any]
    by_name: dict[str, str]
    _current: str
    _dims_of: dict[str, tuple[list, list]]

    def _declare(self, el):
        py = self.namespace.namespace[el.name]
        comps = el.components
        self._current = el.name
        if isinstance(el, self.am.AbstractControlElement) or py in CONTROL_NAMES:
            if py not in CONTROL_NAMES:
                raise unsupported(el.name, "a control variable other than the four standard ones")
            if len(comps) != 1 or comps[0].subscripts[0]:
                raise unsupported(el.name, "a subscripted control variable")
            self.controls[py] = comps[0].ast
            kind = "control"
        elif all(isinstance(c, self.am.AbstractLookup) for c in comps):
            kind = "lookup"
        elif any(isinstance(c, (self.am.AbstractLookup, self.am.AbstractData)) for c in comps):
            raise unsupported(el.name, "a data variable or a mix of lookup and equation")
        else:
            kind = "aux"
        roots, coords, indexes = self._variable_dims(el)
        var = Variable(
            name=el.name,
            py_name=py,
            kind=kind,
            units=el.units or "",
            roots=roots,
            coords=coords,
            documentation=getattr(el, "documentation", "") or "",
        )
        var.dims, var.full = self._dims_of[el.name]
        var.indexes = indexes
        self.variables[py] = var
        for key in (el.name, clean_name(el.name), py):
            self.by_name.setdefault(key, py)
        if kind == "lookup":
            self._build_lookup(el, var)

    def _variable_dims(self, el):
        comps = el.components
        ranks = {len(c.subscripts[0]) for c in comps}
        if len(ranks) != 1:
            raise unsupported(el.name, "definitions with different numbers of subscripts")
        nd = ranks.pop()
        # resolve each written subscript to (root, elements, written name)
        resolved = []
        for c in comps:
            row: list[tuple[str | None, list[str], str]] = []
            for s in c.subscripts[0]:
                rng = self.subs.range_name(s)
                if rng is not None:
                    row.append((self.subs.root[rng], list(self.subs.ranges[rng]), rng))
                    continue
                elem = self.subs.element(s)
                if elem is None:
                    raise ModelError(f"{el.name}: unknown subscript '{s}'")
                row.append((None, [elem], elem))
            resolved.append(row)
        roots: list[str] = []
        for i in range(nd):
            cands = {r0 for r in resolved if (r0 := r[i][0]) is not None}
            if len(cands) > 1:
                raise unsupported(
                    el.name, "definitions over different subscript ranges in one position"
                )
            if cands:
                root = cands.pop()
            else:
                options = self.subs.element_roots(resolved[0][i][1][0])
                if not options:
                    raise ModelError(f"{el.name}: element '{resolved[0][i][1][0]}' has no range")
                root = options[0]
            roots.append(root)
            for row in resolved:
                if row[i][0] is None:
                    if root not in self.subs.element_roots(row[i][1][0]):
                        raise unsupported(el.name, "elements of different ranges in one position")
                    row[i] = (root, row[i][1], row[i][2])
        coords = []
        for i in range(nd):
            members: set[str] = set()
            for row in resolved:
                members.update(row[i][1])
            coords.append(self.subs.order(roots[i], members))
        indexes = []
        seen: set[tuple] = set()
        for c, row in zip(comps, resolved, strict=False):
            ctx = [Axis(str(r[0]), tuple(r[1]), r[2]) for r in row]  # every root now known
            idx = tuple([coords[i].index(e) for e in r[1]] for i, r in enumerate(row))
            cells = set(np.ndindex(*[len(x) for x in idx])) if idx else {()}
            keep: tuple | None = None
            if c.subscripts[1]:  # :EXCEPT: cells left out of this definition
                if isinstance(c, self.am.AbstractLookup):
                    raise unsupported(el.name, ":EXCEPT: on a lookup")
                dropped = set()
                for entry in c.subscripts[1]:
                    pos = []
                    for i, sub in enumerate(entry):
                        elems = self._expand(el.name, sub)
                        pos.append([j for j, e in enumerate(ctx[i].elements) if e in elems])
                    dropped |= set(itertools.product(*pos))
                kept = sorted(cells - dropped)
                if len(kept) != len(cells):
                    keep = tuple(kept)
                    cells = set(kept)
            flat = {tuple(idx[i][j] for i, j in enumerate(cell)) for cell in cells}
            if flat & seen:
                raise unsupported(el.name, "overlapping definitions of the same element")
            seen |= flat
            if keep is not None:
                ctx_cells = tuple(np.asarray(a) for a in zip(*keep, strict=False))
                var_cells = tuple(
                    np.asarray([idx[i][j] for j in ctx_cells[i]]) for i in range(len(idx))
                )
                keep = (var_cells, ctx_cells)
            indexes.append((ctx, idx, keep))
        # dataset dims: the root range's name; a second subscript of the same range
        # family (x[dim, subdim]) is named after the range written there
        dims, full = [], []
        for i, root in enumerate(roots):
            name = self.subs.dim_name(root)
            if name in dims:
                written = resolved[0][i][2]
                name = written.lower() if self.subs.range_name(written) else name
                k = 2
                base = name
                while name in dims:
                    name, k = f"{base}_{k}", k + 1
                full.append(list(coords[i]))
            else:
                full.append(list(self.subs.ranges[root]))
            dims.append(name)
        self._dims_of[el.name] = (dims, full)
        total = int(np.prod([len(c) for c in coords])) if coords else 1
        if (
            len(seen) != total
            and el.components
            and not isinstance(el.components[0], self.am.AbstractLookup)
        ):
            raise unsupported(el.name, "a definition that leaves some elements undefined")
        return roots, coords, indexes

    def _expand(self, owner: str, sub: str) -> set:
        rng = self.subs.range_name(sub)
        if rng is not None:
            return set(self.subs.ranges[rng])
        elem = self.subs.element(sub)
        if elem is None:
            raise ModelError(f"{owner}: unknown subscript '{sub}'")
        return {elem}

    def _build_lookup(self, el, var):
        xs, ys = [], []
        for comp in el.components:
            ast = comp.ast
            if not isinstance(ast, self.ae.LookupsStructure):
                raise unsupported(el.name, "a lookup read from a file (GET ... LOOKUPS)")
            if ast.type != "interpolate":
                raise unsupported(el.name, f"a lookup of type '{ast.type}'")
            xs.append(np.asarray(ast.x, dtype=float))
            ys.append(np.asarray(ast.y, dtype=float))
        xp = np.unique(np.concatenate(xs))
        table = np.full((len(xp), 1, *var.shape), np.nan)
        for (_ctx, idx, _keep), x, y in zip(var.indexes, xs, ys, strict=False):
            if len(x) != len(set(x)):
                raise ModelError(f"{el.name}: the lookup has repeated x values")
            col = np.interp(xp, x, y)  # PySD fills a common x the same way
            sl = (slice(None), slice(None), *tuple(np.ix_(*idx))) if idx else (slice(None), 0)
            if idx:
                table[sl] = col.reshape((len(xp), 1) + (1,) * len(idx))
            else:
                table[:, 0] = col
        var.xp = xp
        var.table = table
        var.components = []

    # ---- variables -------------------------------------------------------------------
