"""Missingness bias: patch ablation under each removal mode and feature order, LIME with the
removal mode as a parameter and the top-K test, and the text analogue ([MASK] vs deletion).
"""


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
