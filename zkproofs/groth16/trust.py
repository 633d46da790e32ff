"""Whether a verifier may rely on a verification key: its circuit, and who could forge with it.

Two checks, beside the keys (the constraint layer, :mod:`zkproofs.circuit`, knows
nothing of keys):

- :func:`check_key`: the key is labelled for exactly the circuit the verifier
  recomputes (name, parameters, public inputs, R1CS digest). A label only.
- :func:`require_trusted`: the label, and a provenance the verifier accepts. Whoever
  knows a key's trapdoor can prove false statements (Groth 2016, section 3.2), so a
  single-party key is accepted only when the user says explicitly that they trust its
  author (:class:`KeyTrust`, the ``--trust-single-party-key`` flag or the settlement
  policy's ``trust_single_party_keys``); by default a key must come from a ceremony
  (Bowe, Gabizon, Miers 2017, ePrint 2017/1050) whose transcript this user verified
  against the circuit (:func:`zkproofs.ceremony.phase2.verify_zkey` checks every point
  of the key against the circuit and the phase-1 transcript, and every contribution): then
  it is sound if one contributor was honest. A verified transcript is remembered in
  the user cache (:mod:`zkproofs.usercache`, namespace ``verified-transcripts``, keyed
  by the transcript hash, holding the SHA-256 of the key it yields), so checking a
  proof stays fast; :attr:`KeyTrust.reverify` repeats the verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkproofs import usercache
from zkproofs.circuit import Circuit
from zkproofs.errors import CircuitMismatch, UntrustedKey
from zkproofs.groth16.keys import Ceremony, Provenance, SingleParty, VerifyingKey
from zkproofs.groth16.serialize import check_vk_points, vk_hash


def check_key(circuit: Circuit, vk: VerifyingKey, what: str = "verification key") -> None:
    """CircuitMismatch unless ``vk`` is labelled as a key of exactly ``circuit``: same
    name, parameters, public inputs in order, and the digest of this code's R1CS.

    The digest is recomputed from ``circuit.define``, so a key labelled for any
    other constraint system (another version, a weaker variant) is refused. The
    label alone does not tie the key's points to the circuit (:func:`require_trusted`
    does). Cost: one shape
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


CACHE_NAMESPACE = "verified-transcripts"
"""User-cache namespace (:mod:`zkproofs.usercache`): transcript hash -> the key it was verified to yield."""

SINGLE_PARTY_FLAG = "--trust-single-party-key"


@dataclass(frozen=True)
class KeyTrust:
    """What a verifier accepts besides a ceremony key whose transcript it verified.

    ``single_party``: accept keys from a single-party setup, i.e. trust their
    author not to have kept the trapdoor (an explicit opt-in: the operator's
    flag or policy key). ``reverify``: verify ceremony transcripts again even if
    this user verified them before.
    """

    single_party: bool = False
    reverify: bool = False


@dataclass(frozen=True)
class Transcript:
    """A ceremony's files for one key: the phase-2 ``.zkey`` and the phase-1 ``.ptau`` it builds on."""

    zkey: Path
    ptau: Path


@dataclass(frozen=True)
class TrustReport:
    """A verifier's decision to rely on one key for one circuit: made only by :func:`require_trusted`.

    ``vk_sha256`` (:func:`~zkproofs.groth16.serialize.vk_hash`) names the key;
    ``circuit`` and ``params`` the circuit it was checked against; ``basis`` says
    why it is trusted (an explicit opt-in, or a verified transcript).
    """

    provenance: Provenance
    basis: str
    vk_sha256: str
    circuit: str
    params: tuple[tuple[str, int], ...]

    def covers(self, vk: VerifyingKey, circuit: str, params: dict[str, int]) -> bool:
        """True if this decision was made for exactly ``vk`` and that circuit."""
        return (self.vk_sha256, self.circuit, dict(self.params)) == (vk_hash(vk), circuit, params)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provenance": self.provenance.to_dict(),
            "description": self.provenance.describe(),
            "trusted_because": self.basis,
            "verification_key_sha256": self.vk_sha256,
        }


