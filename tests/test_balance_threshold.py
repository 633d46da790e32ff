"""The balance_threshold circuit: domains of the threshold and the binding of the commitment.

Tier 1: constraint satisfaction only (the Groth16 round trip is in test_groth16.py).
"""

import pytest

from circuits.balance_threshold import BalanceThreshold
from tests.helpers import forged
from zkproofs.field import R
from zkproofs.poseidon import poseidon_hash

SALT = 987654321


def synth(balance, threshold, salt=SALT):
    return BalanceThreshold().synthesize({"balance": balance, "threshold": threshold, "salt": salt})


def first_failing_label(r1cs, witness):
    index = r1cs.first_unsatisfied(witness)
    return None if index is None else r1cs.labels[index]


@pytest.mark.parametrize("balance,threshold", [(0, 0), (5, 5), (2**64 - 1, 2**64 - 1), (2**64 - 1, 0)])
def test_boundaries_satisfy(balance, threshold):
    r1cs, witness = synth(balance, threshold)
    assert r1cs.is_satisfied(witness)


@pytest.mark.parametrize(
    "balance,threshold",
    [
        (0, R - 5),  # "-5": balance - threshold = 5 passes the comparison
        (0, R - 1),
        (0, R - 2**64 + 1),  # balance - threshold = 2^64 - 1, the largest 64-bit value
        (2**64 - 2, R - 1),  # balance - threshold = 2^64 - 1
    ],
)
def test_negative_threshold_fails_at_the_threshold_range_check(balance, threshold):
    # For these "negative" thresholds the difference balance - threshold is a small
    # 64-bit value, so only the range check of the threshold refuses them.
    r1cs, witness = synth(balance, threshold)
    label = first_failing_label(r1cs, witness)
    assert label is not None and label.startswith("threshold/to_bits[64]/"), label


@pytest.mark.parametrize("threshold", [2**64, 2**64 + 5, 2**200])
def test_threshold_2_64_or_more_is_unsatisfied(threshold):
    for balance in (0, 2**64 - 1):
        r1cs, witness = synth(balance, threshold)
        assert not r1cs.is_satisfied(witness), (balance, threshold)
        assert first_failing_label(r1cs, witness).startswith("threshold/to_bits[64]/")


def test_commitment_is_the_native_poseidon_of_balance_and_salt():
    for balance, salt in ((1_000_000, SALT), (0, 0), (2**64 - 1, R - 1)):
        r1cs, witness = synth(balance, 0, salt)
        assert r1cs.is_satisfied(witness)
        k = 1 + r1cs.public_names.index("commitment")
        assert witness[k] == poseidon_hash([balance, salt])


@pytest.mark.parametrize("other_balance", [1_000_001, 999_999, 2**64 - 1])
def test_changed_balance_with_the_old_commitment_is_unsatisfied(other_balance):
    # Commit to 1_000_000, then run the circuit honestly on another balance but
    # publish the old commitment: only the commitment output constraint can object.
    r1cs, honest = synth(1_000_000, 250_000)
    k = 1 + r1cs.public_names.index("commitment")
    r1cs, witness = synth(other_balance, 250_000)
    assert r1cs.is_satisfied(witness)
    bad = forged(witness, k, honest[k])
    assert first_failing_label(r1cs, bad) == "output commitment"


def test_changed_salt_with_the_old_commitment_is_unsatisfied():
    r1cs, honest = synth(1_000_000, 250_000)
    k = 1 + r1cs.public_names.index("commitment")
    r1cs, witness = synth(1_000_000, 250_000, SALT + 1)
    assert first_failing_label(r1cs, forged(witness, k, honest[k])) == "output commitment"
