"""The merkle_sum_inclusion circuit and its gadgets: agreement with the native tree, forged witnesses, Groth16.

Tier 1: constraint satisfaction for honest and forged inputs (fast). Tier 2: a
full setup / prove / verify at small depth, proofs whose public inputs were
edited must fail to verify; larger depths are marked slow.
"""

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import get_circuit
from circuits.merkle_sum_inclusion import MerkleSumInclusion
from tests.helpers import forged, hint_index
from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.errors import CircuitMismatch, UnsatisfiedConstraint, UntrustedKey
from zkproofs.field import R
from zkproofs.gadgets import merkle_sum
from zkproofs.groth16 import prove, setup, verify
from zkproofs.r1cs import ConstraintSystem
from zkproofs.tree import TreeStore, build_tree, make_inclusion_proof, published_root
from zkproofs.poseidon import poseidon_hash
from zkproofs.tree.hashing import leaf_hash, leaf_inputs, node_hash, node_inputs, user_commitment
from zkproofs.tree.proof import InclusionProof
from zkproofs.tree.root import PublishedRoot
from zkproofs.groth16.serialize import vk_hash
from zkproofs.groth16.trust import KeyTrust
from zkproofs.proofs.inclusion import circuit_inputs, make_zk_proof, trust_inclusion_key, zk_failure

