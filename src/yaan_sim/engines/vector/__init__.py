"""Vectorised simulation engine: the .mdl compiled to numpy, many samples per run.

>>> from yaan_sim.engines.vector import VectorModel
>>> vm = VectorModel.from_mdl("models/yaan_parks.mdl")      # doctest: +SKIP
>>> ds = vm.run(overrides={"Investment attraction rate": 0.1}, samples=1000)  # doctest: +SKIP

The .mdl is parsed by PySD's Vensim translator; its abstract model (every equation's
syntax tree) is compiled to a plan, then to one Python function of numpy calls that
integrates all samples at once with PySD's Euler scheme, saving times, initialisation and
``TIME STEP``/``SAVEPER`` semantics. Results equal PySD's to rounding error (the tests hold
them to 1e-9 relative). The modules, in the order the work flows:

* :mod:`.compiler` walks each equation (a type -> builder table, as PySD's builder), with
  :mod:`.declare` (each variable's dims, coords, definitions, lookup tables),
  :mod:`.subscripts` (ranges, sub-ranges, copies, mappings) and :mod:`.references`
  (binding a reference's subscripts to the equation's axes);
* :mod:`.statefuls`: one class per stateful kind (INTEG, SMOOTH, DELAY, DELAY N, DELAY
  FIXED, TREND, FORECAST, SAMPLE IF TRUE, INITIAL), each writing its own source;
* :mod:`.plan`: what the compiler produces; :mod:`.codegen`: the run schedule for one kind
  of run (what is computed when, in ``graphlib`` order) and its numpy source;
* :mod:`.runtime`: :class:`VectorModel` (overrides, time grid, chunks, the Dataset);
  :mod:`.functions`: numpy helpers with PySD's arithmetic; :mod:`.check`: comparisons.

The JAX engine (:mod:`yaan_sim.engines.jax`) writes the same run schedule for XLA.

Supported
    INTEG; constants (numbers, per-element lists, 2-D tables, piecewise over elements or
    sub-ranges, ``==``); subscript ranges, sub-ranges, ranges that list sub-ranges,
    copies (``<->``), mappings (``->``, by position), two subscripts of one range family
    (``x[dim, subdim]``); ``:EXCEPT:``; ranges and elements used as values; SUM, PROD,
    VMIN, VMAX over ``range!``; + - * / ^ and unary minus; = <> < <= > >=; :AND: :OR:
    :NOT:; IF THEN ELSE; MIN, MAX, ABS, EXP, LN, LOG, SQRT, POWER, SIN/COS/TAN and
    inverses, SINH/COSH/TANH, INTEGER, MODULO, QUANTUM, ZIDZ, XIDZ, PI, ELMCOUNT;
    INITIAL, ACTIVE INITIAL; SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N; DELAY1,
    DELAY1I, DELAY3, DELAY3I, DELAY N, DELAY FIXED (with PySD's lowering of a delay
    order too long for TIME STEP, and its warning); TREND, FORECAST, SAMPLE IF TRUE;
    GAME (its expression, as PySD); graphical lookups (named, subscripted, WITH
    LOOKUP; end values held); STEP, PULSE, PULSE TRAIN, RAMP; Time, TIME STEP,
    INITIAL TIME, FINAL TIME, SAVEPER (numbers or expressions of numbers and other
    control variables).

Refused at build time (``UnsupportedConstructError`` naming the variable and the
construct; run those models with PySD)
    macros; data variables and GET XLS/DIRECT data, constants, lookups and subscripts;
    ALLOCATE AVAILABLE/BY PRIORITY, GET TIME VALUE, INVERT MATRIX, VECTOR
    SELECT/SORT/RANK/REORDER, NPV, LOOKUP INVERT/FORWARD/AREA, random functions and any
    other function; control variables defined by other equations (e.g. a FINAL TIME
    that depends on a stock). Refused when running: a delay or smooth order, or a DELAY
    FIXED delay time, that differs between samples or elements.
"""

from yaan_sim.engines.vector.runtime import VectorModel
from yaan_sim.errors import UnsupportedConstructError

__all__ = ["UnsupportedConstructError", "VectorModel"]
