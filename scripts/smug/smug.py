"""SMUG maps of the λ = 1 model on the first inputs of the evaluation subset, the solver's table,
and the same programs timed on every timing backend."""

from pathlib import Path

import attrib.smug.symbolic as smug
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
timing = sm.params.timing or {"backends": [], "inputs": 0}
result = smug.explain_in_chunks(model, x, pred, chunk_size=sm.params.chunk_size, timing_backends=timing["backends"],
                                timing_inputs=timing["inputs"], **options)
table = result.table
for (backend, role), rows in table.groupby(["backend", "role"]):
    log.info("%s (%s): %d masks, statuses %s, median solve time %.4f s", backend, role, len(rows),
             rows["status"].value_counts().to_dict(), rows["seconds"].median())
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
