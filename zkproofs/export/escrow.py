"""An example escrow settlement contract for the venue: two ``valid_transition`` legs, one transaction.

The on-chain counterpart of :meth:`zkproofs.settlement.venue.Venue.settle` (the
escrow model of :mod:`zkproofs.settlement`; notes, nullifiers and anchors as in
Zcash Sapling, Zcash protocol specification section 4.17). ``EscrowSettlement``
deploys the :mod:`zkproofs.export.solidity` verifier of the venue's key in its
constructor (so the key it checks against is fixed by its code) and keeps:

- the operator (set at construction), who alone posts note-tree roots and each price
  epoch's number and prices (the venue checks the oracles' Ed25519 signatures off chain:
  the EVM has no Ed25519 precompile, so the contract trusts the operator for them);
- the last ``anchor_window`` posted roots (the accepted anchors);
- the nullifiers it has seen, and the settlement ids it has settled.

``settle(market, settlementId, expiry, legA, legB)`` accepts a matched trade only
if, in this one transaction: the market is one of the policy's; the settlement id
matches the venue's name pattern and is unused; ``block.timestamp < expiry``; each
leg has spend = 1, the policy's haircuts and initial ratio, exactly the prices of
the operator's last posted epoch (posted at most ``max_epoch_age_seconds`` ago);
the contract's own Poseidon recomputation of each leg's ``context`` (kind TRADE,
market, settlement id, the posted epoch, expiry, the OTHER leg's nullifier, the leg's
receipt hash: :func:`zkproofs.settlement.transition.transition_context`) equals
the leg's public input, so each proof is bound to this market, id, expiry and
counterparty; the collateral deltas cancel asset by asset, debt deltas are 0, and
each leg gives one of the market's two assets and receives the other; both anchors
are among the last K roots; the two nullifiers differ and neither was seen; both
proofs verify. Then both nullifiers and the id are recorded and ``Settled`` emits
the two new note commitments. Any failure reverts (a custom error naming it) and
changes nothing.

What the contract does NOT check (the NatSpec says the same): that a posted root is
the root of the notes it emitted and the venue accepted (it cannot hash the depth-d
Poseidon tree cheaply: about 145,000 gas per permutation here, two per level: the
operator computes the tree off chain and is trusted for roots and prices); spends
made outside this contract (deposits, withdrawals at the venue) -- their nullifiers
are not here, so every spend of a note under the posted roots must go through
``settle``, or the operator must keep such notes out of the roots; custody of
tokens (there are none in the example). Public-input positions are taken from the
key's declared names (``vk.public_names``), never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector

from circuits.valid_transition import ValidTransition
from zkproofs.errors import MalformedInput
from zkproofs.export.solidity import CONTRACT_NAME as VERIFIER_NAME
from zkproofs.export.solidity import proof_bytes, verifier_source
from zkproofs.export.solidity_poseidon import poseidon_solidity
from zkproofs.field import R
from zkproofs.groth16.keys import Proof, VerifyingKey
from zkproofs.groth16.trust import check_key
from zkproofs.settlement.notes import NOTE_HASH_T
from zkproofs.settlement.transition import CONTEXT_DOMAIN, CONTEXT_TAG, Kind, check_name
from zkproofs.settlement.venue import parse_transition
from zkproofs.settlement.venue_policy import VenuePolicy

CONTRACT_NAME = "EscrowSettlement"
LEG_TYPE = "(bytes,uint256[],uint256)"
SETTLE_SIGNATURE = f"settle(string,string,uint64,{LEG_TYPE},{LEG_TYPE})"
TRADE_DESTINATION = "-"
"""The destination bound into a trade's context (trades pay nothing out)."""
CONTEXT_INPUTS = 6
"""Length of the context's Poseidon preimage: tag, kind, names, expiry, counterparty, receipt."""

_SCALAR_ROLES = ("anchor", "spend", "min_ratio_bps", "context", "nullifier", "new_commitment")
_ASSET_ROLES = ("collateral_delta", "debt_delta", "price", "haircut_bps")


@dataclass(frozen=True)
class InputLayout:
    """Positions of the ``valid_transition`` public inputs in the key's order (from its names)."""

    scalar: dict[str, int]
    per_asset: dict[str, tuple[int, ...]]
    count: int


