"""Example attributions of one model (methods × inputs), backed by a tidy CSV."""

from pathlib import Path

import torch

from attrib.attribution.figures import attribution_examples_figure, examples_table
from attrib.evalset import load_eval_set
from attrib.figures import save
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
n = sm.params.examples
evalset = load_eval_set(Path(sm.input.data[0]).parent, n)
meta = evalset.meta
features, target = {}, None
for path in sm.input.attributions:
    saved = torch.load(path, weights_only=False)
    features[Path(path).stem] = saved["features"][:n].float().numpy()
    target = saved["target"][:n] if target is None else target  # every method explains the same class
table = examples_table(features, target.numpy(), evalset.labels.numpy(), meta["classes"])
table.insert(0, "model", sm.wildcards.model)
table.insert(0, "dataset", sm.wildcards.dataset)
table.to_csv(sm.output.table, index=False)

tokens = None
if meta["modality"] == "text":
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(meta["tokenizer_dir"], local_files_only=True)
    lengths = (evalset.inputs != meta["pad_id"]).sum(1)
    tokens = [tokenizer.convert_ids_to_tokens(ids[:length].tolist()) for ids, length in zip(evalset.inputs, lengths)]
images = evalset.inputs if tokens is None else None
save(attribution_examples_figure(table, images=images, tokens=tokens), sm.output.figure)
