"""Attribute the λ = 1 model's predictions on the evaluation subset with one method."""

from pathlib import Path

import torch

from attrib.attribution import METHODS, build_method
from attrib.evalset import load_model_and_eval_set
from attrib.models import chunked_logits
from attrib.runtime import atomic_save, resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
model, evalset = load_model_and_eval_set(sm.input.model, Path(sm.input.data[0]).parent, sm.params.eval_size, device)
x = evalset.inputs
pred = chunked_logits(model, x, chunk_size=sm.params.chunk_size).argmax(1)
options = {"chunk_size": sm.params.chunk_size, **sm.params.options}
if "seed" in METHODS[sm.wildcards.method].defaults:  # seeded methods follow the config seed
    options.setdefault("seed", sm.params.seed)
method = build_method(sm.wildcards.method, model, **options)
result = method.attribute(x, target=pred)
pixel_map = None if result.map is None else result.map.detach().sum(dim=1).to(torch.float16).cpu()
atomic_save(
    {
        "method": sm.wildcards.method,
        "options": options,
        "features": result.features.detach().cpu(),
        "map": pixel_map,  # signed, summed over channels: (N, H, W)
        "target": pred.cpu(),
        "label": evalset.labels.cpu(),
    },
    sm.output[0],
)
log.info("attributed %d inputs with %s", len(pred), sm.wildcards.method)
