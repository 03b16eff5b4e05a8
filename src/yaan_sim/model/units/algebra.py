"""Units as products of base units with rational powers, the model's unit system (its
synonyms) and the parser of Vensim units strings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from yaan_sim.errors import ModelError

_DIMENSIONLESS = {"dmnl", "dimensionless"}
_CONTROL_KEYS = ("time_step", "initial_time", "final_time", "saveper")


class UnitsSyntaxError(ModelError):
    """A units string that cannot be read."""


# --------------------------------------------------------------------------------------
# Units and their algebra
# --------------------------------------------------------------------------------------
def unit_key(name: str) -> str:
    """The comparison key of a unit name: lower case, runs of spaces as one."""
    return " ".join(name.split()).lower()


@dataclass(frozen=True)
class Units:
    """A product of base units with rational powers; no factor means dimensionless.

    ``powers`` holds ``(key, power)`` sorted by key; ``names`` maps keys to the spelling
    shown (it does not take part in equality).
    """

    powers: tuple = ()
    names: tuple = field(default=(), compare=False, repr=False)

    @classmethod
    def base(cls, key: str, display: str) -> Units:
        return cls(((key, Fraction(1)),), ((key, display),))

    @property
    def dimensionless(self) -> bool:
        return not self.powers

    def _combine(self, other: Units, sign: int) -> Units:
        acc = dict(self.powers)
        for key, p in other.powers:
            acc[key] = acc.get(key, Fraction(0)) + sign * p
        names = dict(self.names)
        names.update((k, v) for k, v in other.names if k not in names)
        powers = tuple(sorted((k, p) for k, p in acc.items() if p != 0))
        return Units(powers, tuple((k, names[k]) for k, _ in powers))

    def __mul__(self, other: Units) -> Units:
        return self._combine(other, 1)

    def __truediv__(self, other: Units) -> Units:
        return self._combine(other, -1)

    def __pow__(self, exponent) -> Units:
        e = Fraction(exponent)
        if e == 0:
            return Units()
        return Units(tuple((k, p * e) for k, p in self.powers), self.names)

    def __str__(self) -> str:
        """Vensim's notation: ``yiyuan/(Year*Year)``, ``1/Year``, ``Dmnl``."""
        if not self.powers:
            return "Dmnl"
        names = dict(self.names)

        def factors(items):
            out = []
            for key, p in items:
                name = names.get(key, key)
                if p.denominator == 1:
                    out.extend([name] * int(p))  # Year*Year: what Vensim itself writes
                else:
                    out.append(f"{name}^({p})")
            return out

        num = factors((k, p) for k, p in self.powers if p > 0)
        den = factors((k, -p) for k, p in self.powers if p < 0)
        text = "*".join(num) or "1"
        if den:
            text += "/" + (den[0] if len(den) == 1 else "(" + "*".join(den) + ")")
        return text


DMNL = Units()


class UnitSystem:
    """Reads units strings, with the model's synonyms (``Year, Years``)."""

    def __init__(self, synonyms=()):
        self._canon: dict[str, tuple[str, str]] = {}  # key -> (canonical key, display)
        for group in synonyms:
            names = [n.strip() for n in group if n.strip()]
            if not names:
                continue
            head = (unit_key(names[0]), " ".join(names[0].split()))
            for n in names:
                self._canon.setdefault(unit_key(n), head)
        self._cache: dict[str, Units] = {}

    def unit(self, name: str) -> Units:
        text = " ".join(name.split())
        key = unit_key(text)
        if key in _DIMENSIONLESS:
            return DMNL
        try:
            value = float(text)
        except ValueError:
            key, text = self._canon.get(key, (key, text))
            return Units.base(key, text)
        if value == 1:
            return DMNL
        raise UnitsSyntaxError(
            f"a number ({text}) in units: Vensim units have no scale factors; "
            "name a unit instead (wanyuan, not 10000*yuan)"
        )

    def parse(self, text: str) -> Units:
        """``"wanyuan/(mu*Year)"`` -> Units. Raises UnitsSyntaxError."""
        if text in self._cache:
            return self._cache[text]
        if not text.strip():
            raise UnitsSyntaxError("empty units")
        tokens = [t.strip() for t in re.findall(r"[*/^()]|[^*/^()]+", text)]
        tokens = [t for t in tokens if t]
        parser = _UnitsParser(tokens, self, text)
        out = parser.expression()
        if parser.pos != len(tokens):
            raise UnitsSyntaxError(f"unexpected '{tokens[parser.pos]}' in '{text}'")
        self._cache[text] = out
        return out


class _UnitsParser:
    """expression := power (('*' | '/') power)* ; power := atom ('^' exponent)? ;
    atom := name | '(' expression ')' ; exponent := number | '(' number ['/' number] ')'."""

    def __init__(self, tokens, system, text):
        self.tokens, self.system, self.text, self.pos = tokens, system, text, 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected=None):
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            want = f"'{expected}'" if expected else "a unit"
            raise UnitsSyntaxError(f"expected {want} in '{self.text}'")
        self.pos += 1
        return tok

    def expression(self) -> Units:
        out = self.power()
        while self.peek() in ("*", "/"):
            op = self.take()
            rhs = self.power()
            out = out * rhs if op == "*" else out / rhs
        return out

    def power(self) -> Units:
        base = self.atom()
        if self.peek() == "^":
            self.take()
            return base ** self.exponent()
        return base

    def atom(self) -> Units:
        tok = self.peek()
        if tok == "(":
            self.take("(")
            out = self.expression()
            self.take(")")
            return out
        if tok in (None, ")", "*", "/", "^"):
            raise UnitsSyntaxError(f"a unit is missing in '{self.text}'")
        return self.system.unit(self.take())

    def exponent(self) -> Fraction:
        def number(tok):
            try:
                return Fraction(tok).limit_denominator(1000)
            except (ValueError, ZeroDivisionError):
                raise UnitsSyntaxError(
                    f"the power '{tok}' in '{self.text}' is not a number"
                ) from None

        if self.peek() == "(":
            self.take("(")
            value = number(self.take())
            if self.peek() == "/":
                self.take("/")
                den = number(self.take())
                if den == 0:
                    raise UnitsSyntaxError(f"a power divides by zero in '{self.text}'")
                value /= den
            self.take(")")
            return value
        return number(self.take())
