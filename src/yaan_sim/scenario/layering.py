"""Scenario files as a user names them: lookup, ``extends:`` layering, load and validate.

A scenario is read child first: each file's parent (``extends:``) is read and checked
before the file's own settings are laid over it, lever by lever. Every problem of every
file of the chain is reported at once, the root parent's first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from yaan_sim.errors import ScenarioError
from yaan_sim.model.levers import closest, constants
from yaan_sim.model.load import Horizon
from yaan_sim.paths import SCENARIOS_DIR
from yaan_sim.scenario import checks
from yaan_sim.scenario.checks import Ctx
from yaan_sim.scenario.reader import Problem, display_path, kind_of, raise_problems
from yaan_sim.scenario.types import LeverSetting, Scenario, Schedule, UncertainSetting, Uncertainty

MAX_CHAIN = 16  # files in one extends chain


@dataclass
class _Layer:
    path: Path
    text: str
    name: str
    title: dict
    description: str
    plan: tuple
    horizon: Horizon
    horizon_set: bool
    levers: dict
    uncertain: dict
    parent: _Layer | None


def find_scenario(name_or_path, base: Path | None = None) -> Path | None:
    """The file a scenario reference means, or None.

    A path (with a ``/`` or ending in ``.yaml``/``.yml``) is taken relative to ``base``
    (the referring file's folder; without one, the working directory), else to
    scenarios/; a bare name ``plan`` is ``plan.yaml`` there.
    """
    ref = str(name_or_path)
    p = Path(ref)
    looks_like_path = "/" in ref or "\\" in ref or p.suffix in (".yaml", ".yml")
    if not looks_like_path:
        p = Path(f"{ref}.yaml")
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = [base / p if base is not None else p, SCENARIOS_DIR / p]
    return next((c for c in candidates if _is_file(c)), None)


def _is_file(path) -> bool:
    """``Path.is_file`` that is False, not an error, for impossible names (too long, NUL)."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def scenario_files(folder: Path | None = None) -> list[Path]:
    """The scenario files of a folder (default scenarios/): ``*.yaml`` except the goal
    files, which are named ``*-goals.yaml`` (e.g. plan-goals.yaml)."""
    folder = Path(folder) if folder is not None else SCENARIOS_DIR
    return sorted(p for p in folder.glob("*.yaml") if not p.stem.endswith("-goals"))


def _available() -> str:
    names = [p.stem for p in scenario_files()]
    return ", ".join(names) if names else "(none)"


def _load_layer(
    path: Path,
    model,
    problems: list[Problem],
    stack: tuple[Path, ...],
    entered: list[str] | None = None,
) -> _Layer | None:
    """Read one file and, first, its parents; ``entered`` collects the files, child first."""
    ctx = Ctx(path, model, problems)
    if entered is not None:
        entered.append(ctx.file)
    reader = ctx.reader()
    root = reader.read(path)
    if root is None:
        return None
    top = checks.read_top(ctx, root)
    if top is None:
        return None
    parent = _parent(ctx, top.get("extends"), path, stack, entered)
    parent_h = parent.horizon if parent and parent.horizon_set else None
    horizon, horizon_set = checks.read_horizon(ctx, top, parent_h, model.default_horizon)
    levers = checks.read_lever_block(ctx, top, horizon)
    uncertain = checks.read_uncertain_block(ctx, top)
    name = checks.read_name(ctx, top)
    levers = {k: replace(v, origin=name, origin_path=path.resolve()) for k, v in levers.items()}
    return _Layer(
        path=path,
        text=reader.text,
        name=name,
        title=checks.read_title(ctx, top),
        description=checks.read_text(ctx, top, "description"),
        plan=checks.read_plan(ctx, top),
        horizon=horizon,
        horizon_set=horizon_set,
        levers=levers,
        uncertain=uncertain,
        parent=parent,
    )


def _parent(ctx: Ctx, ext, path: Path, stack, entered) -> _Layer | None:
    """The layer ``extends:`` names, read with its own parents, or None."""
    if ext is None:
        return None
    if not isinstance(ext.value, str) or not ext.value.strip():
        ctx.problem(
            ext.at,
            ("extends",),
            f"extends is {kind_of(ext.value)}",
            expected="a scenario name (baseline) or a path (../x.yaml)",
            fix="write extends: baseline",
        )
        return None
    ppath = find_scenario(ext.value.strip(), path.parent)
    if ppath is None:
        ctx.problem(
            ext.at,
            ("extends",),
            f"parent scenario {ext.value!r} not found",
            expected=f"a name in {display_path(SCENARIOS_DIR)} or a path",
            fix=f"available: {_available()}",
        )
        return None
    if ppath.resolve() in (*stack, path.resolve()):
        seen = (*stack, path.resolve())
        loop = (*seen[seen.index(ppath.resolve()) :], ppath.resolve())
        chain = " -> ".join(display_path(p) for p in loop)
        ctx.problem(
            ext.at,
            ("extends",),
            f"extends cycle: {chain}",
            expected="a chain of parents that ends",
            fix="remove one `extends:` of the cycle",
        )
        return None
    if len(stack) >= MAX_CHAIN:
        ctx.problem(
            ext.at,
            ("extends",),
            f"more than {MAX_CHAIN} files in the extends chain",
            expected=f"at most {MAX_CHAIN}",
            fix="flatten the chain",
        )
        return None
    parent = _load_layer(ppath, ctx.model, ctx.problems, (*stack, path.resolve()), entered)
    if parent is None:
        ctx.problem(
            ext.at,
            ("extends",),
            f"parent scenario {display_path(ppath)} cannot be read (see its problems)",
            expected="a valid parent",
            fix="fix the parent file first",
        )
    return parent


def _chain(layer: _Layer) -> list[_Layer]:
    out = []
    node: _Layer | None = layer
    while node is not None:
        out.append(node)
        node = node.parent
    return out


def _build(path: Path, model) -> tuple[Scenario | None, list[Problem]]:
    problems: list[Problem] = []
    entered: list[str] = []
    layer = _load_layer(path, model, problems, (), entered)
    # The root parent's problems first, each file's in line order (a stable sort keeps
    # the order of problems on one line).
    depth = {f: i for i, f in enumerate(entered)}  # child 0, parent 1, ...
    problems.sort(key=lambda p: (-depth.get(p.file, 0), p.line or 0))
    if layer is None or problems:
        return None, problems
    chain = _chain(layer)
    levers: dict[str, LeverSetting] = {}
    uncertain: dict[str, UncertainSetting] = {}
    for lay in reversed(chain):  # root first; each child overrides lever by lever
        levers.update(lay.levers)
        uncertain.update(lay.uncertain)
    for name, u in uncertain.items():
        s = levers.get(name)
        if s is not None and (
            isinstance(s.base, Schedule) or any(isinstance(p[3], Schedule) for p in s.parts)
        ):
            problems.append(
                Problem(
                    u.file or display_path(path),
                    u.line,
                    f"uncertain/{name}",
                    f"{name!r} follows a schedule in "
                    f"levers: ({s.file}:{s.line}) and is also drawn here",
                    "a lever either scheduled or uncertain",
                    "remove it from one of the two blocks",
                )
            )
    if problems:
        return None, problems
    text = "".join(
        f"# --- {lay.path.name}\n{lay.text}" + ("" if lay.text.endswith("\n") else "\n")
        for lay in chain
    )
    plan = tuple(dict.fromkeys(ref for lay in reversed(chain) for ref in lay.plan))
    sc = Scenario(
        name=layer.name,
        title=next((lay.title for lay in chain if lay.title), {}),
        description=layer.description
        or next((lay.description for lay in chain if lay.description), ""),
        horizon=layer.horizon if layer.horizon_set else None,
        levers=levers,
        uncertain=Uncertainty(uncertain, {n: constants(model)[n] for n in uncertain}),
        sources=tuple(lay.path for lay in chain),
        text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        plan=plan,
        texts=tuple(lay.text for lay in chain),
    )
    return sc, problems


def _not_found(ref) -> Problem:
    return Problem(
        str(ref),
        None,
        "",
        "file not found",
        "an existing .yaml file",
        f"check the path; scenarios available by name: {_available()}",
    )


def validate_file(path, model=None) -> list[Problem]:
    """Every problem of a scenario file (and of its parents); an empty list when valid.

    ``path`` is a path or a scenario name, as for :func:`load_scenario`. Never raises for
    the file or its content; only an unreadable model raises (ModelError).
    """
    model = _model(model)
    found = find_scenario(path)
    if found is None:
        return [_not_found(path)]
    _sc, problems = _build(found, model)
    return problems


def load_scenario(path_or_name, model=None) -> Scenario:
    """Read, validate and layer a scenario file.

    Parameters
    ----------
    path_or_name : str or Path
        A path to a .yaml file, or the name of one in scenarios/ (``"plan"``).
    model : YaanModel, optional
        The model whose levers the file is checked against (default: ``load_model()``).

    Raises
    ------
    ScenarioError
        With every problem of the file (``.problems``) when it is not valid.
    """
    model = _model(model)
    path = find_scenario(path_or_name)
    if path is None:
        hint = closest(Path(str(path_or_name)).stem, [p.stem for p in scenario_files()])
        raise ScenarioError(
            f"no scenario file {str(path_or_name)!r}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f": give a path to a .yaml file or the name of one in {display_path(SCENARIOS_DIR)} "
            f"(available: {_available()})",
            [_not_found(path_or_name)],
        )
    sc, problems = _build(path, model)
    if problems or sc is None:
        raise_problems(problems, display_path(path))
    return sc


def _model(model):
    if model is None:
        from yaan_sim.model.load import load_model

        return load_model()
    return model


def load_scenarios(refs, model=None) -> list[Scenario]:
    """Load several scenarios, validating every file first and reporting every problem of
    every file at once (nothing runs when one is invalid); names must be unique."""
    scenarios, problems = [], []
    for ref in refs:
        try:
            scenarios.append(load_scenario(ref, model))
        except ScenarioError as exc:
            problems.append(str(exc))
    if problems:
        raise ScenarioError(
            "invalid scenario file(s); nothing was run or written:\n" + "\n".join(problems)
        )
    names = [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(
            f"two files define the scenario name(s) {', '.join(dup)}: give each its own `name:`"
        )
    return scenarios
