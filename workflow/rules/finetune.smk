"""MuS masked fine-tuning, one job per (dataset, model, λ)."""


rule finetune:
    input:
        unpack(finetune_inputs),
    output:
        model=f"{RESULTS}/models/{{dataset}}/{{model}}/lam{{lam}}.pt",
        history=f"{RESULTS}/tables/training/{{dataset}}/{{model}}/lam{{lam}}.csv",
        accuracy=f"{RESULTS}/tables/accuracy/{{dataset}}/{{model}}/lam{{lam}}.csv",
    log:
        f"{RESULTS}/logs/finetune/{{dataset}}/{{model}}/lam{{lam}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/finetune/{{dataset}}/{{model}}/lam{{lam}}.tsv"
    conda:
        ENV
    threads: config["threads"]["finetune"]
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=1,
    params:
        model_spec=lambda wc: config["models"][wc.model],
        levels=config["finetune"]["levels"],
        seed=config["seed"],
        device=config["device"],
        resources=RESOURCES,
    script:
        "../../scripts/finetune.py"
