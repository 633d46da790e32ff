"""Groth16 key generation by a single party (Groth 2016, section 3.2, "Setup").

Single-party setup is the special case of the multi-party ceremony
(:mod:`zkproofs.ceremony.phase2`, BGM17) with one participant: it generates its own
phase 1 (tau, alpha, beta) and makes the one phase-2 contribution (delta); gamma is
the generator, as in every snarkjs key. One code path builds and records keys, so
the two setups cannot drift.

Trust model: whoever runs setup samples the trapdoor and could forge proofs with
it. The trapdoor lives only in local variables and is never written anywhere; the
key records the circuit digest and its provenance, "single-party setup by PARTY",
which verifiers accept only when told to trust PARTY (:mod:`zkproofs.groth16.trust`).
Keys nobody has to trust alone come from a multi-party ceremony
(:mod:`zkproofs.ceremony`).
"""

from __future__ import annotations

from zkproofs.circuit import Circuit
from zkproofs.groth16.keys import ProvingKey


def setup(circuit: Circuit, *, party: str, backend: str | None = None) -> ProvingKey:
    """Generate a proving key (which embeds the verifying key, ``pk.vk``) for ``circuit``,
    recording ``party`` (who runs this and must be trusted to forget the trapdoor)
    as the key's :class:`~zkproofs.groth16.keys.SingleParty` provenance.

    Cost: O(N + nnz) field operations to evaluate the QAP at tau, then about
    4m + 2N fixed-base G1 and m G2 scalar multiplications (m variables, N domain
    size) — the dominant cost, in the compiled kernel on three threads (see
    :func:`zkproofs.kernels.fixed_base_mul`). ``backend`` names the curve backend (see
    :func:`zkproofs.backends.get_backend`). Raises ValueError for an empty ``party``.
    """
    if not party.strip():
        raise ValueError("setup: name the party that runs it (it must be trusted to discard the trapdoor)")
    # Imported here: the ceremony package builds on groth16's keys and QAP, which load first.
    from zkproofs.ceremony.phase2 import single_party_setup

    return single_party_setup(circuit, party=party, backend=backend)
