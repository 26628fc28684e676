"""Missingness bias in model debugging (Jain, Salman et al., ICLR 2022).

Removing features by blacking them out is itself a distribution shift: predictions change
because of the filler, not only because the evidence is gone. Here: patch ablation under
random and attribution orders and several removal modes (fillers, ViT token dropping, text
[MASK] or deletion), the class-distribution shift it causes, and the LIME top-K test
(:mod:`~attrib.missingness.ablation`), with their figures (:mod:`~attrib.missingness.figures`).
"""

from attrib.missingness.ablation import (
    ablation_summary,
    patch_ablation,
    random_orderings,
    saliency_orderings,
    top_k_ablation,
    top_k_steps,
)

__all__ = [
    "ablation_summary",
    "patch_ablation",
    "random_orderings",
    "saliency_orderings",
    "top_k_ablation",
    "top_k_steps",
]
