"""The vector engine's compiler (yaan_sim.engines.vector.compiler) on small models.

Each model is written out here and compiled afresh; the values expected are worked by
hand (one Euler step of 1 from 0 to 1), the refusals checked word for word. They cover
what the engine's other tests leave out: macros, PI, ELMCOUNT inside an expression,
ACTIVE INITIAL inside arithmetic (its initial dependencies and its switch after
initialisation), a subscripted lookup and a WITH LOOKUP inside SUM, the dataset dims of
variables with two dims of one range, the translator's warnings, and the process cache
of compiled plans.
"""

from __future__ import annotations

import pytest

from yaan_sim.engines.vector import VectorModel, compiler, plan_cache
from yaan_sim.errors import ModelError, UnsupportedConstructError

TAIL = "FINAL TIME = 1 ~~|\nINITIAL TIME = 0 ~~|\nSAVEPER = 1 ~~|\nTIME STEP = 1 ~~|\n"
# Gain[a] = 1, Gain[b] = 2; Table[p] and Curve are the identity on [0, 10]
PARKS = (
    "{UTF-8}\nPark: a, b ~~|\nGain[Park]= 1, 2 ~~|\n"
    "Table[Park]([(0,0)-(10,10)],(0,0),(10,10)) ~~|\n"
    "Curve([(0,0)-(10,10)],(0,0),(10,10)) ~~|\n"
)
NOT_SUPPORTED = " is not supported by the vector engine; run with engine='pysd'"


def _model(tmp_path, body: str, name: str = "m.mdl", head: str = PARKS) -> VectorModel:
    mdl = tmp_path / name
    mdl.write_text(head + body + TAIL, encoding="utf-8")
    return VectorModel.from_mdl(mdl)


def _values(tmp_path, body: str, *names: str) -> dict:
    ds = _model(tmp_path, body).run()
    return {n: ds[n].values.tolist() for n in names}


# ---- values worked by hand ------------------------------------------------------------
def test_pi_alone_in_arithmetic_and_spread_over_a_range(tmp_path):
    got = _values(tmp_path, "X= PI() * 2 ~~|\nY[Park]= PI() ~~|\nZ= PI() ~~|\n", "x", "y", "z")
    pi = 3.141592653589793
    assert got == {"x": [2 * pi, 2 * pi], "y": [[pi, pi], [pi, pi]], "z": [pi, pi]}


def test_elmcount_of_a_range_named_with_an_underscore_inside_arithmetic(tmp_path):
    head = "{UTF-8}\nPark_Set: a, b, c ~~|\n"
    ds = _model(tmp_path, "X= ELMCOUNT(Park_Set) * 2 ~~|\n", head=head).run()
    assert ds["x"].values.tolist() == [6.0, 6.0]


def test_a_subscripted_lookup_and_a_with_lookup_inside_sum(tmp_path):
    body = (
        # Table[a](t + 1) + Table[b](t + 1) = 2 * (t + 1)
        "Looked= SUM(Table[Park!](Time + 1)) ~~|\n"
        # Gain doubled by the inline table: 2 * 1 + 2 * 2
        "Inline= SUM(WITH LOOKUP(Gain[Park!], ([(0,0)-(10,20)],(0,0),(10,20)))) ~~|\n"
        # a sum inside arithmetic: 1 + 2 + 1
        "Plus= SUM(Gain[Park!]) + 1 ~~|\n"
    )
    got = _values(tmp_path, body, "looked", "inline", "plus")
    assert got == {"looked": [2.0, 4.0], "inline": [6.0, 6.0], "plus": [4.0, 4.0]}


def test_a_stateful_inside_arithmetic(tmp_path):
    # SMOOTHI(5, 1, 1): 1 at t = 0, 1 + (5 - 1) / 1 = 5 at t = 1
    assert _values(tmp_path, "X= SMOOTHI(5, 1, 1) * 2 ~~|\n", "x") == {"x": [2.0, 10.0]}


@pytest.mark.parametrize(
    "equation, initial, after",
    [("ACTIVE INITIAL(3, 5)", 5.0, 3.0), ("ACTIVE INITIAL(3, 5) + 1", 6.0, 4.0)],
)
def test_active_initial_switches_after_initialisation_also_inside_arithmetic(
    tmp_path, equation, initial, after
):
    # one model each: a single ACTIVE INITIAL makes every constant be worked out again
    # after initialisation; the stock keeps the initial value (nothing flows)
    got = _values(tmp_path, f"C= {equation} ~~|\nS= INTEG(0, C) ~~|\n", "c", "s")
    assert got == {"c": [after, after], "s": [initial, initial]}


