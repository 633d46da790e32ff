"""Whether a verification key belongs to a circuit: checked here, beside the keys.

The constraint layer (:mod:`zkproofs.circuit`) knows nothing of keys; binding a
key to the circuit a verifier recomputes is the proof system's concern.
"""

from __future__ import annotations

from zkproofs.circuit import Circuit
from zkproofs.errors import CircuitMismatch
from zkproofs.groth16.keys import VerifyingKey


def check_key(circuit: Circuit, vk: VerifyingKey, what: str = "verification key") -> None:
    """CircuitMismatch unless ``vk`` is labelled as a key of exactly ``circuit``: same
    name, parameters, public inputs in order, and the digest of this code's R1CS.

    The digest is recomputed from ``circuit.define``, so a key labelled for any
    other constraint system (another version, a weaker variant) is refused. The
    label alone does not tie the key's points to the circuit. Cost: one shape
    synthesis (about 0.1 s for a 1x1 collateral ratio, 1.6 s for a depth-10
    inclusion circuit) the first time per circuit, parameters and code, then a
    user-cache read (:meth:`zkproofs.circuit.Circuit.digest`).
    """
    claimed = (vk.circuit.name, vk.circuit.params_dict, list(vk.public_names))
    if claimed != (circuit.name, circuit.params, circuit.public_inputs()):
        raise CircuitMismatch(
            f"{what} is for {vk.circuit.name} {vk.circuit.params_dict}; "
            f"expected {circuit.name} {circuit.params} with public inputs {circuit.public_inputs()}"
        )
    digest = circuit.digest()
    if vk.circuit.digest != digest:
        raise CircuitMismatch(
            f"{what} claims {circuit.name} {circuit.params} but its circuit digest {vk.circuit.digest[:16]}... "
            f"is not this circuit's {digest[:16]}..."
        )