def input_layout(vk: VerifyingKey, assets: int) -> InputLayout:
    """Where each public input the contract checks sits in ``vk.public_names``.

    MalformedInput if the names are not exactly the scalar roles plus the four
    per-asset roles ``role[i]`` for i < ``assets`` (a renamed, missing or extra
    input would leave something the contract does not check), or if there are
    65,536 or more (the contract's position tables are 16-bit).
    """
    names = list(vk.public_names)
    expected = set(_SCALAR_ROLES) | {f"{role}[{i}]" for role in _ASSET_ROLES for i in range(assets)}
    if set(names) != expected or len(names) != len(expected):
        unknown = sorted(set(names) - expected)
        missing = sorted(expected - set(names))
        raise MalformedInput(
            "the escrow contract does not know this key's public inputs"
            + (f"; unknown: {unknown[:4]}" if unknown else "") + (f"; missing: {missing[:4]}" if missing else "")
        )
    if len(names) >= 1 << 16:
        raise MalformedInput("too many public inputs for the escrow contract's 16-bit position tables")
    at = {name: i for i, name in enumerate(names)}
    return InputLayout(
        scalar={role: at[role] for role in _SCALAR_ROLES},
        per_asset={role: tuple(at[f"{role}[{i}]"] for i in range(assets)) for role in _ASSET_ROLES},
        count=len(names),
    )


def _table(values: Sequence[int]) -> str:
    return 'hex"' + b"".join(v.to_bytes(2, "big") for v in values).hex() + '"'


def _market_lookup(policy: VenuePolicy) -> str:
    lines = ["        bytes32 h = keccak256(bytes(name));"]
    for name, market in policy.markets.items():
        lines.append(f'        if (h == keccak256("{name}")) return (true, {market.base}, {market.quote});')
    lines.append("        return (false, 0, 0);")
    return "\n".join(lines)


