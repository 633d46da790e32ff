"""Circuits as classes: declared inputs, one ``define`` method, shape and witness from the same code.

As gnark's ``Define(api)`` and arkworks' ``generate_constraints(cs)``: a circuit
class names its parameters, declares its public and private inputs and builds
its constraints in :meth:`Circuit.define`. Running ``define`` without inputs gives
the shape (for setup); with inputs it also gives the witness (for proving).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from functools import cached_property
from typing import Any, ClassVar, Mapping

from zkproofs import usercache
from zkproofs.errors import CircuitError
from zkproofs.r1cs import R1CS, ConstraintSystem

DIGEST_CACHE = "circuit-digests"
"""User-cache namespace of remembered circuit digests (:meth:`Circuit.digest`)."""
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class Circuit(ABC):
    """Base class of every circuit.

    Subclasses set ``name`` and ``description``, ``parameters`` (parameter name ->
    (default, help)), and implement :meth:`public_inputs`, :meth:`private_inputs`
    and :meth:`define`. Parameters are positive integers; a parameter whose
    default is 0 (a count of optional parts, such as pledge classes) may be 0.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    parameters: ClassVar[Mapping[str, tuple[int, str]]] = {}

    def __init__(self, **params: int):
        unknown = set(params) - set(self.parameters)
        if unknown:
            raise CircuitError(f"circuit {self.name!r} has no parameter(s) {', '.join(sorted(unknown))}")
        values = {key: default for key, (default, _) in self.parameters.items()}
        for key, value in params.items():
            low = 0 if self.parameters[key][0] == 0 else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise CircuitError(f"parameter {key} of {self.name!r} must be a {'non-negative' if low == 0 else 'positive'} integer, got {value!r}")
            values[key] = value
        self.params: dict[str, int] = values
        self.validate_params()

    def validate_params(self) -> None:
        """Raise CircuitError for parameter combinations the circuit cannot support."""

    @abstractmethod
    def public_inputs(self) -> list[str]:
        """Names of the public inputs, in the order the proof carries them."""

    @abstractmethod
    def private_inputs(self) -> list[str]:
        """Names of the private inputs the prover supplies."""

    @abstractmethod
    def define(self, cs: ConstraintSystem) -> None:
        """Build the constraints (and, in witness mode, the values) into ``cs``."""

    def input_names(self) -> list[str]:
        """Names the prover's inputs file must provide (public outputs excluded)."""
        return [n for n in self.public_inputs() if n not in self.derived_public_inputs()] + self.private_inputs()

    @classmethod
    def public_domain_problem(cls, public: Mapping[str, int]) -> str | None:
        """Why ``public`` (name -> value) lies outside the statement's domain, or None.

        A circuit whose soundness leaves a precondition on its public inputs to the
        verifier (as :class:`circuits.valid_transition.ValidTransition` does for prices,
        haircuts and the ratio) says here what it is; every generic verifier applies it
        before the Groth16 check. Default: no precondition. O(len(public)).
        """
        return None

    def derived_public_inputs(self) -> list[str]:
        """Public inputs the circuit computes from private ones (e.g. a commitment)."""
        return []

    def synthesize(self, inputs: Mapping[str, Any] | None = None) -> tuple[R1CS, list[int] | None]:
        """Run :meth:`define`; return (R1CS, full assignment or None in shape mode).

        Raises CircuitError for missing or unknown inputs or a public layout that
        does not match :meth:`public_inputs`; NonCanonicalFieldElement for inputs >= r.
        """
        cs = ConstraintSystem(flatten_inputs(inputs) if inputs is not None else None)
        self.define(cs)
        r1cs, witness = cs.finish()
        if list(r1cs.public_names) != self.public_inputs():
            raise CircuitError(
                f"circuit {self.name!r} declared public inputs {self.public_inputs()} but built {list(r1cs.public_names)}"
            )
        return r1cs, witness

    def witness(self, inputs: Mapping[str, Any]) -> list[int]:
        """The full assignment for ``inputs`` in the layout of :attr:`shape`, built in values-only
        mode (no rows: several times faster than :meth:`synthesize` on Poseidon-heavy circuits).

        Every product is checked as it is built (UnsatisfiedConstraint naming it). If the build
        does not match the shape (a combination whose terms cancel is free in shape mode but not
        visible to a values-only build), the witness comes from :meth:`synthesize` instead, so the
        result is always the shape's assignment. Raises as :meth:`synthesize`. Cost: one build
        without rows, plus the shape once per instance.
        """
        cs = ConstraintSystem(flatten_inputs(inputs), values_only=True)
        self.define(cs)
        names, count, witness = cs.finish_witness()
        shape = self.shape
        if names != shape.public_names or count != shape.num_constraints or len(witness) != shape.num_variables:
            return self.synthesize(inputs)[1]  # type: ignore[return-value]
        return witness

    @cached_property
    def shape(self) -> R1CS:
        """The constraint system without values (what setup needs)."""
        return self.synthesize(None)[0]

    def digest(self) -> str:
        """The R1CS digest of this circuit (``self.shape.digest()``), remembered in the user cache.

        Shape synthesis costs seconds for an inclusion circuit (1.6 s at depth 10),
        while a customer's verification should cost milliseconds, so the digest is
        kept in :mod:`zkproofs.usercache` (one folder per package version) under
        SHA-256(code fingerprint, name, parameters): the fingerprint hashes every
        source file of ``zkproofs`` and ``circuits`` (:func:`zkproofs.usercache.code_fingerprint`), so
        an upgraded or edited circuit never meets a digest of other code. A missing
        or malformed entry is a miss (one synthesis, then remembered). Trust: the
        cache is as trusted as the user's own files; whoever can write it can
        also replace the code. A hit costs the fingerprint (once per process) and
        one small file read.
        """
        if "shape" in self.__dict__:
            return self.shape.digest()
        key = usercache.fact_key(self.name, self.params)
        entry = usercache.recall(DIGEST_CACHE, key)
        if isinstance(entry, dict) and isinstance(entry.get("digest"), str) and _HEX_DIGEST.fullmatch(entry["digest"]):
            return entry["digest"]
        digest = self.shape.digest()
        usercache.remember(DIGEST_CACHE, key, {"circuit": self.name, "params": self.params, "digest": digest})
        return digest

    def describe(self) -> dict[str, Any]:
        """Name, parameters, input names and constraint count, for listings."""
        shape = self.shape
        return {
            "name": self.name,
            "description": self.description,
            "params": dict(self.params),
            "public_inputs": self.public_inputs(),
            "private_inputs": self.private_inputs(),
            "constraints": shape.num_constraints,
            "variables": shape.num_variables,
            "digest": shape.digest(),
        }


def flatten_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Expand list values into indexed names: {"x": [1, 2]} -> {"x[0]": 1, "x[1]": 2}.

    Nested lists give "x[i][j]". Scalars are left as they are (decoded later).
    """
    out: dict[str, Any] = {}

    def walk(name: str, value: Any) -> None:
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(f"{name}[{i}]", item)
        else:
            out[name] = value

    for key, value in inputs.items():
        walk(key, value)
    return out
