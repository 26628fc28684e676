"""MuS explanations: scores over the p features of the λ = 1 model's prediction, per method."""

from pathlib import Path

import torch

from attrib.evalset import load_model_and_eval_set
from attrib.mus.experiments import explanation_scores, trim_padding
from attrib.runtime import atomic_save, resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
model, evalset = load_model_and_eval_set(sm.input.model, Path(sm.input.data[0]).parent, sm.params.samples, device)
x = trim_padding(evalset.inputs, evalset.meta)
registry = dict(zip(sm.params.registry, sm.input.attributions))
scores = {}
for method, options in sm.params.methods.items():
    features = torch.load(registry[method])["features"] if method in registry else None
    scores[method] = explanation_scores(model, x, method, options, chunk_size=sm.params.chunk_size,
                                        seed=sm.params.seed, registry_features=features).cpu()
    log.info("%s: scored %d inputs over %d features", method, len(x), model.num_features(x))
atomic_save({"scores": scores, "num_inputs": len(x)}, sm.output[0])
