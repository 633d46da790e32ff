"""Typed exceptions of zkproofs.

Two channels, as arkworks' verifier has them: a proof that is well-formed but
wrong makes ``verify`` return ``False``; input that cannot even be checked
(a value >= r, a point off the curve, the wrong number of public inputs, a key
of another circuit, a truncated file) raises one of the errors below.
"""

import os


class ZkProofsError(Exception):
    """Base class of every error zkproofs raises on purpose."""


class MalformedInput(ZkProofsError):
    """Input that cannot be decoded or does not have the expected shape."""


class NonCanonicalFieldElement(MalformedInput):
    """An encoding of a scalar that is not in [0, r)."""


class InvalidPoint(MalformedInput):
    """A curve point that is off the curve, outside the prime-order subgroup,
    badly encoded, or the identity where the protocol forbids it."""


class PublicInputCountMismatch(MalformedInput):
    """A proof carries a different number of public inputs than the key expects."""


class CircuitMismatch(MalformedInput):
    """A key or proof belongs to another circuit (circuit digests differ)."""


class UnsatisfiedConstraint(ZkProofsError):
    """A witness violates a constraint; ``label`` names the first failing one."""

    def __init__(self, label: str, index: int):
        super().__init__(f"constraint {index} ({label}) is not satisfied")
        self.label = label
        self.index = index


class CircuitError(ZkProofsError):
    """A circuit was built incorrectly (bad parameters, missing input, misuse of a gadget)."""


class BackendUnavailable(ZkProofsError):
    """The requested curve backend is unknown or cannot be imported."""


class AccountsError(MalformedInput):
    """An account file that cannot be loaded: ``path``, 1-based ``line`` and ``column`` name where.

    ``line`` and ``column`` (a column name or JSON key) are ``None`` where they do
    not apply (a file that is not UTF-8, a JSON syntax error has a line but no
    column). The message reads ``accounts.csv, line 7, column BTC: <reason>``;
    ``where`` replaces the computed location prefix when the caller has its own.
    """

    def __init__(self, reason: str, *, path=None, line: int | None = None, column: str | None = None, where: str | None = None):
        self.reason = reason
        self.path = path
        self.line = line
        self.column = column
        if where is None:
            parts = []
            if path is not None:
                parts.append(os.path.basename(os.fspath(path)))
            if line is not None:
                parts.append(f"line {line}")
            if column is not None:
                parts.append(f"column {column}")
            where = ", ".join(parts)
        super().__init__(f"{where}: {reason}" if where else reason)


class MalformedFile(MalformedInput):
    """A binary file (``.ptau``, ``.zkey``) that cannot be decoded: ``where`` names the file,
    ``section`` the section type and ``offset`` the byte offset, where known.

    The message reads ``pot.ptau, section 2, offset 1234: <reason>``.
    """

    def __init__(self, where: str, reason: str, *, section: int | None = None, offset: int | None = None):
        self.where = where
        self.reason = reason
        self.section = section
        self.offset = offset
        parts = [os.path.basename(where)] if where else []
        if section is not None:
            parts.append(f"section {section}")
        if offset is not None:
            parts.append(f"offset {offset}")
        super().__init__(f"{', '.join(parts)}: {reason}" if parts else reason)


class CeremonyError(ZkProofsError):
    """A well-formed setup-ceremony transcript that fails a check; ``step`` names the check
    (for example ``"contribution 2: proof of knowledge of tau"``), so callers and tests
    can tell which one."""

    def __init__(self, step: str, reason: str):
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


class DegenerateKey(MalformedInput):
    """A verification key whose points let anyone forge or retarget proofs: gamma = delta,
    delta = +/- the generator, or a point at infinity in alpha, beta, gamma, delta or IC.
    The message names the field."""


class UntrustedKey(ZkProofsError):
    """A well-formed verification key the verifier's trust policy does not accept: a
    single-party key without the explicit opt-in, or a ceremony key whose transcript
    has not been verified against the circuit (:mod:`zkproofs.groth16.trust`)."""


class ReservesError(MalformedInput):
    """A proof of reserves, its claims, keys or the auditor's snapshot that cannot be used:
    the message names the file, line and field where there is one
    (:mod:`zkproofs.reserves`)."""


class SolvencyError(MalformedInput):
    """A solvency policy, plan, proof set or verdict input that cannot be used, or a tree
    whose leaves break the solvency statement: the message names the file and field, or
    the leaf and account (:mod:`zkproofs.solvency`)."""


class StatementFails(SolvencyError):
    """The tree breaks the global solvency statement: a leaf out of range or undercollateralised,
    a leaf that is not the stored one, or a published total or root that is not the leaves' own
    (the message names the leaf and account, or the total)."""
