"""Attribute the λ = 1 model's predictions on one shard of the evaluation subset with one method,
then score the attributions (deletion/insertion AUCs; on images DiffID and the ground-truth
scores) in the same process, so the model and data are loaded once. Rows carry their
evaluation-set index; merge_attribute joins the shards."""

from pathlib import Path

from attrib.attribution import METHODS, build_method
from attrib.attribution.base import stored_maps
from attrib.data import images_as_float, load_split
from attrib.evalset import start_evaluation_job
from attrib.attribution.scores import attribution_scores
from attrib.models import chunked_logits
from attrib.runtime import atomic_save
from attrib.tables import labelled

REFERENCE_POOL = 1000  # expected gradients draws its references from this many training images

sm = snakemake  # noqa: F821
start, stop = sm.params.rows
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=stop, start=start,
)
x = evalset.inputs
pred = chunked_logits(model, x, chunk_size=sm.params.chunk_size).argmax(1)
name = sm.params.method
options = {"chunk_size": sm.params.gradient_chunk_size, **sm.params.options}
if "seed" in METHODS[name].defaults:  # seeded methods follow the config seed
    options.setdefault("seed", sm.params.seed)
references = {}
if "references" in METHODS[name].defaults:  # expected gradients: references are training images
    train = load_split(Path(sm.input.data[0]).parent, "train", mmap=True)  # reads only the pool's rows
    references["references"] = images_as_float({"x": train["x"][:REFERENCE_POOL]})
method = build_method(name, model, **options, **references)
target = evalset.labels if sm.params.target == "label" else pred
result = method.attribute(x, target=target, index=range(start, stop))
pixel_map, magnitude = stored_maps(result, model, x.shape[-1])
features = result.features.detach().cpu()
atomic_save(
    {
        "method": name,
        "options": options,
        "features": features,
        "map": pixel_map,  # signed, summed over channels: (N, H, W), float16 (drawn only)
        "magnitude": magnitude,  # |map| summed over channels, what DiffID ranks: (N, H, W), float32
        "target": target.cpu(),  # the class explained, which the scores use
        "label": evalset.labels.cpu(),
    },
    sm.output.attribution,
)
log.info("attributed inputs %d..%d with %s (%s)", start, stop, sm.wildcards.method, name)

scores = attribution_scores(model, x, features.float().to(device), None if magnitude is None else magnitude.to(device),
                            target, masks=evalset.masks, curve_steps=sm.params.curves["steps"],
                            curve_baseline=sm.params.curves["baseline"], chunk_size=sm.params.chunk_size)
labels = dict(dataset=sm.wildcards.dataset, model=sm.wildcards.model, method=sm.wildcards.method, registry=name,
              recalibrate=bool(options.get("recalibrate", False)))
for kind, table in scores.items():
    table["image"] += start
    labelled(table, **labels).to_csv(sm.output[kind], index=False)
log.info("scored %s: %s", sm.wildcards.method, ", ".join(f"{len(t)} {kind} rows" for kind, t in scores.items()))
