"""SMUG maps of the λ = 1 model on one shard of the first inputs of the evaluation subset, the
solver's table (inputs by their evaluation-set index), and the first timing.inputs programs
timed on every timing backend."""

from pathlib import Path

import attrib.smug.symbolic as smug
from attrib.smug.figures import SOLVE_KEYS
from attrib.evalset import start_evaluation_job
from attrib.models import chunked_logits
from attrib.runtime import atomic_save
from attrib.tables import labelled

sm = snakemake  # noqa: F821
start, stop = sm.params.rows
log, device, model, evalset = start_evaluation_job(
    sm.log[0], threads=sm.threads, seed=sm.params.seed, device=sm.params.device, checkpoint=sm.input.model,
    data_dir=Path(sm.input.data[0]).parent, eval_size=stop, start=start,
)
x = evalset.inputs
pred = chunked_logits(model, x, chunk_size=sm.params.chunk_size).argmax(1)
options = {**smug.SMUG_DEFAULTS, **sm.params.options}
timing = sm.params.timing or {"backends": [], "inputs": 0}
result = smug.explain_in_chunks(model, x, pred, chunk_size=sm.params.chunk_size, timing_backends=timing["backends"],
                                timing_inputs=max(0, timing["inputs"] - start), **options)
table = result.table
table["input"] += start
for (backend, role), rows in table.groupby(["backend", "role"]):
    log.info("%s (%s): %d masks, statuses %s, median solve time %.4f s", backend, role, len(rows),
             rows["status"].value_counts().to_dict(), rows["seconds"].median())
labels = {"dataset": sm.wildcards.dataset, "model": sm.wildcards.model}
labelled(table.drop(columns="seconds"), **labels).to_csv(sm.output.solver, index=False)
labelled(table[list(SOLVE_KEYS) + ["seconds"]].copy(), **labels).to_csv(sm.output.timing, index=False)
own = table[(table["role"] == "maps") & (table["solution"] == 0)].sort_values("input")
atomic_save(
    {
        "options": options,
        "status": own["status"].tolist(),  # per input: optimal, timeout (valid, not proven) or fallback
        "base": result.base.cpu(),  # (N, H, W); text (N, 1, L)
        "smug": result.smug.cpu(),
        "mask": result.mask.cpu(),
        "target": pred.cpu(),
        "label": evalset.labels.cpu(),
    },
    sm.output.maps,
)
