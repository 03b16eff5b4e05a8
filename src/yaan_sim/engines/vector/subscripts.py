"""Subscript ranges of a model: their elements, root ranges, copies and mappings.

A variable's dims are the lower-cased names of its subscripts' *root* ranges (a
sub-range such as ``East`` belongs to ``Park``); its coords are the elements it is
defined on, in the root range's order.
"""

from __future__ import annotations

from yaan_sim.engines.vector.plan import unsupported
from yaan_sim.errors import ModelError


class Subscripts:
    """Subscript ranges, their root ranges and element lookup."""

    def __init__(self, abstract_ranges):
        self.ranges: dict[str, list[str]] = {}  # range name (as written) -> elements
        self._by_key: dict[str, str] = {}  # lower-case name -> range name
        self._maps: dict[str, list] = {}  # range -> ranges it maps to (positionally)
        pending = list(abstract_ranges)
        for _ in range(len(pending) + 1):
            left = []
            for rng in pending:
                subs = rng.subscripts
                if isinstance(subs, str):  # copy of another range
                    src = self._by_key.get(subs.strip().lower())
                    if src is None:
                        left.append(rng)
                        continue
                    subs = list(self.ranges[src])
                elif not isinstance(subs, list):
                    raise unsupported(rng.name, "a subscript range read from a file")
                else:  # a range listed among the elements stands for its elements
                    names = {r.name.strip().lower() for r in abstract_ranges}
                    if any(
                        str(x).strip().lower() in names
                        and str(x).strip().lower() not in self._by_key
                        for x in subs
                    ):
                        left.append(rng)
                        continue
                    expanded = []
                    for x in subs:
                        key = str(x).strip().lower()
                        if key in self._by_key and key != rng.name.strip().lower():
                            expanded.extend(self.ranges[self._by_key[key]])
                        else:
                            expanded.append(str(x))
                    subs = expanded
                self.ranges[rng.name] = [str(s) for s in subs]
                self._by_key[rng.name.strip().lower()] = rng.name
                self._maps[rng.name] = [m for m in (rng.mapping or []) if isinstance(m, str)]
            if not left:
                break
            pending = left
        else:  # pragma: no cover
            raise ModelError(f"cannot resolve the subscript ranges {[r.name for r in pending]}")
        # root: the first-defined range that strictly contains this one and is itself
        # contained in no other range; a range with no strict superset is its own root.
        sets = {name: set(el) for name, el in self.ranges.items()}
        self.root: dict[str, str] = {}
        for name, elems in sets.items():
            supers = [o for o, oe in sets.items() if elems < oe]
            maximal = [o for o in supers if not any(sets[o] < sets[p] for p in supers)]
            self.root[name] = maximal[0] if maximal else name
        self.roots = [n for n in self.ranges if self.root[n] == n]
        self._elem_roots: dict[str, list[str]] = {}
        for root in self.roots:
            for el in self.ranges[root]:
                self._elem_roots.setdefault(el.lower(), []).append(root)
        self._elem_case: dict[str, str] = {}
        for members in self.ranges.values():
            for el in members:
                self._elem_case.setdefault(el.lower(), el)

    def mapped(self, a: str, b: str) -> bool:
        ka = {self.range_name(m) for m in self._maps.get(a, [])}
        kb = {self.range_name(m) for m in self._maps.get(b, [])}
        return b in ka or a in kb

    def value_range(self, name: str) -> str:
        """The range whose order gives the value of a range or element used as a number:
        the first-defined range containing it with no strict superset (as PySD)."""
        elems = set(self.ranges[name]) if name in self.ranges else {name}
        for rng, el in self.ranges.items():
            if elems <= set(el) and not any(set(el) < set(o) for o in self.ranges.values()):
                return rng
        return name

    def range_name(self, text: str) -> str | None:
        return self._by_key.get(text.strip().lower())

    def element(self, text: str) -> str | None:
        return self._elem_case.get(text.strip().lower())

    def element_roots(self, element: str) -> list[str]:
        return self._elem_roots.get(element.lower(), [])

    def dim_name(self, root: str) -> str:
        return root.lower()

    def order(self, root: str, elements) -> list[str]:
        wanted = set(elements)
        return [e for e in self.ranges[root] if e in wanted]
