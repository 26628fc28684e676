"""The top-K test across evaluating model × explanation source (own LIME, the other models'
LIME, random order): remove the top-k features, or keep only them."""

from pathlib import Path

import pandas as pd
import torch

from attrib.missingness.ablation import random_orderings, saliency_orderings, top_k_ablation, top_k_steps
from attrib.evalset import load_eval_set
from attrib.models import load_checkpoint
from attrib.runtime import resolve_device, setup
from attrib.tables import labelled

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads, sm.params.seed)
device = resolve_device(sm.params.device)
explanations = {f"{m}:{r}": torch.load(path, map_location="cpu", weights_only=True)["features"]
                for (m, r), path in zip(sm.params.conditions, sm.input.lime)}
n, p = next(iter(explanations.values())).shape
x = load_eval_set(Path(sm.input.data[0]).parent, n).inputs.to(device)
orders = {name: saliency_orderings(features).to(device) for name, features in explanations.items()}
orders["random"] = random_orderings(n, p, sm.params.seed).to(device)
ks = top_k_steps(p, sm.params.top_k["skip"], sm.params.top_k["max_fraction"])
tables = []
for (model_name, removal), path in zip(sm.params.conditions, sm.input.models):
    model = load_checkpoint(path)[0].to(device)
    generator = torch.Generator(device=device).manual_seed(sm.params.seed)
    table = top_k_ablation(model, x, orders, ks, removal=removal, chunk_size=sm.params.chunk_size, generator=generator)
    own = f"{model_name}:{removal}"
    table.insert(0, "source_kind", table["source"].map(lambda s: "own" if s == own else ("random" if s == "random" else "other")))
    table.insert(0, "removal", removal)
    table.insert(0, "model", model_name)
    tables.append(table)
    last = table[(table["test"] == "remove") & (table["k"] == ks[-1])].groupby("source")["unchanged"].mean()
    log.info("%s: unchanged after removing the top %d: %s", own, ks[-1], last.round(3).to_dict())
table = pd.concat(tables, ignore_index=True)
labelled(table, dataset=sm.wildcards.dataset, num_features=p).to_csv(sm.output[0], index=False)
