"""SMUG maps of the λ = 1 model on the first inputs of the evaluation subset, the solver's table,
and the same programs timed on every timing backend."""

from pathlib import Path

import pandas as pd
import torch

from attrib import smug
from attrib.evalset import load_model_and_eval_set
from attrib.models import chunked_logits
from attrib.runtime import atomic_save, resolve_device, setup

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
model, evalset = load_model_and_eval_set(sm.input.model, Path(sm.input.data[0]).parent, sm.params.eval_size, device)
x = evalset.inputs
pred = chunked_logits(model, x, chunk_size=sm.params.chunk_size).argmax(1)
options = {**smug.SMUG_DEFAULTS, **sm.params.options}
encode_keys = ("window", "top_k", "gamma", "scores", "n_steps")
encoding, layer, z = smug.encode_inputs(model, x, pred, chunk_size=sm.params.chunk_size,
                                        **{k: options[k] for k in encode_keys})
result = smug.explain_encoding(encoding, layer, z, **{k: v for k, v in options.items() if k not in encode_keys})
log.info("%s: %d masks, statuses %s, median solver time %.4f s", options["backend"], len(result.table),
         result.table["status"].value_counts().to_dict(), result.table["seconds"].median())

timing = sm.params.timing or {"backends": [], "inputs": 0}
rows = [result.table.assign(role="maps")]
for backend in timing["backends"]:
    if backend == options["backend"]:
        continue  # the maps' own solve times are the timing rows of that backend
    records = []
    for i, program in enumerate(encoding.programs[: timing["inputs"]]):
        (solution,) = smug.solve(program, backend, timeout_s=options["timeout_s"], margin=options["margin"])
        records.append({"input": i, "solution": 0, **smug.solution_record(program, solution, backend),
                        "satisfied": program.satisfied(solution.mask)})
    rows.append(pd.DataFrame(records).assign(role="timing"))
    log.info("%s on %d programs: median %.4f s", backend, len(records), rows[-1]["seconds"].median())
table = pd.concat(rows, ignore_index=True)
table.insert(0, "model", sm.wildcards.model)
table.insert(0, "dataset", sm.wildcards.dataset)
table.to_csv(sm.output.solver, index=False)
atomic_save(
    {
        "options": options,
        "base": result.base.cpu(),  # (N, H, W); text (N, 1, L)
        "smug": result.smug.cpu(),
        "mask": result.mask.cpu(),
        "target": pred.cpu(),
        "label": evalset.labels.cpu(),
    },
    sm.output.maps,
)