SECRET = bytes(range(32))
ASSETS = (Asset("BTC", 8), Asset("ETH", 8))
FIELD = st.integers(min_value=0, max_value=R - 1)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A 5-account, depth-3, 2-asset tree: (db, root, {id: plain proof})."""
    accounts = AccountSet(
        ASSETS,
        tuple(Account(f"u{i}", (10**8 * (i + 1), 5 * i), (i % 2, 0)) for i in range(5))
        + (Account("max", ((1 << 64) - 1, 0), (0, (1 << 64) - 1)),),
    )
    db = tmp_path_factory.mktemp("circuit") / "t.db"
    build_tree(accounts, db, secret=SECRET)
    with TreeStore(db) as store:
        proofs = {a.id: make_inclusion_proof(store, a.id) for a in accounts.accounts}
        root = published_root(store)
    return db, root, proofs


def synth(inputs, depth=3, assets=2):
    return MerkleSumInclusion(depth=depth, assets=assets).synthesize(inputs)


def failing_label(inputs, depth=3, assets=2):
    r1cs, witness = synth(inputs, depth, assets)
    index = r1cs.first_unsatisfied(witness)
    return None if index is None else r1cs.labels[index]


def raw_leaf(c, sums):
    """A leaf hashed without the native range checks, packed mod r (what the circuit computes)."""
    return poseidon_hash([x % R for x in leaf_inputs(c, sums)], t=5)


def raw_node(lh, ls, rh, rs, depth):
    """A node hashed without the native range checks, packed mod r (what the circuit computes)."""
    return poseidon_hash([x % R for x in node_inputs(lh, ls, rh, rs, depth)], t=5)


# gadgets against the native tree ---------------------------------------------------
AMOUNT = st.integers(min_value=0, max_value=(1 << 64) - 1)


@settings(max_examples=5, deadline=None)
@given(FIELD, FIELD, st.lists(AMOUNT, min_size=5, max_size=5), st.sampled_from([1, 20, 21, 64]))
def test_gadget_hashes_equal_native(c, h2, amounts, depth):
    """Depth 20 packs three sums per element, 21 two, 64 one."""
    e0, e1, d0, d1, extra = amounts
    values = [c, e0, e1, d0, d1, h2, extra]
    cs = ConstraintSystem({f"v{i}": v for i, v in enumerate(values)})
    v = [cs.private_input(f"v{i}") for i in range(7)]
    leaf = merkle_sum.leaf_hash(cs, v[0], v[1:3], v[3:5])
    node = merkle_sum.node_hash(cs, depth, v[0], v[1:5], v[5], [v[6], v[1], v[2], v[3]])
    r1cs, witness = cs.finish()
    assert r1cs.is_satisfied(witness)
    assert leaf.value == leaf_hash(c, (e0, e1), (d0, d1))
    assert node.value == node_hash(c, (e0, e1, d0, d1), h2, (extra, e0, e1, d0), depth=depth)


@pytest.mark.parametrize("depth,assets,permutations", [(10, 4, 2), (20, 4, 2), (21, 4, 3), (10, 1, 1)])
def test_node_hash_costs_the_documented_permutations(depth, assets, permutations):
    cs = ConstraintSystem()
    h = [cs.private_input(f"h{i}") for i in range(2)]
    sums = [cs.private_input(f"s{i}") for i in range(4 * assets)]
    merkle_sum.node_hash(cs, depth, h[0], sums[: 2 * assets], h[1], sums[2 * assets :])
    assert 300 * (permutations - 1) < cs.num_constraints <= 300 * permutations  # the constant capacity S-box is free


def test_shape_and_public_layout():
    circuit = get_circuit("merkle_sum_inclusion", {"depth": 2, "assets": 1})
    assert circuit.public_inputs() == ["commitment", "equities[0]", "debts[0]", "root", "root_equities[0]", "root_debts[0]"]
    assert "sibling_hashes[1]" in circuit.private_inputs() and "path_bits[0]" in circuit.private_inputs()
    assert circuit.shape.num_public == 6


# honest and forged witnesses ---------------------------------------------------------
def test_every_user_satisfies(tree):
    _, _, proofs = tree
    for proof in proofs.values():
        r1cs, witness = synth(circuit_inputs(proof))
        assert r1cs.is_satisfied(witness), proof.user_id


def _with(inputs, **changes):
    out = json.loads(json.dumps(inputs))
    for key, fn in changes.items():
        out[key] = fn(out[key])
    return out


@pytest.mark.parametrize(
    "name,change,label",
    [
        ("tampered sibling sum", {"sibling_equities": lambda s: [[s[0][0] + 1, s[0][1]], *s[1:]]}, "root hash"),
        ("sibling order swapped", {"path_bits": lambda b: [1 - b[0], *b[1:]]}, "root hash"),
        ("wrong root", {"root": lambda r: (r + 1) % R}, "root hash"),
        ("wrong root sum", {"root_debts": lambda d: [d[0] - 1, d[1]]}, "root sum 2"),
        ("balance inflated", {"equities": lambda e: [e[0] + 1, e[1]]}, "root hash"),
        ("non-boolean path bit", {"path_bits": lambda b: [2, *b[1:]]}, "level[0]/swap condition boolean"),
        ("balance 2^64", {"equities": lambda e: [1 << 64, e[1]]}, "user_amount[0]/to_bits[64]/recomposition"),
    ],
)
def test_forged_inputs_do_not_satisfy(tree, name, change, label):
    inputs = _with(circuit_inputs(tree[2]["u1"]), **change)
    assert failing_label(inputs) == label, name


def test_another_users_commitment_does_not_satisfy(tree):
    proofs = tree[2]
    inputs = circuit_inputs(proofs["u1"])
    inputs["commitment"] = proofs["u2"].commitment
    assert failing_label(inputs) == "root hash"
    # and u2's balances on u1's path neither
    inputs["equities"], inputs["debts"] = list(proofs["u2"].equities), list(proofs["u2"].debts)
    assert failing_label(inputs) == "root hash"


def test_boundary_balance_2_64_minus_1_is_included(tree):
    inputs = circuit_inputs(tree[2]["max"])
    assert inputs["equities"][0] == inputs["debts"][1] == (1 << 64) - 1
    assert failing_label(inputs) is None


def test_leaf_presented_as_node(tree):
    """Claim the height-1 node above u1 (its sums as balances) as a leaf one level up."""
    db, root, proofs = tree
    proof = proofs["u1"]
    with TreeStore(db) as store:
        node_h, node_sums = store.node(1, proof.leaf_index >> 1)
    inputs = circuit_inputs(
        dataclasses.replace(proof, leaf_index=proof.leaf_index >> 1, siblings=proof.siblings[1:], equities=node_sums[:2], debts=node_sums[2:])
    )
    inputs["commitment"] = node_h  # the best an attacker can put where the commitment goes
    assert failing_label(inputs, depth=2) == "root hash"


def wrapped_tree():
    """Depth 1, one asset: alice (100) beside a sibling with equity r - 90, so the root sum wraps to 10."""
    c1 = user_commitment("alice", 1)
    alice, mallory = (100, 0), (R - 90, 0)
    l1, l2 = raw_leaf(c1, alice), raw_leaf(user_commitment("mallory", 2), mallory)
    root_hash = raw_node(l1, alice, l2, mallory, 1)
    proof = InclusionProof("alice", 1, 0, ("BTC",), (100,), (0,), ((l2, mallory),), root_hash, (10, 0))
    return proof, PublishedRoot(root_hash, 1, (Asset("BTC", 8),), (10,), (0,), "")


def test_wrapping_sum_fails_only_at_the_range_check():
    proof, _ = wrapped_tree()
    r1cs, witness = synth(circuit_inputs(proof), depth=1, assets=1)
    failing = {r1cs.labels[i] for i in range(r1cs.num_constraints) if not _row_ok(r1cs, witness, i)}
    assert failing and all(label.startswith("level[0]/sibling_sum[0]/to_bits[64]/") for label in failing)


def _row_ok(r1cs, w, i):
    ev = lambda row: sum(c * w[v] for v, c in row.items())  # noqa: E731
    return (ev(r1cs.a[i]) * ev(r1cs.b[i]) - ev(r1cs.c[i])) % R == 0


def height1_debt_inputs(sibling_debt, sibling_equity=0):
    """Depth 2, one asset: alice (equity 100, debt 300) at leaf 0 beside an empty leaf, and
    at height 1 a sibling with sums (sibling_equity, sibling_debt); the root and its sums
    are computed as the circuit does (field additions, packing mod r), so every
    constraint but a range check holds."""
    c1 = user_commitment("alice", 1)
    alice = (100, 300)
    empty_hash, empty = leaf_hash(user_commitment("pad", 2), (0,), (0,)), (0, 0)
    node1 = raw_node(leaf_hash(c1, alice[:1], alice[1:]), alice, empty_hash, empty, 2)
    sums1 = alice
    sibling_hash, sibling = 123456789, (sibling_equity % R, sibling_debt % R)
    root_hash = raw_node(node1, sums1, sibling_hash, sibling, 2)
    root_sums = [(a + b) % R for a, b in zip(sums1, sibling)]
    return {
        "commitment": c1,
        "equities": [alice[0]],
        "debts": [alice[1]],
        "root": root_hash,
        "root_equities": root_sums[:1],
        "root_debts": root_sums[1:],
        "path_bits": [0, 0],
        "sibling_hashes": [empty_hash, sibling_hash],
        "sibling_equities": [[0], [sibling_equity]],
        "sibling_debts": [[0], [sibling_debt]],
    }


def _failing_labels(r1cs, witness):
    return {r1cs.labels[i] for i in range(r1cs.num_constraints) if not _row_ok(r1cs, witness, i)}


@pytest.mark.parametrize("sibling_debt", [R - 200, R - 1, 2**65, 2**65 + 300, 2**66])
def test_height1_sibling_debt_sum_fails_only_at_its_range_check(sibling_debt):
    # R - 200 wraps the root debt to 100 (below alice's own 300); 2^65 does not wrap
    # but exceeds every honest height-1 sum. Either way the path is otherwise
    # consistent, so only the range check of the sibling's debt sum (sums: equities,
    # then debts; index 1 with one asset) may fail.
    r1cs, witness = synth(height1_debt_inputs(sibling_debt), depth=2, assets=1)
    failing = _failing_labels(r1cs, witness)
    assert failing and all(label.startswith("level[1]/sibling_sum[1]/to_bits[65]/") for label in failing), failing


def test_sibling_sum_spilling_into_the_next_slot_fails_only_at_its_range_check():
    """Equity + 2^66 and debt - 1 pack to the same element (slots of 64 + 2 bits at depth 2),
    so the node hash and the root agree: only the sibling equity's range check refuses."""
    r1cs, witness = synth(height1_debt_inputs(sibling_debt=5 - 1, sibling_equity=7 + 2**66), depth=2, assets=1)
    honest = height1_debt_inputs(sibling_debt=5, sibling_equity=7)
    assert height1_debt_inputs(sibling_debt=4, sibling_equity=7 + 2**66)["root"] == honest["root"]
    failing = _failing_labels(r1cs, witness)
    assert failing and all(label.startswith("level[1]/sibling_sum[0]/to_bits[65]/") for label in failing), failing


