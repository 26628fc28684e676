"""The registry of attribution methods by name: adding a method is one entry here plus its line
in ``attrib.catalogue.METHODS`` (the data it explains, its option names), which the workflow
reads without importing torch."""

from __future__ import annotations

from attrib.attribution.base import AttributionMethod, RandomAttribution
from attrib.attribution.captum import (
    GradientShap,
    InputXGradient,
    IntegratedGradients,
    Occlusion,
    Saliency,
    SmoothGrad,
)
from attrib.attribution.path import ExpectedGradients, IntGradSG, IntGradUniform, PathAttribution
from attrib.attribution.surrogate import KernelShap, Lime
from attrib.models.base import require_feature_classifier
from attrib.smug.methods import Smug, SmugBase

METHODS: dict[str, type[AttributionMethod]] = {
    "saliency": Saliency,
    "inputxgrad": InputXGradient,
    "smoothgrad": SmoothGrad,
    "gradshap": GradientShap,
    "intgrad": IntegratedGradients,
    "intgrad_path": PathAttribution,
    "intgrad_sg": IntGradSG,
    "intgrad_uniform": IntGradUniform,
    "expgrad": ExpectedGradients,
    "occlusion": Occlusion,
    "lime": Lime,
    "kernelshap": KernelShap,
    "random": RandomAttribution,
    "smug_base": SmugBase,
    "smug": Smug,
}


def path_family(name: str) -> str | None:
    """The path method whose vanilla/re-calibrated pair ``name`` belongs to, None outside the
    family; captum's ``intgrad`` is the vanilla ``intgrad_path`` (equal by test)."""
    if name == "intgrad":
        return "intgrad_path"
    return name if issubclass(METHODS[name], PathAttribution) else None


def build_method(name: str, model, **options) -> AttributionMethod:
    if name not in METHODS:
        raise ValueError(f"unknown attribution method {name!r}; expected one of {sorted(METHODS)}")
    require_feature_classifier(model, f"attribution method {name!r}")
    return METHODS[name](model, **options)
