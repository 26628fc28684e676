"""Grid of example attributions (inputs × model/method), backed by a tidy CSV."""

from pathlib import Path

import pandas as pd
import torch

from attrib.evalset import load_eval_set
from attrib.attribution.figures import attribution_examples_figure
from attrib.figures import save
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
n = sm.params.examples
evalset = load_eval_set(Path(sm.input.data[0]).parent, n)
meta = evalset.meta
titles, columns, rows = [], [], []
for path in sm.input.attributions:
    path = Path(path)
    saved = torch.load(path, weights_only=False)
    model, method = path.parent.name, path.stem
    features = saved["features"][:n].float()
    titles.append(f"{model}\n{method}")
    columns.append(features)
    for i, values in enumerate(features):
        rows += [dict(model=model, method=method, example=i, feature=j, value=float(v)) for j, v in enumerate(values)]
table = pd.DataFrame(rows)
table.insert(0, "dataset", sm.wildcards.dataset)
table.to_csv(sm.output.table, index=False)

labels = [f"label {meta['classes'][int(y)]}" for y in evalset.labels]
tokens = None
if meta["modality"] == "text":
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(meta["tokenizer_dir"], local_files_only=True)
    lengths = (evalset.inputs != meta["pad_id"]).sum(1)
    tokens = [tokenizer.convert_ids_to_tokens(ids[:length].tolist()) for ids, length in zip(evalset.inputs, lengths)]
figure = attribution_examples_figure(evalset.inputs, torch.stack(columns), titles, labels, tokens=tokens)
save(figure, sm.output.figure)