def test_user_amount_spilling_into_the_next_slot_is_unsatisfiable(tree):
    """A leaf packs amounts in 64-bit slots: e0 + 2^64 with e1 - 1 gives the same leaf hash;
    the user amount's range check refuses it (and the first node, whose slots are wider, differs)."""
    inputs = circuit_inputs(tree[2]["u1"])
    assert inputs["equities"][1] >= 1
    inputs["equities"] = [inputs["equities"][0] + 2**64, inputs["equities"][1] - 1]
    inputs["root_equities"] = [inputs["root_equities"][0] + 2**64, inputs["root_equities"][1] - 1]
    r1cs, witness = synth(inputs)
    assert raw_leaf(inputs["commitment"], [*inputs["equities"], *inputs["debts"]]) == raw_leaf(
        inputs["commitment"], [*circuit_inputs(tree[2]["u1"])["equities"], *inputs["debts"]]
    )
    assert _failing_labels(r1cs, witness) == {"user_amount[0]/to_bits[64]/recomposition", "root hash"}


def test_sibling_sum_moved_to_another_slot_does_not_satisfy(tree):
    """The sibling's equity sums exchanged between the two assets (each still in range)."""
    inputs = circuit_inputs(tree[2]["u1"])
    first = inputs["sibling_equities"][0]
    assert first[0] != first[1]
    inputs["sibling_equities"][0] = [first[1], first[0]]
    assert failing_label(inputs) == "root hash"


