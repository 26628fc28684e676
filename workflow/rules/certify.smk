"""MuS certificates: E2, certified accuracy of the smoothed classifier for each λ."""


rule certify_accuracy:
    input:
        data=data_files("{dataset}"),
        model=f"{RESULTS}/models/{{dataset}}/{{model}}/lam{{lam}}.pt",
    output:
        f"{RESULTS}/tables/certify/e2/{{dataset}}/{{model}}/lam{{lam}}.csv",
    log:
        f"{RESULTS}/logs/certify_accuracy/{{dataset}}/{{model}}/lam{{lam}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/certify_accuracy/{{dataset}}/{{model}}/lam{{lam}}.tsv"
    conda:
        ENV
    threads: config["threads"]["certify"]
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=1,
    params:
        q=config["certify"]["q"],
        eval_size=lambda wc: config["datasets"][wc.dataset]["eval_size"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/certify_accuracy.py"
