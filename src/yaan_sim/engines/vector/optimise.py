"""Rewrite the generated numpy simulation source so that each time step does less work.

The numpy engine spends most of a small run in Python's per-operation overhead (about a
microsecond per numpy call on arrays of a few hundred elements), so the rewrites remove
calls without changing a single result bit:

* **loop-invariant code motion**: every largest sub-expression inside the time loop that
  reads only values fixed for the whole run (constants, per-sample parameters, lookup
  tables, views such as ``v_x[:, None, :]``) is computed once before the loop. The same
  operations run on the same operands in the same order, so results are bit-identical;
  identical expressions share one temporary;
* **direct reductions**: ``np.sum(x, axis=...)`` (and ``prod``, ``min``, ``max``) become
  the ufunc reductions they call (``np.add.reduce(x, axis=...)``), skipping numpy's
  Python-level dispatch: the same computation. A sum over one axis becomes
  ``_f.sum_axis(x, axis)``, which adds an ensemble's slices in numpy's order (the same
  bits, :func:`.functions.sum_axis`); ``np.interp(x, xp, fp)`` calls numpy's compiled
  loop (``_f.interp_real``) without the wrapper's checks.

Only pure expressions move: numpy and helper calls except allocations, arithmetic,
comparisons, indexing and ``transpose``/``reshape`` views. Names assigned in the loop or
after it, arrays written in place anywhere (``x[...] = ...``, ``x += ...``) and values
derived from them stay where they are; comprehensions, lists and iterators are never moved.
"""

from __future__ import annotations

import ast

#: numpy functions that allocate an array the generated code then fills in place
_ALLOCATORS = frozenset({"empty", "zeros", "ones", "full", "empty_like", "zeros_like"})
_PURE_BUILTINS = frozenset({"max", "min", "len", "float", "int", "abs", "slice", "tuple"})
_PURE_METHODS = frozenset({"transpose", "reshape"})
_REDUCTIONS = {"sum": "add", "prod": "multiply", "min": "minimum", "max": "maximum"}
_LOOP = "_sim"  # the generated function (codegen.build_program)
HOISTED = "_h"  # prefix of the temporaries computed before the loop


def optimise(source: str) -> ast.Module:
    """The generated source, parsed, with invariants hoisted out of the time loop and
    reductions called directly (``compile()`` takes the tree; ``ast.unparse`` shows it)."""
    tree = ast.parse(source)
    fn = tree.body[0]
    if not isinstance(fn, ast.FunctionDef) or fn.name != _LOOP:
        return tree
    loops = [i for i, s in enumerate(fn.body) if isinstance(s, ast.For)]
    at = loops[0] if len(loops) == 1 else len(fn.body)
    changing: set[str] = set()  # names bound in the loop or after it
    written: set[str] = set()  # arrays written in place anywhere
    pre_assigns: list[tuple[list[str], set[str]]] = []  # before the loop: targets, reads
    for i, stmt in enumerate(fn.body):
        for n in ast.walk(stmt):
            if isinstance(n, ast.Call):
                _direct_reduction(n)
            elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and i >= at:
                changing.add(n.id)
            elif isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                for t in targets:
                    if isinstance(t, ast.Name) and isinstance(n, ast.AugAssign):
                        written.add(t.id)
                    elif isinstance(t, (ast.Subscript, ast.Attribute)):
                        base = _base(t)
                        if base is not None:
                            written.add(base)
                if i < at and isinstance(n, ast.Assign):
                    names = [t.id for t in n.targets if isinstance(t, ast.Name)]
                    pre_assigns.append((names, _loaded(n.value)))
    if at == len(fn.body):
        return _materialise(tree, set())
    # a value computed before the loop from an array written in place may be a view of it
    unfit = changing | written
    for names, reads in pre_assigns:
        if reads & written:
            written.update(names)
            unfit.update(names)
    loop = fn.body[at]
    hoist = _Hoister(unfit)
    hoist.statement(loop)
    hoist.reuse_only = True  # after the loop: what the loop computes once already
    for stmt in fn.body[at + 1 :]:
        hoist.statement(stmt)
    fn.body[at:at] = [
        ast.copy_location(
            ast.Assign(targets=[ast.copy_location(ast.Name(name, ast.Store()), loop)], value=node),
            loop,
        )
        for name, node in hoist.hoisted
    ]
    return _materialise(tree, {name for name, _ in hoist.hoisted})