def test_active_initial_inside_arithmetic_breaks_an_initial_loop(tmp_path):
    # S starts at A's initial value, A reads S after initialisation: no loop at
    # initialisation (A's initial value does not read S)
    body = (
        # one ACTIVE INITIAL beside a number: A = 1 + 2 = 3 at initialisation, S0 = 3;
        # t = 0: A = 1 + 3 / 2 = 2.5, S1 = 5.5; t = 1: A = 1 + 5.5 / 2 = 3.75
        "S= INTEG(A, A) ~~|\nA= 1 + ACTIVE INITIAL(S * 0.5, 2) ~~|\n"
        # two of them: B = 2 + 4 = 6 at initialisation, R0 = 6;
        # t = 0: B = 3 + 6 = 9, R1 = 15; t = 1: B = 7.5 + 15 = 22.5
        "R= INTEG(B, B) ~~|\nB= ACTIVE INITIAL(R * 0.5, 2) + ACTIVE INITIAL(R, 4) ~~|\n"
    )
    got = _values(tmp_path, body, "s", "a", "r", "b")
    assert got == {"s": [3.0, 5.5], "a": [2.5, 3.75], "r": [6.0, 15.0], "b": [9.0, 22.5]}


def test_dataset_dims_of_two_dims_of_one_range(tmp_path):
    # a second dim of the range Park is named park_2; a variable whose park_2 holds
    # other elements gets park_2_2, the next park_2_3 (and park_3 for a third dim)
    head = "{UTF-8}\nPark: a, b, c ~~|\n"
    body = "X[Park, a]= 1 ~~|\nY[Park, Park]= 2 ~~|\nZ[Park, b, c]= 3 ~~|\nW[Park, b]= 4 ~~|\n"
    ds = _model(tmp_path, body, head=head).run()
    assert ds["x"].dims == ("time", "park", "park_2")
    assert ds["y"].dims == ("time", "park", "park_2_2")
    assert ds["z"].dims == ("time", "park", "park_2_3", "park_3")
    assert ds["w"].dims == ("time", "park", "park_2_3")
    assert ds["park_2"].values.tolist() == ["a"]
    assert ds["park_2_2"].values.tolist() == ["a", "b", "c"]
    assert ds["park_2_3"].values.tolist() == ["b"]
    assert ds["park_3"].values.tolist() == ["c"]


# ---- refusals, word for word -------------------------------------------------------
@pytest.mark.parametrize(
    "body, message",
    [
        ("X= Curve(Time, 1) ~~|\n", "X: the lookup 'Curve' called with 2 arguments"),
        ("X= STEP(1, 2, 3) ~~|\n", "X: STEP with 3 arguments"),
        ("X= FOO(1) ~~|\n", "X: the function FOO"),
        ("X= FOO() ~~|\n", "X: the function FOO"),
        ("X= ELMCOUNT(3) ~~|\n", "X: ELMCOUNT of something other than a subscript range"),
    ],
)
def test_refusals_name_the_variable_and_the_construct(tmp_path, body, message):
    with pytest.raises(UnsupportedConstructError) as err:
        _model(tmp_path, body)
    assert str(err.value) == message + NOT_SUPPORTED


def test_a_macro_is_refused_by_its_name(tmp_path):
    head = "{UTF-8}\n:MACRO: DOUBLE(input)\nDOUBLE = 2 * input ~~|\n:END OF MACRO:\n"
    with pytest.raises(UnsupportedConstructError) as err:
        _model(tmp_path, "X= DOUBLE(3) ~~|\n", head=head)
    assert str(err.value) == "double: a macro (:MACRO:)" + NOT_SUPPORTED


@pytest.mark.parametrize(
    "body, message",
    [
        ("X[Park]= 1, 2, 3 ~~|\n", "X: 3 values given for 2 elements"),
        ("X= SUM(Gain[Nowhere!]) ~~|\n", "X: unknown range 'Nowhere!'"),
    ],
)
def test_model_errors_word_for_word(tmp_path, body, message):
    with pytest.raises(ModelError) as err:
        _model(tmp_path, body)
    assert str(err.value) == message


def test_a_file_that_cannot_be_parsed_or_read(tmp_path, monkeypatch):
    with pytest.raises(ModelError) as err:
        _model(tmp_path, "X= (1 + ~~|\n", name="bad.mdl")
    assert str(err.value).startswith("bad.mdl: cannot be parsed: Rule ")
    missing = tmp_path / "none.mdl"
    with pytest.raises(ModelError) as err:
        compiler.compile_file(missing)
    assert str(err.value) == f"cannot read the model file {missing}: no such file"
    (tmp_path / "locked.mdl").write_text("{UTF-8}\n" + TAIL, encoding="utf-8")

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(missing), "read_bytes", refuse)
    with pytest.raises(ModelError) as err:
        compiler.compile_file(tmp_path / "locked.mdl")
    assert str(err.value) == (
        f"cannot read the model file {tmp_path / 'locked.mdl'}: Permission denied"
    )


