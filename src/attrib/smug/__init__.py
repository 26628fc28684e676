"""Symbolic saliency — SMUG (Sahoo et al., ICLR 2021, "Scaling symbolic methods using gradients").

The first-layer neurons that integrated gradients rank highest are kept as active as they were
on the smallest set of input windows (tokens), found exactly by a 0/1 linear program (HiGHS
MILP or z3): :mod:`~attrib.smug.symbolic`. The maps are judged by the saliency metric and by
sparsity (:mod:`~attrib.smug.evaluate`); ``smug`` and ``smug_base`` are also methods of the
attribution registry (:mod:`~attrib.smug.methods`).
"""

import importlib

_HOMES = {  # name -> submodule, imported on first use: the solver pulls scipy (and z3) in
    "SmugResult": "symbolic",
    "explain": "symbolic",
    "explain_in_chunks": "symbolic",
    "first_layer": "symbolic",
    "solve": "symbolic",
    "gini_index": "evaluate",
    "kept_fraction": "evaluate",
    "saliency_metric": "evaluate",
    "saliency_metric_summary": "evaluate",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'attrib.smug' has no attribute {name!r}")
    return getattr(importlib.import_module(f"attrib.smug.{_HOMES[name]}"), name)


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
