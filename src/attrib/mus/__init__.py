"""Stability guarantees for feature attributions by multiplicative smoothing — MuS (Xue, Alur,
Wong, 2023).

The smoothed classifier averages the base model over derandomised keep-masks at keep
probability λ, so that adding or removing up to r features of an explanation provably cannot
change its prediction while r < gap / (2λ). Here: the smoothed classifier and its certificates
(:mod:`~attrib.mus.smoothing`), the explanation methods on the mask space
(:mod:`~attrib.mus.explain`), the box attack that tries to refute a certificate
(:mod:`~attrib.mus.attack`), the paper's experiments E1–E3 (:mod:`~attrib.mus.experiments`)
and their figures (:mod:`~attrib.mus.figures`).
"""

from attrib.mus.attack import box_attack
from attrib.mus.experiments import e1_attack_table, e1_certified_table, e3_sparsity_table
from attrib.mus.explain import explain_masks
from attrib.mus.smoothing import (
    SmoothedClassifier,
    certified_accuracy_table,
    certified_flips,
    certify,
    quasi_random_masks,
    stability_table,
)

__all__ = [
    "SmoothedClassifier",
    "box_attack",
    "certified_accuracy_table",
    "certified_flips",
    "certify",
    "e1_attack_table",
    "e1_certified_table",
    "e3_sparsity_table",
    "explain_masks",
    "quasi_random_masks",
    "stability_table",
]
