"""Attribution methods and how faithful they are — the re-calibration paper (Yang et al., ICLR
2023, "Re-calibrating feature attributions for model interpretation").

Every method follows captum's shape, ``build_method(name, model, **options).attribute(inputs,
target=...)``, and lives in one registry (:mod:`attrib.attribution.registry`): captum's
gradient and ablation methods, batched LIME and Kernel SHAP, and the path family (integrated
gradients from several references, expected gradients), each path method vanilla or
re-calibrated. :mod:`attrib.attribution.scores` judges them: DiffID (the paper's metric),
classic deletion/insertion curves, ground-truth localisation.
"""

from attrib.attribution.base import Attribution, AttributionMethod
from attrib.attribution.registry import METHODS, build_method, path_family
from attrib.attribution.scores import (
    attribution_scores,
    deletion_insertion_curves,
    diffid,
    diffid_auc,
    diffid_summary,
    ground_truth_table,
)

__all__ = [
    "METHODS",
    "Attribution",
    "AttributionMethod",
    "attribution_scores",
    "build_method",
    "deletion_insertion_curves",
    "diffid",
    "diffid_auc",
    "diffid_summary",
    "ground_truth_table",
    "path_family",
]
