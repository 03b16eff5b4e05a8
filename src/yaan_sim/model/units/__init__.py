"""Vensim's Units Check (Model > Units Check), run on PySD's parsed model.

Every equation's right side is given units from the declared units of the variables it
uses, and compared with the units declared on its left side. The rules:

- Units are products of independent base units with integer (or, after ``^0.5`` and
  SQRT, rational) powers. ``yiyuan`` and ``wanyuan`` are different units: a conversion
  needs a constant declared in ``wanyuan/yiyuan``. Names compare case-insensitively, with
  runs of spaces as one, and through the model's unit synonyms (Vensim's Settings > Units
  Equiv, the ``22:`` lines of the .mdl); ``Minute`` and ``Minutes`` differ unless a
  synonym says otherwise. ``Dmnl``, ``Dimensionless`` and ``1`` are dimensionless;
  ``fraction`` and ``percent`` are ordinary names.
- ``+``, ``-``, comparisons and the arguments of MIN, MAX, IF THEN ELSE (its two branches),
  MODULO, ACTIVE INITIAL and SAMPLE IF TRUE need equal units; ``*`` and ``/`` combine
  them; ``^`` needs a dimensionless exponent, and a base with units only with a numeric
  exponent (``x^2``); EXP, LN, LOG and the trigonometric functions need a dimensionless
  argument; SQRT halves the powers.
- A number written in an equation fits any units in a sum, a comparison or a MIN, MAX or
  IF THEN ELSE (``1 - share``); in a product or quotient it is dimensionless (``x/2`` has
  x's units, ``1/x`` has 1/x's), so a constant with units must be a named variable.
- ZIDZ(a, b) has a/b; XIDZ(a, b, x) too, and x must have a/b. SUM, VMIN, VMAX keep
  their argument's units; PROD over n elements raises them to the power n.
- A lookup called with an argument has the lookup's declared units; Vensim warns when the
  argument is not dimensionless, and so does this check (a warning, not an error).
  WITH LOOKUP has the declared units of its variable.
- INTEG: the net flow has the stock's units per time unit, the initial value the stock's.
  SMOOTH, DELAY (all orders, FIXED), INITIAL and FORECAST keep their input's units, with
  times in the model's time unit; TREND has 1/time. STEP has its height's units, RAMP
  its slope's times time, PULSE and PULSE TRAIN are dimensionless. Time has the units
  of TIME STEP (the model's time unit), which the other control variables must share.

There is no Vensim here to compare with: the rules follow Vensim's documentation (units
checking, units synonyms, lookup arguments); where it is silent (numbers in products, the
units of TREND, PULSE and a comparison's result, case), the choice is the one stated above.

Not checked (listed as warnings or as equations checked in part, never as clean or as an
error): equations that use a variable with no declared units, macros, data read from
files (their declared units are taken as given), ALLOCATE's priority arguments, VECTOR
functions, RANDOM functions other than UNIFORM and NORMAL, GET TIME VALUE, LOOKUP INVERT.
Units with scale factors (``1000*Person``) are not supported: a number other than 1 in a
units string is an error.

>>> report = check_units()                  # models/yaan_parks.mdl   # doctest: +SKIP
>>> report.clean, [str(i) for i in report.errors]                     # doctest: +SKIP
"""

from yaan_sim.model.units.algebra import DMNL, Units, UnitsSyntaxError, UnitSystem, unit_key
from yaan_sim.model.units.check import check_units, read_synonyms
from yaan_sim.model.units.report import Issue, UnitsReport

__all__ = [
    "DMNL",
    "Issue",
    "UnitSystem",
    "Units",
    "UnitsReport",
    "UnitsSyntaxError",
    "check_units",
    "read_synonyms",
    "unit_key",
]