# ---- the plan and its caches ---------------------------------------------------------
def test_the_translator_warnings_are_kept_on_the_plan(tmp_path):
    plan = _model(tmp_path, "X= 1 ~~|\n", head="").plan
    assert plan.translator_warnings == [
        "No encoding specified or detected to translate the model file. "
        "'UTF-8' encoding will be used."
    ]
    assert _model(tmp_path, "X= 1 ~~|\n", name="b.mdl").plan.translator_warnings == []


def test_the_plan_cache_is_given_the_file_bytes(tmp_path, monkeypatch):
    mdl = tmp_path / "m.mdl"
    mdl.write_text("{UTF-8}\nX= 1 ~~|\n" + TAIL, encoding="utf-8")
    seen = []

    def cached(data, compile_plan):
        seen.append(data)
        return compile_plan()

    monkeypatch.setattr(compiler, "_COMPILED", {})
    monkeypatch.setattr(plan_cache, "cached", cached)
    compiler.compile_file(mdl)
    assert seen == [mdl.read_bytes()]


def test_the_process_keeps_the_last_eight_plans(tmp_path, monkeypatch):
    monkeypatch.setattr(compiler, "_COMPILED", {})
    monkeypatch.setattr(plan_cache, "cached", lambda _data, compile_plan: compile_plan())
    paths = []
    for i in range(9):
        mdl = tmp_path / f"m{i}.mdl"
        mdl.write_text(f"{{UTF-8}}\nX= {i} ~~|\n" + TAIL, encoding="utf-8")
        compiler.compile_file(mdl)
        paths.append(str(mdl.resolve()))
    assert [key[0] for key in compiler._COMPILED] == paths[1:]


# ---- a stateful function inside a reduction ------------------------------------------
_INSIDE = (
    " is not supported by the vector engine; put it in a variable of its own and read that "
    "variable inside {0}, or run with engine='pysd'"
)


@pytest.mark.parametrize(
    "body, message",
    [
        # the range! inside the stateful function (found in its fields: input, ...)
        (
            "X= SUM(SMOOTH(Gain[Park!], 1)) ~~|\n",
            "X: a stateful function (SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N) inside SUM "
            "over Park!" + _INSIDE.format("SUM"),
        ),
        (
            "X= VMAX(DELAY FIXED(M[Park!, Sub!], 1, 0)) ~~|\n",
            "X: a stateful function (DELAY FIXED) inside VMAX over Park!, Sub!"
            + _INSIDE.format("VMAX"),
        ),
        # beside it; the innermost reduction is named
        (
            "X[Park]= PROD(M[Park, Sub!] * VMIN(Gain[Park] + SMOOTH(N[Park, Alt!], 1))) ~~|\n",
            "X: a stateful function (SMOOTH, SMOOTHI, SMOOTH3, SMOOTH3I, SMOOTH N) inside VMIN "
            "over Alt!" + _INSIDE.format("VMIN"),
        ),
    ],
)
def test_a_stateful_function_inside_a_reduction_is_refused_naming_it(tmp_path, body, message):
    head = PARKS + "Sub: c, d ~~|\nAlt: e, f ~~|\nM[Park, Sub]= 1, 2; 3, 4; ~~|\n"
    head += "N[Park, Alt]= 5, 6; 7, 8; ~~|\n"
    with pytest.raises(UnsupportedConstructError) as err:
        _model(tmp_path, body, head=head)
    assert str(err.value) == message


def test_game_and_with_lookup_inside_sum_are_summed(tmp_path):
    # the range! under GAME (its field is expression): Gain[a] + Gain[b]
    assert _values(tmp_path, "X= SUM(GAME(Gain[Park!])) ~~|\n", "x") == {"x": [3.0, 3.0]}


def test_a_reduction_sharing_a_range_with_the_one_around_it_is_refused(tmp_path):
    # Park! inside VMIN binds to the SUM's Park axis: VMIN's own does not vary
    head = PARKS + "Sub: c, d ~~|\nM[Park, Sub]= 1, 2; 3, 4; ~~|\n"
    with pytest.raises(UnsupportedConstructError) as err:
        _model(tmp_path, "X= SUM(Gain[Park!] * VMIN(M[Park!, Sub!])) ~~|\n", head=head)
    assert str(err.value) == (
        "X: VMIN of an expression that does not vary along its range" + NOT_SUPPORTED
    )