def escrow_source(vk: VerifyingKey, policy: VenuePolicy, backend: str | None = None) -> str:
    """Solidity source of ``Groth16Verifier`` (for ``vk``) and ``EscrowSettlement`` (for ``policy``).

    ``vk`` must be the ``valid_transition`` key of the policy's parameters
    (CircuitMismatch otherwise, :func:`zkproofs.groth16.trust.check_key`; the
    trust decision on its provenance is the deployer's: the header records it).
    Raises MalformedInput as :func:`input_layout` and :func:`zkproofs.export.solidity.verifier_source`,
    and for a policy without markets. O(A + markets) text plus the verifier's.
    """
    check_key(ValidTransition(**policy.circuit_params), vk, "the venue's verification key")
    a = len(policy.assets)
    layout = input_layout(vk, a)
    if not policy.markets:
        raise MalformedInput("the venue policy has no markets: nothing could be settled")
    s = layout.scalar
    markets = ", ".join(f"{name} ({policy.assets[m.base]}/{policy.assets[m.quote]})" for name, m in policy.markets.items())
    escrow = f"""
/// @title EscrowSettlement: two-leg settlement of the zkproofs venue "{policy.name}" (an example).
/// @notice Assets, in note order: {", ".join(policy.assets)}. Markets: {markets}.
/// settle() accepts a matched trade of two valid_transition proofs in one transaction, or reverts
/// and changes nothing. Checked on chain: market known; settlement id well-formed and unused;
/// block.timestamp < expiry; per leg spend = 1, haircuts equal to the policy's and the min ratio to
/// its initial ratio, exactly the prices of the operator's last posted epoch (at most MAX_EPOCH_AGE
/// seconds old), the context input equal to the contract's own Poseidon of (TRADE, market,
/// settlement id, posted epoch, expiry, the OTHER leg's nullifier, the leg's receipt hash) -- so each
/// proof is bound to this market, id, epoch, expiry and counterparty --, anchor among the last ANCHOR_WINDOW
/// posted roots, nullifier unseen; between the legs: different nullifiers, collateral deltas
/// that cancel asset by asset, zero debt deltas, each leg giving one of the market's two assets
/// and receiving the other; both proofs verify (the Groth16Verifier deployed by the constructor).
/// @dev NOT checked on chain, and trusted to the operator: that a posted root is the root of the
/// note tree holding exactly the notes the venue accepted (hashing the Poseidon tree here would
/// cost about 145,000 gas per permutation, two per level), and the posted epochs' prices (their oracle
/// signatures are Ed25519, which the EVM cannot check cheaply: the venue checks them). Spends made
/// elsewhere (the venue's deposits and withdrawals) are not in this contract's nullifier set:
/// every spend of a note under the posted roots must go through settle(), or the operator must
/// keep such notes out of the roots. The receipt hash is taken as given (it only lets the owner
/// read the venue's record). No tokens are held: custody is outside this example.
contract {CONTRACT_NAME} {{
    /// One leg: its proof (A || B || C, EIP-2537 encoding, 512 bytes), its valid_transition
    /// public inputs in the key's order, and the owner's receipt hash bound into its context.
    struct Leg {{
        bytes proof;
        uint256[] input;
        uint256 receiptHash;
    }}

    uint256 internal constant R = {R:#066x};
    uint256 public constant ASSETS = {a};
    uint256 public constant ANCHOR_WINDOW = {policy.anchor_window};
    uint256 public constant MIN_RATIO_BPS = {policy.initial_ratio_bps};
    uint256 public constant MAX_EPOCH_AGE = {policy.max_epoch_age_seconds};
    uint256 internal constant CONTEXT_TAG = {CONTEXT_TAG:#x};
    uint256 internal constant KIND_TRADE = {int(Kind.TRADE)};
    uint256 internal constant CONTEXT_INPUTS = {CONTEXT_INPUTS};
    bytes internal constant CONTEXT_DOMAIN = hex"{CONTEXT_DOMAIN.hex()}";
    bytes internal constant TRADE_DESTINATION = "{TRADE_DESTINATION}";

    // Positions of the public inputs, from the key's declared names.
    uint256 internal constant INPUTS = {layout.count};
    uint256 internal constant I_ANCHOR = {s["anchor"]};
    uint256 internal constant I_SPEND = {s["spend"]};
    uint256 internal constant I_MIN_RATIO = {s["min_ratio_bps"]};
    uint256 internal constant I_CONTEXT = {s["context"]};
    uint256 internal constant I_NULLIFIER = {s["nullifier"]};
    uint256 internal constant I_NEW_COMMITMENT = {s["new_commitment"]};
    /// Per asset i, the position of collateral_delta[i] (resp. debt_delta, price, haircut_bps): 16-bit big-endian.
    bytes internal constant AT_COLLATERAL_DELTA = {_table(layout.per_asset["collateral_delta"])};
    bytes internal constant AT_DEBT_DELTA = {_table(layout.per_asset["debt_delta"])};
    bytes internal constant AT_PRICE = {_table(layout.per_asset["price"])};
    bytes internal constant AT_HAIRCUT = {_table(layout.per_asset["haircut_bps"])};
    /// The policy's haircut per asset (bps), 16-bit big-endian.
    bytes internal constant HAIRCUT_BPS = {_table(policy.haircut_bps)};

    {VERIFIER_NAME} public immutable verifier;
    address public immutable operator;
    /// Number of roots posted; rootSeq[root] is the 1-based number of its latest posting.
    uint256 public rootCount;
    mapping(uint256 => uint256) public rootSeq;
    mapping(uint256 => bool) public spent;
    mapping(bytes32 => bool) public settled;
    uint256[{a}] internal postedPrices;
    uint64 public postedEpoch;
    uint256 public pricesPostedAt;

    event RootPosted(uint256 root, uint256 seq);
    event PricesPosted(uint64 epoch, uint256[{a}] prices);
    event Settled(string settlementId, string market, uint256 nullifierA, uint256 nullifierB,
                  uint256 newCommitmentA, uint256 newCommitmentB);

    error NotOperator();
    error NotAFieldElement();
    error BadPrice(uint256 asset);
    error StaleEpoch(uint64 epoch, uint64 posted);
    error UnknownMarket();
    error InvalidSettlementId();
    error Expired(uint256 expiry, uint256 timestamp);
    error SettlementIdTaken();
    error WrongInputCount(uint256 leg);
    error SpendRequired(uint256 leg);
    error PolicyMismatch(uint256 leg, uint256 input);
    error PricesUnavailable();
    error PriceMismatch(uint256 leg, uint256 asset);
    error ContextMismatch(uint256 leg);
    error SameNote();
    error DeltasDoNotCancel(uint256 asset);
    error DebtDeltaNotZero(uint256 leg, uint256 asset);
    error NotATrade();
    error UnknownAnchor(uint256 leg);
    error DoubleSpend(uint256 leg);
    error InvalidProof(uint256 leg);

    constructor(address operator_) {{
        require(operator_ != address(0), "operator is the zero address");
        operator = operator_;
        verifier = new {VERIFIER_NAME}();
    }}

    modifier onlyOperator() {{
        if (msg.sender != operator) revert NotOperator();
        _;
    }}

    /// Post a root of the venue's note commitment tree (operator only; trusted, not recomputed).
    /// The last ANCHOR_WINDOW postings are the accepted anchors.
    function postRoot(uint256 root) external onlyOperator {{
        if (root >= R) revert NotAFieldElement();
        rootSeq[root] = ++rootCount;
        emit RootPosted(root, rootCount);
    }}

    /// Post a price epoch the venue accepted: its number (above the last posted) and its prices
    /// (10^-8 quote units per unit, in asset order; each in [1, 2^64]). Legs then prove at it.
    function postPrices(uint64 epoch, uint256[{a}] calldata prices) external onlyOperator {{
        if (epoch <= postedEpoch || epoch >= 1 << 63) revert StaleEpoch(epoch, postedEpoch);
        for (uint256 i = 0; i < ASSETS; i++) {{
            if (prices[i] == 0 || prices[i] > 1 << 64) revert BadPrice(i);
        }}
        postedPrices = prices;
        postedEpoch = epoch;
        pricesPostedAt = block.timestamp;
        emit PricesPosted(epoch, prices);
    }}

    /// True iff `anchor` is one of the last ANCHOR_WINDOW posted roots.
    function isKnownAnchor(uint256 anchor) public view returns (bool) {{
        uint256 seq = rootSeq[anchor];
        return seq != 0 && rootCount - seq < ANCHOR_WINDOW;
    }}

    /// The context of a trade leg (zkproofs.settlement.transition.transition_context with kind
    /// TRADE and destination "-"). Gas: two Poseidon permutations and one SHA-256.
    function contextOf(string calldata market, string calldata settlementId, uint64 epoch, uint64 expiry,
                       uint256 counterpartyNullifier, uint256 receiptHash) external pure returns (uint256) {{
        if (counterpartyNullifier >= R || receiptHash >= R) revert NotAFieldElement();
        return _contextTail(_contextHead(market, settlementId, epoch, expiry), counterpartyNullifier, receiptHash);
    }}

    /// Settle a matched trade: both legs or nothing (see the contract's notice for every check).
    /// Gas: two Groth16 verifications, three Poseidon permutations, four storage writes.
    function settle(string calldata market, string calldata settlementId, uint64 expiry,
                    Leg calldata legA, Leg calldata legB) external {{
        (bool known, uint256 base, uint256 quote) = _market(market);
        if (!known) revert UnknownMarket();
        if (!_wellFormedId(bytes(settlementId))) revert InvalidSettlementId();
        if (block.timestamp >= expiry || expiry >= 1 << 63) revert Expired(expiry, block.timestamp);
        _checkLeg(legA, 0);
        _checkLeg(legB, 1);
        _checkContexts(market, settlementId, expiry, legA, legB);
        _checkDeltas(legA.input, legB.input, base, quote);
        _checkAnchorsAndNullifiers(legA.input, legB.input);
        bytes32 id = keccak256(bytes(settlementId));
        if (settled[id]) revert SettlementIdTaken();
        if (!verifier.verifyProof(legA.proof, legA.input)) revert InvalidProof(0);
        if (!verifier.verifyProof(legB.proof, legB.input)) revert InvalidProof(1);
        spent[legA.input[I_NULLIFIER]] = true;
        spent[legB.input[I_NULLIFIER]] = true;
        settled[id] = true;
        _emitSettled(settlementId, market, legA.input, legB.input);
    }}

    /// Each leg's context input is the contract's Poseidon of its trade context, naming the
    /// other leg's nullifier as counterparty.
    function _checkContexts(string calldata market, string calldata settlementId, uint64 expiry,
                            Leg calldata legA, Leg calldata legB) private view {{
        uint256[{NOTE_HASH_T}] memory head = _contextHead(market, settlementId, postedEpoch, expiry);
        if (legA.input[I_CONTEXT] != _contextTail(head, legB.input[I_NULLIFIER], legA.receiptHash)) revert ContextMismatch(0);
        if (legB.input[I_CONTEXT] != _contextTail(head, legA.input[I_NULLIFIER], legB.receiptHash)) revert ContextMismatch(1);
    }}

    /// Two different notes, both spent under a recent anchor, neither spent before.
    function _checkAnchorsAndNullifiers(uint256[] calldata a, uint256[] calldata b) private view {{
        if (a[I_NULLIFIER] == b[I_NULLIFIER]) revert SameNote();
        if (!isKnownAnchor(a[I_ANCHOR])) revert UnknownAnchor(0);
        if (!isKnownAnchor(b[I_ANCHOR])) revert UnknownAnchor(1);
        if (spent[a[I_NULLIFIER]]) revert DoubleSpend(0);
        if (spent[b[I_NULLIFIER]]) revert DoubleSpend(1);
    }}

    function _emitSettled(string calldata settlementId, string calldata market, uint256[] calldata a, uint256[] calldata b) private {{
        emit Settled(settlementId, market, a[I_NULLIFIER], b[I_NULLIFIER], a[I_NEW_COMMITMENT], b[I_NEW_COMMITMENT]);
    }}

    /// Input count, spend = 1, the policy's ratio and haircuts, exactly the posted epoch's prices, receipt < r.
    function _checkLeg(Leg calldata leg, uint256 which) private view {{
        uint256[] calldata input = leg.input;
        if (input.length != INPUTS) revert WrongInputCount(which);
        if (leg.receiptHash >= R) revert NotAFieldElement();
        if (input[I_SPEND] != 1) revert SpendRequired(which);
        if (input[I_MIN_RATIO] != MIN_RATIO_BPS) revert PolicyMismatch(which, I_MIN_RATIO);
        if (pricesPostedAt == 0 || block.timestamp - pricesPostedAt > MAX_EPOCH_AGE) revert PricesUnavailable();
        for (uint256 i = 0; i < ASSETS; i++) {{
            uint256 h = _at(AT_HAIRCUT, i);
            if (input[h] != _at(HAIRCUT_BPS, i)) revert PolicyMismatch(which, h);
            // postPrices keeps posted prices in [1, 2^64], the circuit's price range
            if (input[_at(AT_PRICE, i)] != postedPrices[i]) revert PriceMismatch(which, i);
        }}
    }}

    /// Deltas as field elements (-x is r - x): collateral cancels per asset, debt is 0, and leg A
    /// gives one of the market's assets and receives the other (leg B then does the opposite).
    function _checkDeltas(uint256[] calldata a, uint256[] calldata b, uint256 base, uint256 quote) private pure {{
        for (uint256 i = 0; i < ASSETS; i++) {{
            uint256 c = _at(AT_COLLATERAL_DELTA, i);
            if (a[c] >= R || b[c] >= R || addmod(a[c], b[c], R) != 0) revert DeltasDoNotCancel(i);
            uint256 d = _at(AT_DEBT_DELTA, i);
            if (a[d] != 0) revert DebtDeltaNotZero(0, i);
            if (b[d] != 0) revert DebtDeltaNotZero(1, i);
            if (i != base && i != quote && a[c] != 0) revert NotATrade();
        }}
        uint256 giveOrGetBase = a[_at(AT_COLLATERAL_DELTA, base)];
        uint256 giveOrGetQuote = a[_at(AT_COLLATERAL_DELTA, quote)];
        // Non-zero, and of opposite signs (a field element above r / 2 is a negative delta).
        if (giveOrGetBase == 0 || giveOrGetQuote == 0 || (giveOrGetBase > R / 2) == (giveOrGetQuote > R / 2)) {{
            revert NotATrade();
        }}
    }}

    /// The first permutation of the context sponge (shared by both legs):
    /// [6 * 2^64, CONTEXT_TAG, TRADE, names, expiry], names = the first 31 bytes of
    /// SHA-256(CONTEXT_DOMAIN || market || 0x00 || settlement id || 0x00 || "-" || 0x00 || epoch, u64 big-endian).
    function _contextHead(string calldata market, string calldata settlementId, uint64 epoch, uint64 expiry)
        private pure returns (uint256[{NOTE_HASH_T}] memory state)
    {{
        bytes32 digest = sha256(abi.encodePacked(CONTEXT_DOMAIN, market, bytes1(0), settlementId, bytes1(0), TRADE_DESTINATION,
                                                 bytes1(0), epoch));
        state[0] = CONTEXT_INPUTS << 64;
        state[1] = CONTEXT_TAG;
        state[2] = KIND_TRADE;
        state[3] = uint256(digest) >> 8;
        state[4] = expiry;
        _poseidonPermute(state);
    }}

    /// Absorb (counterparty nullifier, receipt hash) into a copy of the head and squeeze.
    function _contextTail(uint256[{NOTE_HASH_T}] memory head, uint256 counterparty, uint256 receipt)
        private pure returns (uint256)
    {{
        uint256[{NOTE_HASH_T}] memory state = [head[0], addmod(head[1], counterparty, R), addmod(head[2], receipt, R), head[3], head[4]];
        _poseidonPermute(state);
        return state[1];
    }}

    function _market(string calldata name) private pure returns (bool, uint256, uint256) {{
{_market_lookup(policy)}
    }}

    /// The venue's name pattern: 1-128 characters from A-Z a-z 0-9 . _ : -
    function _wellFormedId(bytes calldata id) private pure returns (bool) {{
        if (id.length == 0 || id.length > 128) return false;
        for (uint256 i = 0; i < id.length; i++) {{
            bytes1 c = id[i];
            bool ok = (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || (c >= "0" && c <= "9")
                || c == "." || c == "_" || c == ":" || c == "-";
            if (!ok) return false;
        }}
        return true;
    }}

    /// Entry i of a 16-bit big-endian table.
    function _at(bytes memory table, uint256 i) private pure returns (uint256) {{
        return (uint256(uint8(table[2 * i])) << 8) | uint256(uint8(table[2 * i + 1]));
    }}

{poseidon_solidity(NOTE_HASH_T)}}}
"""
    return verifier_source(vk, backend).rstrip("\n") + "\n" + escrow


