"""Attributions of the λ = 1 model on the evaluation subset of the test split."""


rule attribute:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
    output:
        f"{RESULTS}/attributions/{{dataset}}/{{model}}/{{method}}.pt",
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
        options=lambda wc: config["attribute"]["methods"][wc.method],
        eval_size=lambda wc: config["datasets"][wc.dataset]["eval_size"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/attribute.py"