@pytest.mark.parametrize("sibling_debt,sibling_equity", [(2**65 - 1, 0), (2**65 - 1, 2**65 - 1), (0, 5)])
def test_height1_sibling_sums_up_to_2_65_minus_1_satisfy(sibling_debt, sibling_equity):
    r1cs, witness = synth(height1_debt_inputs(sibling_debt, sibling_equity), depth=2, assets=1)
    assert r1cs.is_satisfied(witness)


@pytest.mark.parametrize("hint", ["level[1]/sibling_sum[0]/to_bits[65]/bit 3", "user_amount[2]/to_bits[64]/bit 0"])
def test_forged_range_bit_hint(tree, hint):
    r1cs, witness = synth(circuit_inputs(tree[2]["u3"]))
    index = hint_index(r1cs, hint)
    assert not r1cs.is_satisfied(forged(witness, index, 1 - witness[index]))


# Groth16 ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_keys():
    return setup(MerkleSumInclusion(depth=1, assets=1), party="tests")


def test_groth16_proof_verifies_and_edited_publics_fail(small_keys):
    pk = small_keys
    c1, c2 = user_commitment("a", 5), user_commitment("b", 6)
    l1, l2 = leaf_hash(c1, (7,), (1,)), leaf_hash(c2, (9,), (0,))
    root_hash = node_hash(l1, (7, 1), l2, (9, 0), depth=1)
    proof = InclusionProof("a", 5, 0, ("BTC",), (7,), (1,), ((l2, (9, 0)),), root_hash, (16, 1))
    r1cs, witness = MerkleSumInclusion(depth=1, assets=1).synthesize(circuit_inputs(proof))
    groth = prove(pk, r1cs, witness)
    public = witness[1 : r1cs.num_public + 1]
    assert verify(pk.vk, public, groth)
    for index, delta in [(1, 1), (3, 1), (4, -1), (0, 1)]:  # equity, root, root equity, commitment
        edited = list(public)
        edited[index] = (edited[index] + delta) % R
        assert not verify(pk.vk, edited, groth), pk.vk.public_names[index]


