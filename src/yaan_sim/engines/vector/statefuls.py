"""The stateful objects of a model (INTEG, SMOOTH, DELAY, ...): one class per kind.

As in PySD (``py_backend/statefuls.py``), each kind knows how it is initialised, what it
returns, its derivative and how it is updated; here each writes those as lines of
source for the generated simulation function, with PySD's arithmetic so that results
agree to rounding error. A stateful object of id ``i`` keeps its state in names the
generated code shares between its phases: ``s{i}_0`` (one array), ``S{i}`` (a list of
stage arrays: SMOOTH and DELAY), ``TAU{i}`` (DELAY N's stage delay times), ``pipe{i}``
(DELAY FIXED's queue), and ``_n{i}`` for the number of stages (:meth:`Stateful.count_code`,
known at initialisation, then fixed).

The source uses the names ``np`` and ``_f`` (:mod:`yaan_sim.engines.vector.functions`);
a backend binds them to its own array library, so one plan serves numpy and JAX.

Update rule: every kind but DELAY FIXED and SAMPLE IF TRUE is integrated by Euler
(``state + ddt * dt``); those two replace their state; INITIAL is never updated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from yaan_sim.engines.vector.plan import Expr

Arguments = tuple[tuple[str, str], ...]
Fields = tuple[str, ...]


def _union(exprs, init: bool) -> frozenset:
    out: set = set()
    for e in exprs:
        if e is not None:
            out |= e.init_deps if init else e.deps
    return frozenset(out)


@dataclass
class Stateful:
    """One stateful object hidden in an equation.

    ``arguments`` maps the fields to the attributes of PySD's abstract syntax structure,
    in the order they are compiled (nested stateful objects take their ids in that order).
    """

    id: int
    owner: str  # Vensim name of the variable, for messages
    shape: tuple  # the context's shape (without the sample axis)
    init: Expr = field(kw_only=True)

    #: Vensim functions this class implements, for messages
    functions: ClassVar[str] = ""
    #: field -> attribute of the abstract syntax structure, in compile order
    arguments: ClassVar[Arguments] = ()
    #: fields whose values the derivative and the update read
    step_fields: ClassVar[Fields] = ()
    #: fields whose values initialisation reads (besides what the stage count reads)
    init_fields: ClassVar[Fields] = ("init",)
    #: fields whose values the object's output reads at each step
    output_fields: ClassVar[Fields] = ()
    #: changes with time (INITIAL does not)
    dynamic: ClassVar[bool] = True

    @classmethod
    def build(cls, sid: int, owner: str, shape: tuple, node, compile_expr) -> Stateful:
        """The object for ``node``; ``compile_expr`` compiles one argument."""
        args = {name: compile_expr(getattr(node, attr)) for name, attr in cls.arguments}
        return cls(sid, owner, shape, **args)

    @classmethod
    def refusal(cls, node) -> str | None:
        """The construct this engine refuses in ``node``, if any."""
        return None

    # ---- names -----------------------------------------------------------------------
    @property
    def key(self) -> str:
        return f"s:{self.id}"

    @property
    def state(self) -> str:
        return f"s{self.id}_0"

    @property
    def ddt(self) -> str:
        return f"d{self.id}_0"

    def carried(self) -> list[str]:
        """Names of the state kept from one time step to the next."""
        return [self.state] if self.dynamic else []

    # ---- dependencies ----------------------------------------------------------------
    def init_deps(self) -> frozenset:
        return _union((getattr(self, f) for f in self.init_fields), True) | self.count_deps()

    def count_deps(self) -> frozenset:
        """What the number of stages depends on, at initialisation."""
        return frozenset()

    def step_deps(self) -> frozenset:
        return _union((getattr(self, f) for f in self.step_fields), False)

    def output_deps(self) -> frozenset:
        return _union((getattr(self, f) for f in self.output_fields), False)

    # ---- source ----------------------------------------------------------------------
    def count_code(self) -> str | None:
        """Source of the number of stages (``_n{id}``), for kinds that have stages."""
        return None

    def init_code(self) -> list[str]:
        """Initial state; may read ``_n{id}`` (assigned before from :meth:`count_code`)."""
        return [f"{self.state} = _f.bc({self.init.code}, {self.shape!r})"]

    def output_code(self) -> str:
        return self.state

    def ddt_code(self) -> list[str]:
        """Source of the derivative (or the next value) ``d{id}_0``."""
        return []

    def update_code(self) -> list[str]:
        """Source of the state after one step: Euler unless the kind says otherwise."""
        return [f"{self.state} = {self.state} + {self.ddt} * _dt"]


@dataclass
class Integ(Stateful):
    input: Expr = field(kw_only=True)

    functions: ClassVar[str] = "INTEG"
    arguments: ClassVar[Arguments] = (("input", "flow"), ("init", "initial"))
    step_fields: ClassVar[Fields] = ("input",)

    @classmethod
    def refusal(cls, node) -> str | None:
        return "a non-negative stock" if node.non_negative else None

    def ddt_code(self) -> list[str]:
        return [f"{self.ddt} = {self.input.code}"]


@dataclass
class Initial(Stateful):
    functions: ClassVar[str] = "INITIAL"
    arguments: ClassVar[Arguments] = (("init", "initial"),)
    dynamic: ClassVar[bool] = False

    def update_code(self) -> list[str]:
        return []


@dataclass
class Smooth(Stateful):
    """A chain of ``order`` first-order smooths (SMOOTH, SMOOTHI, SMOOTH3[I], SMOOTH N)."""

    order: Expr = field(kw_only=True)
    input: Expr = field(kw_only=True)
    time: Expr = field(kw_only=True)

    functions: ClassVar[str] = "SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N"
    arguments: ClassVar[Arguments] = (
        ("order", "order"),
        ("input", "input"),
        ("time", "smooth_time"),
        ("init", "initial"),
    )
    step_fields: ClassVar[Fields] = ("input", "time")

    @property
    def stages(self) -> str:
        return f"S{self.id}"

    def carried(self) -> list[str]:
        return [self.stages]

    def count_deps(self) -> frozenset:
        return _union([self.order], True)

    def count_code(self) -> str:
        return f"_f.order_value({self.order.code}, {self.owner!r}, False)"

    def init_code(self) -> list[str]:
        return [f"{self.stages} = [_f.bc({self.init.code}, {self.shape!r})] * _n{self.id}"]

    def output_code(self) -> str:
        return f"{self.stages}[-1]"

    def ddt_code(self) -> list[str]:
        i, S = self.id, self.stages
        targets = f"[{self.input.code}] + {S}[:-1]"  # each stage moves toward the one before
        return [
            f"_T{i} = {self.time.code}",
            f"D{i} = [(a - b) * _n{i} / _T{i} for a, b in zip({targets}, {S})]",
        ]

    def update_code(self) -> list[str]:
        return [f"{self.stages} = [s + d * _dt for s, d in zip({self.stages}, D{self.id})]"]


@dataclass
class Delay(Smooth):
    """A material delay of ``order`` stages (DELAY1, DELAY1I, DELAY3, DELAY3I); the stages
    hold the quantity in transit, and the order is lowered, as PySD does, while order *
    TIME STEP exceeds the smallest delay time."""

    functions: ClassVar[str] = "DELAY1, DELAY1I, DELAY3, DELAY3I"
    arguments: ClassVar[Arguments] = (
        ("order", "order"),
        ("input", "input"),
        ("time", "delay_time"),
        ("init", "initial"),
    )
    output_fields: ClassVar[Fields] = ("time",)

    def count_deps(self) -> frozenset:
        return _union([self.order, self.time], True)

    def count_code(self) -> str:
        owner = repr(self.owner)
        return (
            f"_f.delay_order(_f.order_value({self.order.code}, {owner}, True), _dt, "
            f"{self.time.code}, {owner})"
        )

    def init_code(self) -> list[str]:
        i, T = self.init.code, self.time.code
        return [f"{self.stages} = [_f.bc(({i}) * ({T}), {self.shape!r})] * _n{self.id}"]

    def output_code(self) -> str:
        return f"({self.stages}[-1] / ({self.time.code}))"

    def _outflows(self) -> list[str]:
        i = self.id
        return [f"_T{i} = {self.time.code}", f"_o{i} = [s / _T{i} for s in {self.stages}]"]

    def ddt_code(self) -> list[str]:
        i = self.id
        return [
            *self._outflows(),
            f"D{i} = [(({self.input.code}) - _o{i}[0]) * _n{i}] + "
            f"[(a - b) * _n{i} for a, b in zip(_o{i}[:-1], _o{i}[1:])]",
        ]


@dataclass
class DelayN(Delay):
    """DELAY N: as DELAY, and each stage keeps the delay time it entered with (PySD)."""

    functions: ClassVar[str] = "DELAY N"
    output_fields: ClassVar[Fields] = ()

    @property
    def times(self) -> str:
        return f"TAU{self.id}"

    def carried(self) -> list[str]:
        return [self.stages, self.times]

    def init_code(self) -> list[str]:
        return [
            *super().init_code(),
            f"{self.times} = [_f.bc({self.time.code}, {self.shape!r})] * _n{self.id}",
        ]

    def output_code(self) -> str:
        return f"({self.stages}[-1] / {self.times}[0])"

    def _outflows(self) -> list[str]:
        i, TAU = self.id, self.times
        return [
            f"{TAU} = [_f.bc({self.time.code}, {self.shape!r})] + {TAU}[:-1]",
            f"_o{i} = [s / tau for s, tau in zip({self.stages}, {TAU})]",
        ]


@dataclass
class DelayFixed(Stateful):
    """DELAY FIXED: a queue of round(delay time / TIME STEP) values, replaced not
    integrated. The queue is a list, oldest value first: each step drops the oldest and
    appends the input (PySD's ring buffer with a pointer, in the same order)."""

    input: Expr = field(kw_only=True)
    time: Expr = field(kw_only=True)

    functions: ClassVar[str] = "DELAY FIXED"
    arguments: ClassVar[Arguments] = (
        ("input", "input"),
        ("time", "delay_time"),
        ("init", "initial"),
    )
    step_fields: ClassVar[Fields] = ("input", "time")

    @property
    def pipe(self) -> str:
        return f"pipe{self.id}"

    def carried(self) -> list[str]:
        return [self.state, self.pipe]

    def count_deps(self) -> frozenset:
        return _union([self.time], True)

    def count_code(self) -> str:
        return f"_f.fixed_order({self.time.code}, _dt, {self.owner!r})"

    def init_code(self) -> list[str]:
        return [*super().init_code(), f"{self.pipe} = [{self.state}] * _n{self.id}"]

    def ddt_code(self) -> list[str]:
        return [f"{self.ddt} = {self.input.code}"]

    def update_code(self) -> list[str]:
        return [
            f"{self.pipe} = {self.pipe}[1:] + [{self.ddt}]",
            f"{self.state} = _f.bc({self.pipe}[0], {self.shape!r})",
        ]


@dataclass
class Trend(Stateful):
    input: Expr = field(kw_only=True)
    time: Expr = field(kw_only=True)

    functions: ClassVar[str] = "TREND"
    arguments: ClassVar[Arguments] = (
        ("input", "input"),
        ("time", "average_time"),
        ("init", "initial_trend"),
    )
    step_fields: ClassVar[Fields] = ("input", "time")
    init_fields: ClassVar[Fields] = ("init", "time", "input")
    output_fields: ClassVar[Fields] = ("input", "time")

    def init_code(self) -> list[str]:
        x, i, T = self.input.code, self.init.code, self.time.code
        return [f"{self.state} = _f.bc({x} / (1 + {i} * {T}), {self.shape!r})"]

    def output_code(self) -> str:
        s = self.state
        return f"_f.zidz({self.input.code} - {s}, {self.time.code} * np.abs({s}))"

    def ddt_code(self) -> list[str]:
        return [f"{self.ddt} = ({self.input.code} - {self.state}) / ({self.time.code})"]


@dataclass
class Forecast(Trend):
    horizon: Expr = field(kw_only=True)

    functions: ClassVar[str] = "FORECAST"
    arguments: ClassVar[Arguments] = (
        ("input", "input"),
        ("time", "average_time"),
        ("horizon", "horizon"),
        ("init", "initial_trend"),
    )
    step_fields: ClassVar[Fields] = ("input", "time", "horizon")
    init_fields: ClassVar[Fields] = ("init", "input")
    output_fields: ClassVar[Fields] = ("input", "time", "horizon")

    def init_code(self) -> list[str]:
        x, i = self.input.code, self.init.code
        return [f"{self.state} = _f.bc({x} / (1 + {i}), {self.shape!r})"]

    def output_code(self) -> str:
        x, s, T, h = self.input.code, self.state, self.time.code, self.horizon.code
        return f"({x} * (1 + _f.zidz({x} - {s}, {T} * {s}) * {h}))"


@dataclass
class SampleIfTrue(Stateful):
    condition: Expr = field(kw_only=True)
    input: Expr = field(kw_only=True)

    functions: ClassVar[str] = "SAMPLE IF TRUE"
    arguments: ClassVar[Arguments] = (
        ("condition", "condition"),
        ("input", "input"),
        ("init", "initial"),
    )
    step_fields: ClassVar[Fields] = ("input", "condition")
    output_fields: ClassVar[Fields] = ("input", "condition")

    def _sampled(self) -> str:
        return f"_f.if_then_else({self.condition.code}, {self.input.code}, {self.state})"

    def output_code(self) -> str:
        return self._sampled()

    def ddt_code(self) -> list[str]:
        return [f"{self.ddt} = {self._sampled()}"]

    def update_code(self) -> list[str]:
        return [f"{self.state} = _f.bc({self.ddt}, {self.shape!r})"]


#: PySD's abstract syntax structure (class name) -> the class that implements it
BY_STRUCTURE: dict[str, type[Stateful]] = {
    "IntegStructure": Integ,
    "InitialStructure": Initial,
    "SmoothStructure": Smooth,
    "SmoothNStructure": Smooth,
    "DelayStructure": Delay,
    "DelayNStructure": DelayN,
    "DelayFixedStructure": DelayFixed,
    "TrendStructure": Trend,
    "ForecastStructure": Forecast,
    "SampleIfTrueStructure": SampleIfTrue,
}