def _is_ctx(node: ast.AST) -> bool:
    """``_f.ctx(view, shape)``: a reference spread over its context (references._align)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "_f"
        and node.func.attr == "ctx"
        and len(node.args) == 2
    )


class _StripCtx(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        return node.args[0] if _is_ctx(node) else node


def _materialise(tree: ast.Module, hoisted: set[str]) -> ast.Module:
    """A hoisted ``_hN = _f.ctx(view, shape)`` becomes ``_f.widen(view, shape)``: written
    out once, so that each step's operations on it broadcast less (same values); every
    other ``_f.ctx(view, shape)`` is the view itself."""
    fn = tree.body[0]
    for stmt in fn.body:  # type: ignore[attr-defined]
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and stmt.targets[0].id in hoisted
            and _is_ctx(stmt.value)
        ):
            stmt.value.func.attr = "widen"  # type: ignore[attr-defined]
    _StripCtx().visit(tree)
    return ast.fix_missing_locations(tree)


def _direct_reduction(node: ast.Call) -> None:
    """``np.sum(x, axis=a)`` -> ``np.add.reduce(x, axis=a)`` (only with an explicit axis:
    the ufunc's default axis is 0, np.sum's is all); ``np.interp(x, xp, fp)`` ->
    ``_f.interp_real(x, xp, fp)``."""
    f = node.func
    if (
        isinstance(f, ast.Attribute)
        and isinstance(f.value, ast.Name)
        and f.value.id == "np"
        and f.attr == "interp"
        and len(node.args) == 3
        and not node.keywords
    ):
        node.func = ast.copy_location(
            ast.Attribute(ast.Name("_f", ast.Load()), "interp_real", ast.Load()), f
        )
        ast.fix_missing_locations(node)
        return
    if (
        isinstance(f, ast.Attribute)
        and isinstance(f.value, ast.Name)
        and f.value.id == "np"
        and f.attr in _REDUCTIONS
        and len(node.args) == 1
        and [k.arg for k in node.keywords] == ["axis"]
    ):
        axis = node.keywords[0].value
        if isinstance(axis, ast.Tuple) and len(axis.elts) == 1:
            axis = axis.elts[0]
        if f.attr == "sum" and isinstance(axis, ast.Constant) and _whole(axis.value):
            node.func = ast.copy_location(
                ast.Attribute(ast.Name("_f", ast.Load()), "sum_axis", ast.Load()), f
            )
            node.args.append(ast.copy_location(ast.Constant(axis.value), axis))
            node.keywords = []
        else:
            ufunc = ast.Attribute(ast.Name("np", ast.Load()), _REDUCTIONS[f.attr], ast.Load())
            node.func = ast.copy_location(ast.Attribute(ufunc, "reduce", ast.Load()), f)
        ast.fix_missing_locations(node)


def _whole(value: object) -> bool:
    """A non-negative axis number (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _base(target: ast.AST) -> str | None:
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def _loaded(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class _Hoister:
    """Replace the largest loop-invariant sub-expressions by temporaries ``_h<i>``."""

    def __init__(self, unfit: set[str]):
        self.unfit = unfit  # names whose value may change during the loop
        self.hoisted: list[tuple[str, ast.expr]] = []
        self._names: dict[str, str] = {}
        self._invariant: dict[int, bool] = {}  # id(node) -> invariant(node)
        self.reuse_only = False

    def statement(self, stmt: ast.stmt) -> None:
        for field, value in ast.iter_fields(stmt):
            if field in ("targets", "target"):  # stores: only indices inside them
                for t in value if isinstance(value, list) else [value]:
                    if isinstance(t, ast.Subscript):
                        t.slice = self.expr(t.slice)
                continue
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.stmt):
                        self.statement(item)
                    elif isinstance(item, ast.expr):
                        value[i] = self.expr(item)
            elif isinstance(value, ast.expr):
                setattr(stmt, field, self.expr(value))

    def expr(self, node: ast.expr) -> ast.expr:
        if self.invariant(node):
            if not self.worth(node):
                return node
            if not self.reuse_only or ast.dump(node) in self._names:
                return self.replace(node)
        if isinstance(node, _SCOPES):
            return node  # its own names: never look inside
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.expr):
                        value[i] = self.expr(item)
                    elif isinstance(item, ast.keyword):
                        item.value = self.expr(item.value)
            elif isinstance(value, ast.expr) and field != "func":
                setattr(node, field, self.expr(value))
        return node

    def replace(self, node: ast.expr) -> ast.Name:
        key = ast.dump(node)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = f"{HOISTED}{len(self.hoisted)}"
            self.hoisted.append((name, node))
        return ast.copy_location(ast.Name(name, ast.Load()), node)

    @staticmethod
    def worth(node: ast.expr) -> bool:
        """Anything but a name, a literal, a tuple of literals or an attribute lookup."""
        if isinstance(node, (ast.Name, ast.Constant, ast.Attribute, ast.Slice)):
            return False
        if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
            return False
        if isinstance(node, ast.Tuple):  # slices are only valid inside brackets
            return not all(isinstance(e, (ast.Constant, ast.Slice)) for e in node.elts) and not any(
                isinstance(e, ast.Slice) for e in node.elts
            )
        return True

    def invariant(self, node: ast.AST) -> bool:
        """Whether ``node`` is a pure expression of values fixed for the whole loop."""
        memo = self._invariant.get(id(node))
        if memo is None:
            memo = self._invariant[id(node)] = self._is_invariant(node)
        return memo

    def _is_invariant(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id not in self.unfit
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp)):
            return all(self.invariant(c) for c in ast.iter_child_nodes(node))
        if isinstance(node, ast.Subscript):
            return self.invariant(node.value) and self.invariant(node.slice)
        if isinstance(node, ast.Slice):
            return all(self.invariant(c) for c in (node.lower, node.upper, node.step) if c)
        if isinstance(node, ast.Tuple):
            return all(self.invariant(e) for e in node.elts)
        if isinstance(node, ast.Attribute):  # a module's function or constant
            return isinstance(node.value, ast.Name) and node.value.id in ("np", "_f")
        if isinstance(node, ast.Call):
            return (
                self.pure(node.func)
                and all(self.invariant(a) for a in node.args)
                and all(k.arg is not None and self.invariant(k.value) for k in node.keywords)
            )
        for kind in (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop):
            if isinstance(node, kind):
                return True
        return False  # lists, comprehensions, starred, lambdas, ...

    def pure(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return func.id in _PURE_BUILTINS and func.id not in self.unfit
        if not isinstance(func, ast.Attribute):
            return False
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id == "_f":
            return True
        if isinstance(owner, ast.Name) and owner.id == "np":
            return func.attr not in _ALLOCATORS
        if (  # np.add.reduce and the like
            isinstance(owner, ast.Attribute)
            and isinstance(owner.value, ast.Name)
            and owner.value.id == "np"
            and func.attr == "reduce"
        ):
            return True
        return func.attr in _PURE_METHODS and self.invariant(owner)


_SCOPES = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)
