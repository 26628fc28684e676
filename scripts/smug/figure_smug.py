"""SMUG figures: example maps (input, IG, smug_base, smug), saliency metric and sparsity per
method, solver time per backend; each from a tidy CSV written here."""

from pathlib import Path

import pandas as pd
import torch

from attrib.evalset import load_eval_set
from attrib.figures import save
from attrib.smug.figures import (SOLVE_KEYS, example_rows, smug_examples_figure, smug_saliency_figure, smug_solver_time_figure,
                                 smug_status_counts, smug_summary)
from attrib.runtime import setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0])

solver = pd.concat(map(pd.read_csv, sm.input.solver), ignore_index=True)
solver.to_csv(sm.output.solver, index=False)
status = smug_status_counts(solver)
status.to_csv(sm.output.status, index=False)
for row in status.itertuples(index=False):
    log.info("%s / %s (%s): %d optimal, %d timeout, %d fallback masks", row.dataset, row.model, row.backend,
             row.optimal, row.timeout, row.fallback)
timing = pd.concat(map(pd.read_csv, sm.input.timing), ignore_index=True)
timing.to_csv(sm.output.timing, index=False)
save(smug_solver_time_figure(solver.merge(timing, on=["dataset", "model", *SOLVE_KEYS])), sm.output.solver_figure)

scores = pd.concat(map(pd.read_csv, sm.input.scores), ignore_index=True)
scores.to_csv(sm.output.scores, index=False)
smug_summary(scores).to_csv(sm.output.summary, index=False)
save(smug_saliency_figure(scores), sm.output.saliency_figure)

n = sm.params.examples
intgrad = {(Path(p).parts[-3], Path(p).parts[-2]): p for p in sm.input.intgrad}
blocks, rows = [], []
for (dataset, model), path in zip(sm.params.pairs, sm.input.maps):
    saved = torch.load(path, weights_only=False)
    evalset = load_eval_set(Path(sm.input.data[0]).parent.parent / dataset, n)
    meta, text = evalset.meta, evalset.meta["modality"] == "text"
    columns = {}
    if (dataset, model) in intgrad:
        ig = torch.load(intgrad[(dataset, model)], weights_only=False)
        columns["intgrad"] = ig["features"][:n].float() if text else ig["map"][:n].float()
    columns["smug_base"] = saved["base"][:n].float().flatten(1, 2) if text else saved["base"][:n].float()
    columns["smug"] = saved["smug"][:n].float().flatten(1, 2) if text else saved["smug"][:n].float()
    rows.append(example_rows(dataset, model, columns))
    own = solver[(solver["dataset"] == dataset) & (solver["model"] == model) & (solver["role"] == "maps")
                 & (solver["solution"] == 0)].set_index("input")
    labels = [f"label {meta['classes'][int(y)]}, mask keeps {own['kept_fraction'][i]:.2f} ({own['status'][i]})"
              for i, y in enumerate(evalset.labels)]
    block = {"title": f"{dataset} / {model}", "columns": columns, "labels": labels}
    if text:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(meta["tokenizer_dir"], local_files_only=True)
        lengths = (evalset.inputs != meta["pad_id"]).sum(1)
        block["tokens"] = [tokenizer.convert_ids_to_tokens(ids[:k].tolist()) for ids, k in zip(evalset.inputs, lengths)]
    else:
        block["images"] = evalset.inputs
    blocks.append(block)
pd.concat(rows, ignore_index=True).to_csv(sm.output.examples, index=False)
save(smug_examples_figure(blocks), sm.output.examples_figure)
