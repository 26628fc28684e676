"""Symbolic saliency — SMUG (Sahoo et al., ICLR 2021, "Scaling symbolic methods using gradients").

The first-layer neurons that integrated gradients rank highest are kept as active as they were
on the smallest set of input windows (tokens), found exactly by a 0/1 linear program (HiGHS
MILP or z3): :mod:`~attrib.smug.symbolic`. The maps are judged by the saliency metric and by
sparsity (:mod:`~attrib.smug.evaluate`); ``smug`` and ``smug_base`` are also methods of the
attribution registry (:mod:`~attrib.smug.methods`).
"""

from attrib.smug.evaluate import gini_index, kept_fraction, saliency_metric, saliency_metric_summary
from attrib.smug.symbolic import SmugResult, explain, explain_in_chunks, first_layer, solve

__all__ = [
    "SmugResult",
    "explain",
    "explain_in_chunks",
    "first_layer",
    "gini_index",
    "kept_fraction",
    "saliency_metric",
    "saliency_metric_summary",
    "solve",
]
