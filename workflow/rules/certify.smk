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


rule mus_explain:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
        attributions=lambda wc: expand(
            f"{RESULTS}/attributions/{wc.dataset}/{wc.model}/{{method}}.pt",
            method=mus_registry_methods(),
        ),
    output:
        f"{RESULTS}/certify/explanations/{{dataset}}/{{model}}.pt",
    log:
        f"{RESULTS}/logs/mus_explain/{{dataset}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/mus_explain/{{dataset}}/{{model}}.tsv"
    conda:
        ENV
    threads: config["threads"]["certify"]
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=1,
    params:
        methods=config["certify"]["methods"],
        registry=mus_registry_methods(),
        samples=lambda wc: mus_samples(wc.dataset, "explain"),
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/mus_explain.py"


rule certify_stability:
    input:
        data=data_files("{dataset}"),
        model=mus_checkpoint,
        explanations=f"{RESULTS}/certify/explanations/{{dataset}}/{{model}}.pt",
    output:
        e1=f"{RESULTS}/tables/certify/e1/{{dataset}}/{{model}}/lam{{lam}}.csv",
        e3=f"{RESULTS}/tables/certify/e3/{{dataset}}/{{model}}/lam{{lam}}.csv",
    log:
        f"{RESULTS}/logs/certify_stability/{{dataset}}/{{model}}/lam{{lam}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/certify_stability/{{dataset}}/{{model}}/lam{{lam}}.tsv"
    conda:
        ENV
    threads: config["threads"]["certify"]
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=1,
    params:
        q=config["certify"]["q"],
        top_fractions=config["certify"]["top_fractions"],
        samples=lambda wc: mus_samples(wc.dataset, "certify"),
        sparsity_samples=lambda wc: mus_samples(wc.dataset, "sparsity"),
        sparsity_max_lambda=config["certify"]["sparsity"]["max_lambda"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/certify_stability.py"


rule attack_stability:
    input:
        data=data_files("{dataset}"),
        model=mus_checkpoint,
        explanations=f"{RESULTS}/certify/explanations/{{dataset}}/{{model}}.pt",
    output:
        f"{RESULTS}/tables/certify/attack/{{dataset}}/{{model}}/lam{{lam}}.csv",
    log:
        f"{RESULTS}/logs/attack_stability/{{dataset}}/{{model}}/lam{{lam}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/attack_stability/{{dataset}}/{{model}}/lam{{lam}}.tsv"
    conda:
        ENV
    threads: config["threads"]["certify"]
    resources:
        mem_mb=8000,
        runtime=480,
        gpu=1,
    params:
        q=config["certify"]["q"],
        attack=config["certify"]["attack"],
        samples=lambda wc: mus_samples(wc.dataset, "attack"),
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/attack_stability.py"
