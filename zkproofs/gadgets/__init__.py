"""Gadgets: functions over a :class:`~zkproofs.r1cs.ConstraintSystem`, grouped by topic.

Each gadget states its precondition; a variant that skips a check it would
otherwise make is named ``..._unchecked`` (as arkworks' ``enforce_cmp_unchecked``).
"""
