"""Differential privacy: budgets, their accounting, and what they cover.

A model trained with a budget carries a record of it (`PrivacyRecord`, the
``differential_privacy`` entry of its config): the epsilon and delta, the
accountant that computed them, the mechanism, and in plain words what the
guarantee covers and what it does not. `kerasynth.privacy.accounting` turns
a mechanism's noise into epsilon (and back) with Google's `dp-accounting`;
`kerasynth.privacy.public` reads the public facts (bounds, categories) a
private model may use without spending budget.
"""
