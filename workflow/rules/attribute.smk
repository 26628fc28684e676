"""Attributions of the λ = 1 model on the evaluation subset of the test split, each scored in the
same job: deletion/insertion AUCs everywhere; DiffID and ground-truth scores on images.
"""


rule attribute:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
    output:
        attribution=f"{RESULTS}/attributions/{{dataset}}/{{model}}/{{method}}.pt",
        diffid=f"{RESULTS}/tables/scores/diffid/{{dataset}}/{{model}}/{{method}}.csv",
        ground_truth=f"{RESULTS}/tables/scores/ground_truth/{{dataset}}/{{model}}/{{method}}.csv",
        deletion_insertion=f"{RESULTS}/tables/scores/deletion_insertion/{{dataset}}/{{model}}/{{method}}.csv",
    log:
        f"{RESULTS}/logs/attribute/{{dataset}}/{{model}}/{{method}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/attribute/{{dataset}}/{{model}}/{{method}}.tsv"
    conda:
        ENV
    threads: config["threads"]["attribute"]
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=1,
    params:
        method=lambda wc: method_name(wc.method),
        options=lambda wc: method_options(wc.method),
        target=config["attribute"].get("target", "predicted"),
        curves=config["attribute"]["curves"],
        eval_size=lambda wc: config["datasets"][wc.dataset]["eval_size"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/attribute.py"
