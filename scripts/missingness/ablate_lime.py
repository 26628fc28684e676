"""LIME on features with the removal mode as a parameter (black for CNNs, drop for ViTs), on one
shard of the explained images (one set of perturbations serves every image)."""

from pathlib import Path

from attrib.attribution import build_method
from attrib.evalset import start_evaluation_job
from attrib.models import chunked_logits
from attrib.runtime import atomic_save

sm = snakemake  # noqa: F821
options = dict(sm.params.lime)
start, stop = sm.params.rows
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=stop, start=start,
)
x = evalset.inputs
pred = chunked_logits(model, x, chunk_size=sm.params.chunk_size).argmax(1)
removal = sm.wildcards.removal
method = build_method("lime", model, removal=removal, seed=sm.params.seed, chunk_size=sm.params.chunk_size, **options)
result = method.attribute(x, target=pred, index=range(start, stop))
atomic_save(
    {"features": result.features.cpu(), "target": pred.cpu(), "removal": removal, "options": options},
    sm.output[0],
)
log.info("LIME (%s removal) of images %d..%d, %d perturbations each", removal, start, stop, options["n_samples"])
