"""Build one dataset (train/val/test tensors + meta.json) from packages or raw files."""

from pathlib import Path

from attrib.data import build_dataset
from attrib.download import verify_manifest
from attrib.resources import tokenizer_dir
from attrib.runtime import setup

sm = snakemake  # noqa: F821  (injected by Snakemake)
log = setup(sm.log[0], sm.threads, sm.params.seed)
spec = sm.params.spec
options = dict(spec["options"])
if "raw" in sm.input.keys():  # downloaded files: only what their manifest vouches for
    verify_manifest(sm.input.raw)
    options["raw_dir"] = str(Path(sm.input.raw).parent)
given = sm.params.tokenizer  # text datasets: the model whose tokenizer they use
if "tokenizer" in sm.input.keys():  # downloaded with the model: only what its manifest vouches for
    from attrib.models.weights import verify_weights

    entry = given["entry"] or {}
    verify_weights(given["model"], sm.params.resources, source=entry.get("source"), options=entry.get("options"))
tokenizer = tokenizer_dir(given["tokenizer"], sm.params.resources) if given else None
build_dataset(spec["source"], options, Path(sm.output[0]).parent, seed=sm.params.seed, tokenizer_dir=tokenizer)
log.info("built %s from %s", sm.wildcards.dataset, spec["source"])
