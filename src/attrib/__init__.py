"""Reliability of feature attributions: one package behind the Snakemake pipeline, and a library.

The main entry points are attributes of the package (``attrib.build_method``,
``attrib.SmoothedClassifier``, ``attrib.diffid``, ``attrib.patch_ablation``, ...; see
``docs/library.md``). They are imported on first use, so ``import attrib`` loads no torch: the
workflow reads ``attrib.catalogue`` on every parse of the Snakefile.

Modules: ``features`` (feature grids and removal modes), ``data`` (dataset builders),
``models`` (model registry and the ``model(x, keep=α, removal=...)`` wrapper),
``finetune`` (masked fine-tuning), ``attribution`` (method registry, DiffID), ``mus``
(multiplicative smoothing and certificates), ``missingness`` (patch ablation), ``smug``
(symbolic saliency), ``figures`` and ``summary`` (plots and the headline numbers from tidy
tables), ``config`` (schema validation), ``catalogue`` (the registries' facts, torch-free).
"""

from importlib import import_module

__version__ = "0.1.0"

# name -> the module that defines it
_EXPORTS = {
    **dict.fromkeys(["FeatureClassifier", "ImageClassifier", "build_model", "load_checkpoint"], "attrib.models"),
    **dict.fromkeys(["METHODS", "Attribution", "build_method", "diffid", "diffid_auc", "deletion_insertion_curves"],
                    "attrib.attribution"),
    **dict.fromkeys(["SmoothedClassifier", "certified_flips", "box_attack"], "attrib.mus"),
    **dict.fromkeys(["patch_ablation", "ablation_summary", "random_orderings", "saliency_orderings"],
                    "attrib.missingness"),
    **dict.fromkeys(["explain"], "attrib.smug"),
    **dict.fromkeys(["headline_numbers"], "attrib.summary"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    """Import an entry point's module when it is first used (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'attrib' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_EXPORTS})
