"""The compiled plan: what the compiler makes of the parsed .mdl, and what code generators read.

A *plan* is a set of nodes: model variables (:class:`Variable`, each made of components
defined on parts of its subscripts) and the stateful objects hidden in their equations
(:mod:`yaan_sim.engines.vector.statefuls`). Every equation is held as an :class:`Expr`:
a line of Python source that computes it from the nodes it depends on, with numpy names
(``np``, and ``_f`` for :mod:`yaan_sim.engines.vector.functions`) that a backend binds
to its own array library.

Array layout: a value is ``(sample, *axes)``, sample of size 1 when shared by all
samples. Inside an equation the axes are the *context*: the subscripts of the left-hand
side (then, inside SUM/PROD/VMIN/VMAX, one axis per ``range!``); every sub-expression is
either a scalar or an array of rank ``1 + len(context)`` with size-1 axes where it does
not vary, so broadcasting does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from yaan_sim.errors import UnsupportedConstructError

if TYPE_CHECKING:
    from yaan_sim.engines.vector.subscripts import Subscripts

#: the four control variables and the names the generated code gives them
CONTROL_NAMES = {
    "initial_time": "_ti",
    "final_time": "_tf",
    "time_step": "_dt",
    "saveper": "_sp",
}

#: the names equation code reads besides the nodes' values: the time, and the flag that is
#: true while initialising (ACTIVE INITIAL). The compiler writes them and the code
#: generators and the loop analysis bind them, all from here.
TIME_NAME = "t"
INITIALISING_NAME = "_ip"


def value_name(py_name: str) -> str:
    """The name equation code gives a variable's value."""
    return f"v_{py_name}"


def lookup_names(py_name: str) -> tuple[str, str]:
    """The names equation code gives a lookup's x values and its table."""
    return f"X_{py_name}", f"T_{py_name}"


def constant_name(index: int) -> str:
    """The name equation code gives the plan's constant array ``constants[index]``."""
    return f"K{index}"


def unsupported(variable: str, construct: str) -> UnsupportedConstructError:
    return UnsupportedConstructError(
        f"{variable}: {construct} is not supported by the vector engine; run with engine='pysd'"
    )


def clean_name(name: str) -> str:
    """PySD's case- and space-insensitive key of a name (the AST's reference form)."""
    return name.strip().lower().replace(" ", "_")


@dataclass
class Axis:
    """One axis of an equation's context."""

    root: str
    elements: tuple
    name: str  # the range (or element) written on the left-hand side, or "R!" for bangs
    reduction: bool = False


@dataclass
class Expr:
    """An expression compiled to a line of source, with what it depends on."""

    code: str
    present: frozenset  # context axes along which the value has its full extent
    deps: frozenset  # node keys: "v:<py_name>", "s:<id>", "time"
    scalar: bool = False  # a Python/numpy scalar, not an array of full rank
    ideps: frozenset | None = None  # deps at initialisation, where they differ
    phased: bool = False  # holds ACTIVE INITIAL: a value at initialisation, another after

    @property
    def init_deps(self) -> frozenset:
        return self.deps if self.ideps is None else self.ideps

    def wrap(self, code: str, present=None, deps=None, scalar=None) -> Expr:
        """A new expression around this one, keeping its initialisation dependencies."""
        extra = (deps or frozenset()) - self.deps
        return Expr(
            code,
            self.present if present is None else present,
            self.deps | extra,
            self.scalar if scalar is None else scalar,
            None if self.ideps is None else self.ideps | extra,
            self.phased,
        )


@dataclass
class Component:
    """One definition of a variable: its equation (or numbers) on a part of its cells."""

    ctx: list  # list[Axis]
    index: tuple  # per dim: list of positions in the variable's coords
    keep: tuple | None = None  # with :EXCEPT:: (cells in the variable, cells in ctx)
    expr: Expr | None = None
    literal: np.ndarray | None = None


@dataclass
class Variable:
    """A model variable: its dims and coords, and its components (or lookup table)."""

    name: str  # Vensim real name
    py_name: str
    kind: str  # aux | lookup | control
    units: str
    roots: list  # root range names, one per dim
    coords: list  # element lists, one per dim
    dims: list = field(default_factory=list)  # dataset dim names
    full: list = field(default_factory=list)  # dataset coords per dim (coords padded)
    components: list = field(default_factory=list)
    documentation: str = ""
    # lookups
    xp: np.ndarray | None = None
    table: np.ndarray | None = None  # (K, 1, *dims)
    # while compiling: per component (context axes, index lists, :EXCEPT: cells)
    indexes: list = field(default_factory=list, repr=False)

    @property
    def key(self) -> str:
        return f"v:{self.py_name}"

    @property
    def shape(self) -> tuple:
        return tuple(len(c) for c in self.coords)

    @property
    def literal(self) -> bool:
        return all(c.literal is not None for c in self.components)

    def deps(self) -> frozenset:
        out = set()
        for c in self.components:
            if c.expr is not None:
                out |= c.expr.deps
        return frozenset(out)

    def init_deps(self) -> frozenset:
        out = set()
        for c in self.components:
            if c.expr is not None:
                out |= c.expr.init_deps
        return frozenset(out)

    @property
    def phased(self) -> bool:
        return any(c.expr is not None and c.expr.phased for c in self.components)


@dataclass
class Plan:
    """The compiled model: every variable and stateful object, ready for a code generator."""

    path: Path
    subscripts: Subscripts
    variables: dict  # py_name -> Variable (model order)
    statefuls: list
    constants: list  # module-level constant arrays referenced as K<i>
    controls: dict  # control py name -> AST
    by_name: dict  # lookup keys (real, clean, py) -> py_name
    dims: dict  # dim name -> root elements (for every root range used)
    translator_warnings: list = field(default_factory=list)

    def lookup(self, name: str) -> Variable:
        key = self.by_name.get(name) or self.by_name.get(clean_name(name))
        if key is None:
            raise KeyError(name)
        return self.variables[key]