def test_groth16_refuses_to_prove_a_wrapping_sum(small_keys):
    proof, _ = wrapped_tree()
    r1cs, witness = MerkleSumInclusion(depth=1, assets=1).synthesize(circuit_inputs(proof))
    with pytest.raises(UnsatisfiedConstraint, match="sibling_sum"):
        prove(small_keys, r1cs, witness)


def test_zk_proof_file_against_the_published_root(small_keys, tmp_path):
    accounts = AccountSet((Asset("BTC", 8),), (Account("a", (7,), (1,)), Account("b", (9,), (0,))))
    build_tree(accounts, tmp_path / "t.db", secret=SECRET)
    with TreeStore(tmp_path / "t.db") as store:
        proof, root = make_inclusion_proof(store, "a"), published_root(store)
    root = dataclasses.replace(root, verification_key=vk_hash(small_keys.vk))
    trusted = trust_inclusion_key(root, small_keys.vk, KeyTrust(single_party=True))
    doc = make_zk_proof(small_keys, proof)
    assert "sibling" not in json.dumps(doc)
    assert zk_failure(doc, root, small_keys.vk, trusted) is None
    lower = dataclasses.replace(root, equity_totals=(root.equity_totals[0] - 1,))
    assert "root_equities[0]" in zk_failure(doc, lower, small_keys.vk, trusted)
    other = dict(doc, user_id="b")
    assert "commitment" in zk_failure(other, root, small_keys.vk, trusted)
    richer = dict(doc, equities=["8"])
    assert "equities[0]" in zk_failure(richer, root, small_keys.vk, trusted)
    # public inputs edited consistently with the claim: the pairing check refuses
    forged_doc = json.loads(json.dumps(doc))
    forged_doc["equities"] = ["8"]
    forged_doc["groth16"]["public_inputs"]["equities[0]"] = "8"
    assert zk_failure(forged_doc, root, small_keys.vk, trusted) == "the Groth16 proof does not verify"
    deeper = dataclasses.replace(root, depth=2)
    with pytest.raises(CircuitMismatch):
        trust_inclusion_key(deeper, small_keys.vk, KeyTrust(single_party=True))
    with pytest.raises(UntrustedKey, match="another key or circuit shape"):
        zk_failure(doc, deeper, small_keys.vk, trusted)