def require_trusted(
    circuit: Circuit,
    vk: VerifyingKey,
    trust: KeyTrust,
    *,
    transcript: Transcript | None = None,
    what: str = "verification key",
    opt_in: str = SINGLE_PARTY_FLAG,
) -> TrustReport:
    """The basis on which ``vk`` may verify proofs of ``circuit``, or UntrustedKey saying what is missing.

    Checks the label first (:func:`check_key`, CircuitMismatch), the points
    (:func:`~zkproofs.groth16.serialize.check_vk_points`, DegenerateKey), then the
    provenance:

    - single-party: accepted only if ``trust.single_party`` (``opt_in`` names how the
      user says so, for the message);
    - ceremony: accepted if this user verified the key's transcript before (the user
      cache holds the SHA-256 of this exact key under its transcript hash) and
      ``trust.reverify`` is off; otherwise ``transcript`` must be given and
      :func:`zkproofs.ceremony.phase2.verify_zkey` must find the transcript's key
      consistent with ``circuit`` and the phase-1 transcript, with this key's points,
      transcript hash and contribution count (CeremonyError naming the failed step otherwise); the
      result is then remembered (and the phase-1 file's verification, by its content,
      unless ``trust.reverify``, which verifies phase 1 again too);
    - none recorded (a foreign key format): refused.

    Cost: one shape synthesis (label) plus, for a ceremony key not yet remembered, a
    full transcript verification (phase2's cost); afterwards one small file read.
    """
    check_key(circuit, vk, what)
    check_vk_points(vk, what)
    provenance = vk.provenance
    key_hash = vk_hash(vk) if provenance is not None else ""

    def report(basis: str) -> TrustReport:
        return TrustReport(provenance, basis, key_hash, circuit.name, tuple(sorted(circuit.params.items())))

    if isinstance(provenance, SingleParty):
        if not trust.single_party:
            raise UntrustedKey(
                f"{what} comes from a {provenance.describe()}: {provenance.party} could forge proofs with its "
                f"trapdoor. Accept it only if you trust {provenance.party} ({opt_in}); otherwise ask for a key "
                f"from a setup ceremony"
            )
        return report(f"single-party key accepted explicitly ({opt_in}): {provenance.party} is trusted")
    if not isinstance(provenance, Ceremony):
        raise UntrustedKey(f"{what} records no provenance, so nobody can say who could forge with it")
    if not trust.reverify:
        remembered = usercache.recall(CACHE_NAMESPACE, provenance.transcript_hash)
        if isinstance(remembered, dict) and remembered.get("vk_sha256") == key_hash:
            return report("ceremony transcript verified against the circuit before (remembered in the user cache)")
    if transcript is None:
        raise UntrustedKey(
            f"{what} comes from a {provenance.describe()}, whose transcript has not been verified against "
            f"{circuit.name} {circuit.params} by this user: give the ceremony's .zkey and .ptau (--zkey, --ptau) once"
        )
    _verify_transcript(circuit, vk, provenance, transcript, what, reverify=trust.reverify)
    remember_verified(circuit, vk)
    return report("ceremony transcript verified against the circuit now")


def remember_verified(circuit: Circuit, vk: VerifyingKey) -> None:
    """Record in the user cache that this user verified the ceremony transcript of ``vk``
    against ``circuit`` and that it yields exactly ``vk`` (by its SHA-256), so that
    :func:`require_trusted` accepts ``vk`` later without the transcript.

    Call it only with the key a successful phase-2 verification returned
    (:func:`zkproofs.ceremony.phase2.verify`'s ``report.vk``, as :func:`require_trusted`
    and ``zkproofs demo`` do). Raises ValueError for a key that records no ceremony.
    """
    if not isinstance(vk.provenance, Ceremony):
        raise ValueError(f"only a ceremony key's verification can be remembered, not a key with provenance {vk.provenance!r}")
    check_key(circuit, vk)
    usercache.remember(
        CACHE_NAMESPACE,
        vk.provenance.transcript_hash,
        {"vk_sha256": vk_hash(vk), "circuit": circuit.name, "params": circuit.params, "digest": vk.circuit.digest},
    )


def _points(vk: VerifyingKey) -> tuple:
    return (vk.alpha_g1, vk.beta_g2, vk.gamma_g2, vk.delta_g2, vk.ic, vk.public_names, vk.circuit.digest)


def _verify_transcript(circuit: Circuit, vk: VerifyingKey, provenance: Ceremony, transcript: Transcript, what: str, *, reverify: bool) -> None:
    # Imported here: the ceremony package builds on groth16, which loads first.
    from zkproofs.ceremony.phase2 import verify_zkey

    report = verify_zkey(transcript.zkey, circuit, transcript.ptau, remember_phase1=not reverify)
    if report.transcript_hash != provenance.transcript_hash:
        raise UntrustedKey(
            f"{what} names transcript {provenance.transcript_hash[:16]}..., but {transcript.zkey} is transcript "
            f"{report.transcript_hash[:16]}..."
        )
    if _points(report.vk) != _points(vk):
        raise UntrustedKey(f"{what}: its points are not the key {transcript.zkey} yields for {circuit.name} {circuit.params}")
    beacon = report.beacon.beacon_hash if report.beacon else None
    if (len(report.contributions), beacon) != (provenance.contributions, provenance.beacon):
        raise UntrustedKey(
            f"{what} claims {provenance.contributions} contributions and beacon {provenance.beacon}; the transcript "
            f"has {len(report.contributions)} and beacon {beacon}"
        )
