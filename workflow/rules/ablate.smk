"""Missingness: features removed in random order under each removal mode."""


rule ablate_patches:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
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
        skip=config["ablate"]["skip"],
        eval_size=lambda wc: config["datasets"][wc.dataset]["eval_size"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/ablate_patches.py"