def test_zk_proof_over_a_fixed_height_tree(tmp_path):
    """``tree build --height``: the path mixes real siblings and secret-derived padding
    nodes (zero sums); the circuit takes both alike, the ZK proof verifies against the
    published root, and a forged one (a higher balance, publics edited to match) does not."""
    height = 3
    keys = setup(MerkleSumInclusion(depth=height, assets=1), party="tests")
    accounts = AccountSet((Asset("BTC", 8),), (Account("a", (7,), (1,)), Account("b", (9,), (0,))))
    build_tree(accounts, tmp_path / "t.db", secret=SECRET, height=height)
    with TreeStore(tmp_path / "t.db") as store:
        assert store.fixed_height == height
        proof, root = make_inclusion_proof(store, "a"), published_root(store)
    assert any(sums == (0, 0) for _, sums in proof.siblings), "the path should cross a padding node"
    root = dataclasses.replace(root, verification_key=vk_hash(keys.vk))
    trusted = trust_inclusion_key(root, keys.vk, KeyTrust(single_party=True))
    doc = make_zk_proof(keys, proof)
    assert zk_failure(doc, root, keys.vk, trusted) is None
    forged = json.loads(json.dumps(doc))
    forged["equities"] = ["8"]
    forged["groth16"]["public_inputs"]["equities[0]"] = "8"
    assert zk_failure(forged, root, keys.vk, trusted) == "the Groth16 proof does not verify"
    moved = dataclasses.replace(root, root_hash=(root.root_hash + 1) % R)
    assert zk_failure(doc, moved, keys.vk, trusted) is not None


@pytest.mark.slow
@pytest.mark.parametrize("depth", [4, 10])
def test_groth16_at_four_assets(tmp_path, depth):
    assets = tuple(Asset(s, 8) for s in ("BTC", "ETH", "BNB", "USDT"))
    accounts = AccountSet(assets, tuple(Account(f"u{i}", (i, 2 * i, 3 * i, 4 * i), (0, i % 3, 0, 0)) for i in range(1 << depth)))
    build_tree(accounts, tmp_path / "t.db", secret=SECRET)
    with TreeStore(tmp_path / "t.db") as store:
        proof, root = make_inclusion_proof(store, "u3"), published_root(store)
    pk = setup(MerkleSumInclusion(depth=depth, assets=4), party="tests")
    root = dataclasses.replace(root, verification_key=vk_hash(pk.vk))
    trusted = trust_inclusion_key(root, pk.vk, KeyTrust(single_party=True))
    doc = make_zk_proof(pk, proof)
    assert zk_failure(doc, root, pk.vk, trusted) is None
    assert zk_failure(doc, root, pk.vk, trusted, backend="py_ecc") is None


def test_zk_proof_over_a_tree_with_pledges(tmp_path):
    """The circuit takes the pledged amounts as public inputs and hashes them into the leaf:
    the ZK proof verifies, and one with a larger pledge (publics edited to match) does not."""
    accounts = AccountSet((Asset("BTC", 8),), (Account("a", (7,), (1,), (3, 2)), Account("b", (9,), (0,), (0, 0))),
                          pledges=("loan", "margin"))
    build_tree(accounts, tmp_path / "t.db", secret=SECRET)
    with TreeStore(tmp_path / "t.db") as store:
        proof, root = make_inclusion_proof(store, "a"), published_root(store)
    keys = setup(MerkleSumInclusion(depth=root.depth, assets=1, pledges=2), party="tests")
    root = dataclasses.replace(root, verification_key=vk_hash(keys.vk))
    trusted = trust_inclusion_key(root, keys.vk, KeyTrust(single_party=True))
    doc = make_zk_proof(keys, proof)
    assert doc["pledged"] == {"loan": ["3"], "margin": ["2"]}
    assert zk_failure(doc, root, keys.vk, trusted) is None
    forged_doc = json.loads(json.dumps(doc))
    forged_doc["pledged"]["loan"] = ["4"]
    assert zk_failure(forged_doc, root, keys.vk, trusted) == "public input pledged[0][0] differs from the user's data or the published root"
    forged_doc["groth16"]["public_inputs"]["pledged[0][0]"] = "4"
    assert zk_failure(forged_doc, root, keys.vk, trusted) == "the Groth16 proof does not verify"
    forged_doc["pledged"] = {"margin": ["2"], "loan": ["3"]}
    assert "pledge classes" in zk_failure(forged_doc, root, keys.vk, trusted)
    # a key for the tree without pledges does not fit
    with pytest.raises(CircuitMismatch):
        make_zk_proof(setup(MerkleSumInclusion(depth=root.depth, assets=1), party="tests"), proof)
