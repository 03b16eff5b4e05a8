"""Values worked out once per loaded model, for the paths every run takes.

A model's metadata does not change once it is loaded, so what is read from it alone (each
variable's attributes, the stocks' minimums, the cells of a set of outputs) is worked out
on the first run and kept beside the model object, for the last few models used.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

#: entries kept (model, what) -> (model, value): the model itself is kept with its value,
#: so that a new model given the id of a collected one is never taken for it
_MEMO: dict[tuple[int, Hashable], tuple[object, object]] = {}
KEPT = 64


def per_model(model: object, what: Hashable, make: Callable[[], T]) -> T:
    """``make()``, worked out once for ``model`` and ``what`` (the oldest entry goes when
    :data:`KEPT` are held)."""
    key = (id(model), what)
    kept = _MEMO.get(key)
    if kept is not None and kept[0] is model:
        return kept[1]  # type: ignore[return-value]
    value = make()
    if len(_MEMO) >= KEPT:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = (model, value)
    return value