@dataclass(frozen=True)
class LegCall:
    """One leg as ``settle`` takes it: proof, public inputs in the key's order, receipt hash."""

    proof: Proof
    public: tuple[int, ...]
    receipt_hash: int


def settle_calldata(vk: VerifyingKey, market: str, settlement_id: str, expiry: int, leg_a: LegCall, leg_b: LegCall,
                    backend: str | None = None) -> bytes:
    """ABI call data of ``settle(market, settlementId, expiry, legA, legB)``.

    Raises MalformedInput for a name outside the venue's pattern, an expiry outside
    [0, 2^63), a public input or receipt hash that is not a field element, a wrong
    input count (PublicInputCountMismatch), InvalidPoint for a bad proof point.
    Size: about 4 + 2 x (608 + 32 l) bytes for l public inputs.
    """
    check_name(market, "market")
    check_name(settlement_id, "settlement id")
    if isinstance(expiry, bool) or not isinstance(expiry, int) or not 0 <= expiry < 1 << 63:
        raise MalformedInput("expiry: expected unix seconds in [0, 2^63)")
    legs = []
    for which, leg in (("leg A", leg_a), ("leg B", leg_b)):
        if len(leg.public) != vk.num_public:
            raise MalformedInput(f"{which}: {len(leg.public)} public inputs, the key has {vk.num_public}")
        for value in (*leg.public, leg.receipt_hash):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < R:
                raise MalformedInput(f"{which}: a public input or the receipt hash is not a field element")
        legs.append((proof_bytes(leg.proof, backend), list(leg.public), leg.receipt_hash))
    selector = function_signature_to_4byte_selector(SETTLE_SIGNATURE)
    return selector + abi_encode(["string", "string", "uint64", LEG_TYPE, LEG_TYPE], [market, settlement_id, expiry, *legs])


