"""Missingness bias: patch ablation under each removal mode and feature order, LIME with the
removal mode as a parameter and the top-K test, and the text analogue ([MASK] vs deletion).
"""

from attrib.ablation import parse_order
from attrib.models import supports_removal


def ablation_jobs():
    """(dataset, model, removal): every ablate condition, plus every image model under each
    mode of ablate.removal_modes that it supports (those under the random order only).
    """
    jobs = []
    for ds, model in dataset_models():
        for condition in config["ablate"]["conditions"]:
            if condition.split(":")[0] == model:
                jobs.append((ds, model, condition.split(":")[1]))
        if modality(ds) == "image":
            jobs += [
                (ds, model, removal)
                for removal in config["ablate"]["removal_modes"]
                if supports_removal(model, removal) and (ds, model, removal) not in jobs
            ]
    return jobs


def ordering_source(dataset, model):
    """Whose attributions order the features that this model has removed."""
    source = config["ablate"]["ordering_source"]
    models = config["datasets"][dataset]["models"]
    if source == "first":
        return models[0]
    return source if source in models else model


def ablation_orders(dataset, model, removal):
    """The orders of one job: each with its attribution file (None for random)."""
    names = config["ablate"]["orders"]
    if f"{model}:{removal}" not in config["ablate"]["conditions"]:
        names = ["random"]
    orders = []
    for name in names:
        method, descending = parse_order(name)
        if method is not None and method not in methods_for(dataset):
            continue
        path = None
        if method is not None:
            source = ordering_source(dataset, model)
            path = f"{RESULTS}/attributions/{dataset}/{source}/{method}.pt"
        orders.append({"name": name, "file": path, "descending": descending})
    return orders


def lime_conditions(dataset):
    """(model, removal) explained by LIME on this dataset."""
    return [
        tuple(c.split(":"))
        for c in config["ablate"]["lime"]["conditions"]
        if c.split(":")[0] in config["datasets"][dataset]["models"]
    ]


def topk_datasets():
    return [ds for ds in config["datasets"] if lime_conditions(ds)]


rule ablate_patches:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
        attributions=lambda wc: sorted(
            {
                o["file"]
                for o in ablation_orders(wc.dataset, wc.model, wc.removal)
                if o["file"]
            }
        ),
    output:
        f"{RESULTS}/tables/ablate/patches/{{dataset}}/{{model}}/{{removal}}.csv",
    log:
        f"{RESULTS}/logs/ablate_patches/{{dataset}}/{{model}}/{{removal}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ablate_patches/{{dataset}}/{{model}}/{{removal}}.tsv"
    conda:
        ENV
    threads: config["threads"]["ablate"]
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=1,
    params:
        orders=lambda wc: ablation_orders(wc.dataset, wc.model, wc.removal),
        skip=config["ablate"]["skip"],
        eval_size=lambda wc: config["datasets"][wc.dataset]["eval_size"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/ablate_patches.py"


rule ablate_lime:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
    output:
        f"{RESULTS}/ablate/lime/{{dataset}}/{{model}}/{{removal}}.pt",
    log:
        f"{RESULTS}/logs/ablate_lime/{{dataset}}/{{model}}/{{removal}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ablate_lime/{{dataset}}/{{model}}/{{removal}}.tsv"
    conda:
        ENV
    threads: config["threads"]["ablate"]
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=1,
    params:
        lime={k: v for k, v in config["ablate"]["lime"].items() if k != "conditions"},
        eval_size=lambda wc: config["datasets"][wc.dataset]["eval_size"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/ablate_lime.py"


rule ablate_topk:
    input:
        data=data_files("{dataset}"),
        models=lambda wc: [
            checkpoint(wc.dataset, m, "1") for m, _ in lime_conditions(wc.dataset)
        ],
        lime=lambda wc: [
            f"{RESULTS}/ablate/lime/{wc.dataset}/{m}/{r}.pt"
            for m, r in lime_conditions(wc.dataset)
        ],
    output:
        f"{RESULTS}/tables/ablate/topk/{{dataset}}.csv",
    log:
        f"{RESULTS}/logs/ablate_topk/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ablate_topk/{{dataset}}.tsv"
    conda:
        ENV
    threads: config["threads"]["ablate"]
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=1,
    params:
        conditions=lambda wc: lime_conditions(wc.dataset),
        top_k=config["ablate"]["top_k"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/ablate_topk.py"
