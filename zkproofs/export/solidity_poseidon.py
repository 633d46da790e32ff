"""Poseidon over the BLS12-381 scalar field in Solidity (inline assembly), for generated contracts.

Source: Poseidon (Grassi et al., USENIX Security 2021), the Hades permutation
exactly as :func:`zkproofs.poseidon.permute_reference` computes it -- per round:
add the round constants, S-box x^5 on every element (full rounds, the first and
last R_F / 2) or on the first only (partial rounds), multiply by the MDS matrix
-- and the sponge of :mod:`zkproofs.poseidon.native` (capacity L * 2^64, rate
t - 1 absorbing the inputs in zero-padded chunks, output state[1]). The
constants are those of :func:`zkproofs.poseidon.poseidon_params`; the MDS
entries are literals of the code, the round constants one ``bytes constant``.

Only the permutation is generated here (callers absorb and squeeze);
tests/test_solidity_escrow.py holds it against :func:`zkproofs.poseidon.permute_reference`
on anvil. Gas at t = 5: about 145,000 per permutation (anvil, Prague; see
BENCHMARKS.md); each is R_F t + R_P S-boxes (3 MULMOD each) and (R_F + R_P) t^2
MULMOD for the MDS.
The partial-round optimisation of the paper's appendix B is not used (simpler
code to audit, about twice the gas of the partial rounds).
"""

from __future__ import annotations

from zkproofs.field import R
from zkproofs.poseidon import poseidon_params

HEX_R = f"{R:#066x}"


def _mds_row(row: tuple[int, ...]) -> str:
    terms = [f"mulmod({m:#x}, a{j}, {HEX_R})" for j, m in enumerate(row)]
    expr = terms[0]
    for term in terms[1:]:
        expr = f"addmod({expr}, {term}, {HEX_R})"
    return expr


def poseidon_solidity(t: int) -> str:
    """Solidity contract members (4-space indentation): ``POSEIDON_RC`` and
    ``_poseidonPermute(uint256[t] memory state)``, the permutation
    :func:`zkproofs.poseidon.permute_reference` in place.

    The caller builds the sponge (capacity, absorption, output state[1]) and
    passes state elements < r (the function does not check). Raises ValueError
    for a width :func:`zkproofs.poseidon.poseidon_params` does not offer.
    """
    params = poseidon_params(t)
    half = params.r_f // 2
    rc = b"".join(c.to_bytes(32, "big") for row in params.round_constants for c in row)
    load = "\n".join(f"                let a{i} := addmod(mload(add(st, {32 * i})), mload(add(rc, {32 * i})), {HEX_R})" for i in range(t))
    full_sbox = "\n".join(f"                    a{i} := p5(a{i})" for i in range(1, t))
    mds = "\n".join(f"                mstore(add(st, {32 * i}), {_mds_row(row)})" for i, row in enumerate(params.mds))
    return f"""    /// Poseidon (Grassi et al. 2021) round constants for t = {t}, R_F = {params.r_f}, R_P = {params.r_p}:
    /// {params.rounds} rounds of {t} field elements, 32 bytes each (zkproofs.poseidon.poseidon_params({t})).
    bytes internal constant POSEIDON_RC =
        hex"{rc.hex()}";

    /// The Poseidon permutation (t = {t}, zkproofs.poseidon.permute_reference), in place.
    /// Each element of `state` must be < r (not checked here). Gas: about 145,000.
    function _poseidonPermute(uint256[{t}] memory state) internal pure {{
        bytes memory constants = POSEIDON_RC;
        assembly ("memory-safe") {{
            function p5(x) -> y {{
                let x2 := mulmod(x, x, {HEX_R})
                y := mulmod(mulmod(x2, x2, {HEX_R}), x, {HEX_R})
            }}
            let st := state
            let rc := add(constants, 32)
            for {{ let r := 0 }} lt(r, {params.rounds}) {{ r := add(r, 1) }} {{
{load}
                rc := add(rc, {32 * t})
                a0 := p5(a0)
                if or(lt(r, {half}), gt(r, {half + params.r_p - 1})) {{
{full_sbox}
                }}
{mds}
            }}
        }}
    }}
"""