def settle_calldata_from_requests(vk: VerifyingKey, body_a: Any, body_b: Any, backend: str | None = None) -> bytes:
    """:func:`settle_calldata` from two venue trade requests (the JSON bodies
    :func:`zkproofs.settlement.transition.transition_request` writes).

    MalformedInput (naming the leg) for a body that is not a trade, for a proof
    of another circuit than ``vk``'s, and unless both legs name the same market,
    settlement id, expiry and price epoch.
    """
    requests = [parse_transition(body, where) for body, where in ((body_a, "legs[0]"), (body_b, "legs[1]"))]
    for where, req in zip(("legs[0]", "legs[1]"), requests):
        if req.kind != "trade":
            raise MalformedInput(f"{where}: a {req.kind} transition, not a trade leg")
        if req.proof.circuit_digest != vk.circuit.digest or set(req.public) != set(vk.public_names):
            raise MalformedInput(f"{where}: the proof is not for this key's circuit ({vk.circuit.name})")
    a, b = requests
    if (a.market, a.reference, a.expiry, a.epoch) != (b.market, b.reference, b.expiry, b.epoch):
        raise MalformedInput("both legs must name the same market, settlement id, expiry and price epoch "
                             "(the contract checks them against its posted epoch)")
    legs = [LegCall(r.proof, tuple(r.public[n] for n in vk.public_names), r.receipt_hash) for r in requests]
    return settle_calldata(vk, a.market, a.reference, a.expiry, *legs, backend=backend)
