"""Rank-1 constraint systems built by running ordinary Python (our PySNARK replacement).

A constraint system over F_r is a list of constraints <A_i, z> * <B_i, z> = <C_i, z>
over the assignment vector z = (1, x_1..x_l, w_1..w_m): the constant one, the l
public inputs, then the private witness. Circuit code manipulates
:class:`LinearCombination` values with ``+``, ``-`` and ``*`` by constants (free:
no constraint), and calls :meth:`ConstraintSystem.mul` / :meth:`enforce` for
the products that cost one R1CS row each.

The same circuit code runs in two modes:

* **shape** (``ConstraintSystem()``): no values; what setup needs;
* **witness** (``ConstraintSystem(inputs)``): every variable carries its value,
  computed eagerly as the code runs, so the witness falls out of building;
* **values only** (``ConstraintSystem(inputs, values_only=True)``): the witness
  without the rows. A combination that depends on a variable keeps only its value
  (its terms are the marker :data:`SYMBOLIC`), so building costs a few integer
  operations per step instead of a dictionary per combination: what a prover that
  already holds the circuit's shape needs (:meth:`zkproofs.circuit.Circuit.witness`).
  Every product is checked as it is made (UnsatisfiedConstraint naming it).

Hints (``cs.witness(fn)``) are values computed outside the constraints (bits,
inverses, quotients); gadgets must always follow a hint with constraints that pin
it down, as circom's ``<--`` is followed by ``===``.

Source: the R1CS / QAP formulation of Gennaro, Gentry, Parno, Raykova (GGPR 2013)
as used by Groth16 (Groth 2016, ePrint 2016/260, section 2.3).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Iterable, Mapping, Sequence, Union

from zkproofs.errors import CircuitError, UnsatisfiedConstraint
from zkproofs.field import R, decode_scalar

ONE = 0
"""Index of the constant-one variable in every assignment."""

Terms = dict[int, int]
"""A sparse row: variable index -> coefficient in [1, r)."""

SYMBOLIC: Terms = MappingProxyType({})  # type: ignore[assignment]
"""The terms of a values-only combination that depends on a variable (compared by identity; read-only)."""


class LinearCombination:
    """Sum of coeff * variable over F_r, with its value in witness mode.

    Operations with ints or other combinations cost no constraint. ``value`` is
    the combination's value (an int in [0, r)) when the system holds a witness,
    else None. Instances are immutable by convention: operators return new ones.
    """

    __slots__ = ("terms", "value")

    def __init__(self, terms: Terms, value: int | None):
        self.terms = terms
        self.value = value

    # construction helpers -------------------------------------------------
    @staticmethod
    def constant(c: int, witness_mode: bool) -> "LinearCombination":
        c %= R
        return LinearCombination({ONE: c} if c else {}, c if witness_mode else None)

    def is_constant(self) -> bool:
        terms = self.terms
        return terms is not SYMBOLIC and (not terms or (len(terms) == 1 and ONE in terms))

    def constant_value(self) -> int:
        """The value of a constant combination (precondition: ``is_constant()``)."""
        return self.terms.get(ONE, 0)

    # arithmetic -----------------------------------------------------------
    def _combine(self, other: "LinearCombination", sign: int) -> "LinearCombination":
        if self.terms is SYMBOLIC or other.terms is SYMBOLIC:
            return LinearCombination(SYMBOLIC, (self.value + sign * other.value) % R)
        terms = dict(self.terms)
        for var, coeff in other.terms.items():
            new = (terms.get(var, 0) + sign * coeff) % R
            if new:
                terms[var] = new
            else:
                terms.pop(var, None)
        if self.value is None or other.value is None:
            value = None
        else:
            value = (self.value + sign * other.value) % R
        return LinearCombination(terms, value)

    def _lift(self, other: "Operand") -> "LinearCombination":
        if isinstance(other, LinearCombination):
            return other
        if isinstance(other, int):
            return LinearCombination.constant(other, self.value is not None)
        return NotImplemented  # type: ignore[return-value]

    def __add__(self, other: "Operand") -> "LinearCombination":
        other = self._lift(other)
        if other is NotImplemented:
            return NotImplemented
        return self._combine(other, 1)

    __radd__ = __add__

    def __sub__(self, other: "Operand") -> "LinearCombination":
        other = self._lift(other)
        if other is NotImplemented:
            return NotImplemented
        return self._combine(other, -1)

    def __rsub__(self, other: "Operand") -> "LinearCombination":
        other = self._lift(other)
        if other is NotImplemented:
            return NotImplemented
        return other._combine(self, -1)

    def __neg__(self) -> "LinearCombination":
        return self * -1

    def __mul__(self, k: int) -> "LinearCombination":
        if isinstance(k, LinearCombination):
            if k.is_constant():
                k = k.constant_value()
            elif self.is_constant():
                return k * self.constant_value()
            else:
                raise CircuitError("product of two variables needs cs.mul(a, b): it costs a constraint")
        if not isinstance(k, int):
            return NotImplemented
        k %= R
        if k == 0:
            return LinearCombination({}, 0 if self.value is not None else None)
        if self.terms is SYMBOLIC:
            return LinearCombination(SYMBOLIC, self.value * k % R)
        terms = {var: coeff * k % R for var, coeff in self.terms.items()}
        return LinearCombination(terms, None if self.value is None else self.value * k % R)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"LinearCombination({self.terms}, value={self.value})"


Operand = Union[LinearCombination, int]


@dataclass(frozen=True)
class R1CS:
    """A finished constraint system: rows A, B, C over z = (1, public, private).

    Shapes: ``a``, ``b``, ``c`` each hold ``num_constraints`` sparse rows
    (dict var -> coeff); ``num_variables`` counts the constant one, the
    ``num_public`` public inputs (named by ``public_names``, in order) and the
    private variables. ``labels[i]`` names constraint i.
    """

    num_variables: int
    public_names: tuple[str, ...]
    a: tuple[Terms, ...]
    b: tuple[Terms, ...]
    c: tuple[Terms, ...]
    labels: tuple[str, ...]
    hint_labels: Mapping[int, str] = field(default_factory=dict, compare=False)

    @property
    def num_public(self) -> int:
        return len(self.public_names)

    @property
    def num_constraints(self) -> int:
        return len(self.a)

    def digest(self) -> str:
        """SHA-256 (hex) of the matrices and public-input layout: the circuit's identity.

        Two systems have the same digest exactly when they have the same number of
        variables, the same public-input names in the same order and the same rows
        (labels excluded). Keys and proofs carry it; cost O(nnz).
        """
        cached = self.__dict__.get("_digest")
        if cached is not None:
            return cached
        h = hashlib.sha256()
        h.update(b"zkproofs-r1cs-v1")
        h.update(struct.pack("<QQQ", self.num_variables, self.num_public, self.num_constraints))
        for name in self.public_names:
            encoded = name.encode()
            h.update(struct.pack("<I", len(encoded)) + encoded)
        u32 = struct.Struct("<I").pack
        encoded: dict[int, bytes] = {}  # each distinct coefficient encoded once
        for rows in (self.a, self.b, self.c):
            parts = []
            for row in rows:
                parts.append(u32(len(row)))
                for var in sorted(row):
                    value = row[var]
                    coefficient = encoded.get(value)
                    if coefficient is None:
                        coefficient = encoded[value] = value.to_bytes(32, "little")
                    parts.append(u32(var))
                    parts.append(coefficient)
            h.update(b"".join(parts))
        digest = h.hexdigest()
        object.__setattr__(self, "_digest", digest)
        return digest

    def first_unsatisfied(self, witness: Sequence[int]) -> int | None:
        """Index of the first constraint the assignment violates, or None. O(nnz)."""
        if len(witness) != self.num_variables:
            raise CircuitError(f"assignment has {len(witness)} values, the system has {self.num_variables} variables")
        z = witness
        for i, (ra, rb, rc) in enumerate(zip(self.a, self.b, self.c)):
            va = sum(coeff * z[var] for var, coeff in ra.items())
            vb = sum(coeff * z[var] for var, coeff in rb.items())
            vc = sum(coeff * z[var] for var, coeff in rc.items())
            if (va * vb - vc) % R:
                return i
        return None

    def evaluate(self, witness: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
        """(<A_i, z>, <B_i, z>, <C_i, z>) mod r for every row i, in one O(nnz) pass.

        Raises UnsatisfiedConstraint naming the first row with A_i B_i != C_i, and
        CircuitError for an assignment of the wrong length. The prover uses the rows
        for the QAP quotient, so satisfaction costs no extra pass.
        """
        if len(witness) != self.num_variables:
            raise CircuitError(f"assignment has {len(witness)} values, the system has {self.num_variables} variables")
        z = witness
        out: tuple[list[int], list[int], list[int]] = ([], [], [])
        for rows, values in zip((self.a, self.b, self.c), out):
            values.extend(sum(coeff * z[var] for var, coeff in row.items()) % R for row in rows)
        for i, (va, vb, vc) in enumerate(zip(*out)):
            if (va * vb - vc) % R:
                raise UnsatisfiedConstraint(self.labels[i], i)
        return out

    def is_satisfied(self, witness: Sequence[int]) -> bool:
        """True iff every constraint holds for the full assignment ``witness``."""
        return self.first_unsatisfied(witness) is None

    def check(self, witness: Sequence[int]) -> None:
        """Raise UnsatisfiedConstraint naming the first failing constraint by label."""
        index = self.first_unsatisfied(witness)
        if index is not None:
            raise UnsatisfiedConstraint(self.labels[index], index)


class ConstraintSystem:
    """Builder for an :class:`R1CS`, in shape mode (``inputs=None``) or witness mode.

    ``inputs`` maps input names to values (ints or decimal/0x strings); values
    must be canonical field elements. Variables are numbered in creation order
    while building; :meth:`finish` renumbers them into the Groth16 layout
    (one, public inputs in declaration order, private variables).
    """

    def __init__(self, inputs: Mapping[str, int | str] | None = None, *, values_only: bool = False):
        if values_only and inputs is None:
            raise CircuitError("a values-only system needs inputs")
        self.witness_mode = inputs is not None
        self.values_only = values_only
        self._count = 0
        self._inputs = dict(inputs) if inputs is not None else {}
        self._used_inputs: set[str] = set()
        self._values: list[int | None] = [1]
        self._is_public: list[bool] = [False]
        self._public_order: list[tuple[str, int]] = []
        self._a: list[Terms] = []
        self._b: list[Terms] = []
        self._c: list[Terms] = []
        self._labels: list[str] = []
        self._hint_labels: dict[int, str] = {}
        self._scope: list[str] = []
        self._prefix = ""

    # variables ------------------------------------------------------------
    @property
    def one(self) -> LinearCombination:
        return LinearCombination({ONE: 1}, 1 if self.witness_mode else None)

    def constant(self, c: int) -> LinearCombination:
        return LinearCombination.constant(c, self.witness_mode)

    def _new_var(self, value: int | None, public: bool) -> LinearCombination:
        index = len(self._values)
        self._values.append(value)
        self._is_public.append(public)
        return LinearCombination(SYMBOLIC if self.values_only else {index: 1}, value)

    def _input_value(self, name: str) -> int | None:
        if not self.witness_mode:
            return None
        if name not in self._inputs:
            raise CircuitError(f"missing input {name!r}")
        self._used_inputs.add(name)
        return decode_scalar(self._inputs[name], what=f"input {name!r}")

    def public_input(self, name: str) -> LinearCombination:
        """A public input read from ``inputs[name]`` (witness mode)."""
        self._public_order.append((name, len(self._values)))
        return self._new_var(self._input_value(name), public=True)

    def private_input(self, name: str) -> LinearCombination:
        """A private input read from ``inputs[name]`` (witness mode)."""
        return self._new_var(self._input_value(name), public=False)

    def public_output(self, name: str, value: LinearCombination) -> LinearCombination:
        """Expose ``value`` as a public input named ``name`` (one linear constraint)."""
        self._public_order.append((name, len(self._values)))
        var = self._new_var(value.value, public=True)
        self.assert_equal(var, value, f"output {name}")
        return var

    def witness(self, compute: Callable[[], int], label: str = "hint") -> LinearCombination:
        """A private variable whose value ``compute()`` gives (called in witness mode only).

        The caller must constrain it: a hint alone proves nothing.
        """
        value = compute() % R if self.witness_mode else None
        if not self.values_only:
            self._hint_labels[len(self._values)] = self._prefix + label
        return self._new_var(value, public=False)

    # constraints ----------------------------------------------------------
    def enforce(self, a: Operand, b: Operand, c: Operand, label: str) -> None:
        """Add the constraint a * b = c (one R1CS row)."""
        a, b, c = (self._lc(x) for x in (a, b, c))
        if self.values_only:
            if (a.value * b.value - c.value) % R:
                raise UnsatisfiedConstraint(self._prefix + label, self._count)
            self._count += 1
            return
        self._a.append(a.terms)
        self._b.append(b.terms)
        self._c.append(c.terms)
        self._labels.append(self._prefix + label)

    def mul(self, a: Operand, b: Operand, label: str = "mul") -> LinearCombination:
        """a * b as a new variable, constrained by one row; free if either side is constant."""
        a, b = self._lc(a), self._lc(b)
        if a.is_constant():
            return b * a.constant_value()
        if b.is_constant():
            return a * b.constant_value()
        value = a.value * b.value % R if self.witness_mode else None
        out = self._new_var(value, public=False)
        self.enforce(a, b, out, label)
        return out

    def assert_equal(self, a: Operand, b: Operand, label: str = "equal") -> None:
        """Constrain a == b: (a - b) * 1 = 0."""
        self.enforce(self._lc(a) - self._lc(b), self.one, self.constant(0), label)

    def assert_bool(self, x: Operand, label: str = "boolean") -> None:
        """Constrain x in {0, 1}: x * (x - 1) = 0."""
        x = self._lc(x)
        self.enforce(x, x - 1, self.constant(0), label)

    def _lc(self, x: Operand) -> LinearCombination:
        if isinstance(x, LinearCombination):
            return x
        if isinstance(x, int):
            return self.constant(x)
        raise CircuitError(f"expected a LinearCombination or int, got {type(x).__name__}")

    # labels ---------------------------------------------------------------
    def scope(self, name: str) -> "_Scope":
        """Context manager prefixing labels of constraints built inside with ``name/``."""
        return _Scope(self, name)

    # result ---------------------------------------------------------------
    @property
    def num_constraints(self) -> int:
        return self._count if self.values_only else len(self._a)

    def finish(self) -> tuple[R1CS, list[int] | None]:
        """Renumber into (one, public..., private...) and return (R1CS, witness or None).

        Raises CircuitError if an input was supplied but never used (a typo in an
        inputs file must not be silently ignored).
        """
        if self.values_only:
            raise CircuitError("a values-only system has no rows: use finish_witness()")
        mapping = self._layout()
        n = len(self._values)

        def remap(rows: list[Terms]) -> tuple[Terms, ...]:
            return tuple({mapping[v]: coeff for v, coeff in row.items()} for row in rows)

        r1cs = R1CS(
            num_variables=n,
            public_names=tuple(name for name, _ in self._public_order),
            a=remap(self._a),
            b=remap(self._b),
            c=remap(self._c),
            labels=tuple(self._labels),
            hint_labels={mapping[v]: label for v, label in self._hint_labels.items()},
        )
        return r1cs, self._assignment(mapping) if self.witness_mode else None

    def finish_witness(self) -> tuple[tuple[str, ...], int, list[int]]:
        """(public-input names, number of constraints, full assignment in the Groth16 layout) of a
        values-only or witness-mode system, without building rows. CircuitError as :meth:`finish`."""
        if not self.witness_mode:
            raise CircuitError("a shape-mode system has no witness")
        return tuple(name for name, _ in self._public_order), self.num_constraints, self._assignment(self._layout())

    def _layout(self) -> list[int]:
        """Creation index -> index in (one, public..., private...); CircuitError for an unused input."""
        unused = set(self._inputs) - self._used_inputs
        if unused:
            raise CircuitError(f"unknown input(s): {', '.join(sorted(unused))}")
        n = len(self._values)
        mapping = [0] * n
        next_index = 1
        for _, var in self._public_order:
            mapping[var] = next_index
            next_index += 1
        for var in range(1, n):
            if not self._is_public[var]:
                mapping[var] = next_index
                next_index += 1
        return mapping

    def _assignment(self, mapping: list[int]) -> list[int]:
        witness = [0] * len(self._values)
        for var, value in enumerate(self._values):
            witness[mapping[var]] = value  # type: ignore[assignment]
        return witness


class _Scope:
    def __init__(self, cs: ConstraintSystem, name: str):
        self.cs, self.name = cs, name

    def __enter__(self) -> ConstraintSystem:
        self.cs._scope.append(self.name)
        self.cs._prefix = "/".join(self.cs._scope) + "/"
        return self.cs

    def __exit__(self, *exc: object) -> None:
        self.cs._scope.pop()
        self.cs._prefix = "/".join(self.cs._scope) + "/" if self.cs._scope else ""


def linear_sum(terms: Iterable[LinearCombination], witness_mode: bool) -> LinearCombination:
    """Sum of combinations in O(total terms), without the quadratic cost of repeated ``+``."""
    acc: Terms = {}
    value: int | None = 0 if witness_mode else None
    symbolic = False
    for lc in terms:
        if lc.terms is SYMBOLIC or symbolic:  # values only: nothing to collect, just the value
            symbolic = True
            value = (value + lc.value) % R  # type: ignore[operator]
            continue
        for var, coeff in lc.terms.items():
            acc[var] = (acc.get(var, 0) + coeff) % R
        if value is not None:
            value = (value + lc.value) % R if lc.value is not None else None
    if symbolic:
        return LinearCombination(SYMBOLIC, value)
    return LinearCombination({v: c for v, c in acc.items() if c}, value)
