"""Mutation testing of the core modules, one module at a time with its own tests.

``make mutation`` runs this (not part of ``make test``: it takes minutes per module). For
each module of ``[tool.yaan-sim.mutation]`` in pyproject.toml (module -> the test files
that should catch its mutants) it copies the project into ``build/mutation/<module>/``,
narrows mutmut's ``[tool.mutmut]`` settings there to that module and those tests, runs
``mutmut run`` and prints the score and every surviving mutant. docs/testing.md records
the last scores and explains each survivor.

    python tests/support/mutation.py                       # every module
    python tests/support/mutation.py outputs/rules.py      # some (a suffix of the path)
    python tests/support/mutation.py --list                # the modules and their tests

Inspect a survivor afterwards: ``cd build/mutation/<module> && mutmut show <name>``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "build" / "mutation"
COPIED = ("src", "tests", "models", "scenarios", "notebooks", "pyproject.toml", "README.md")


def modules(pyproject: dict) -> dict[str, list[str]]:
    return dict(pyproject["tool"]["yaan-sim"]["mutation"])


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def narrowed(text: str, module: str, tests: list[str]) -> str:
    """pyproject.toml's text with [tool.mutmut] limited to one module and its tests."""
    text = re.sub(r"(?m)^only_mutate = \[[^\]]*\]", f"only_mutate = {toml_list([module])}", text)
    return re.sub(
        r"(?m)^pytest_add_cli_args_test_selection = \[[^\]]*\]",
        f"pytest_add_cli_args_test_selection = {toml_list(tests)}",
        text,
    )


def run_one(module: str, tests: list[str], max_children: int) -> dict:
    slug = module.removeprefix("src/yaan_sim/").removesuffix(".py").replace("/", ".")
    work = WORK / slug
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, work / name)
    pyproject = work / "pyproject.toml"
    pyproject.write_text(narrowed(pyproject.read_text("utf-8"), module, tests), "utf-8")
    mutmut = [sys.executable, "-m", "mutmut"]
    # the conformance tests look for ../shared/test-models beside the checkout, which a
    # copy under build/mutation/ has not: point them at the checkout's
    models = REPO.parent / "shared" / "test-models"
    if models.is_dir():
        os.environ.setdefault("YAAN_SIM_TEST_MODELS", str(models))
    print(f"== {module}: tests {' '.join(tests)}", flush=True)
    subprocess.run([*mutmut, "run", "--max-children", str(max_children)], cwd=work, check=False)
    subprocess.run([*mutmut, "export-cicd-stats"], cwd=work, check=False, capture_output=True)
    stats_file = work / "mutants" / "mutmut-cicd-stats.json"
    stats = json.loads(stats_file.read_text("utf-8")) if stats_file.is_file() else {}
    listing = subprocess.run(
        [*mutmut, "results"], cwd=work, check=False, capture_output=True, text=True
    ).stdout
    survivors = [ln.strip() for ln in listing.splitlines() if ln.strip()]
    killed, total = stats.get("killed", 0), stats.get("total", 0)
    score = 100.0 * killed / total if total else float("nan")
    print(f"-- {module}: {killed}/{total} killed ({score:.1f} %); survivors:", flush=True)
    for s in survivors:
        print("   ", s)
    return {"module": module, "tests": tests, "stats": stats, "survivors": survivors}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("modules", nargs="*", help="module paths or suffixes (default: all)")
    ap.add_argument("--list", action="store_true", help="list the modules and their tests")
    ap.add_argument("--max-children", type=int, default=2, help="parallel mutants (default 2)")
    args = ap.parse_args(argv)
    table = modules(tomllib.loads((REPO / "pyproject.toml").read_text("utf-8")))
    if args.list:
        for module, tests in table.items():
            print(f"{module}: {' '.join(tests)}")
        return 0
    chosen = [m for m in table if not args.modules or any(m.endswith(a) for a in args.modules)]
    if not chosen:
        print(f"no module matches {args.modules}; --list shows them", file=sys.stderr)
        return 2
    reports = [run_one(m, table[m], args.max_children) for m in chosen]
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "report.json").write_text(json.dumps(reports, indent=1), "utf-8")
    print(f"report: {WORK / 'report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
