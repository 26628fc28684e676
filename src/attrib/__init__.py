"""Reliability of feature attributions: one package behind the Snakemake pipeline.

Modules: ``features`` (feature grids and removal modes), ``data`` (dataset builders),
``models`` (model registry and the ``model(x, keep=α, removal=...)`` wrapper),
``finetune`` (masked fine-tuning), ``attribution`` (method registry), ``mus``
(multiplicative smoothing and certificates), ``ablation`` (patch ablation),
``figures`` (plots from tidy tables), ``config`` (schema validation).
"""
