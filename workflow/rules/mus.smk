"""MuS: certified accuracy (E2), certified and empirical stability of explanations (E1),
sparsity (E3) and the masked accuracy, with their figures."""


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
        gpu=1,
        work_s=lambda wc: round(certify_accuracy_work(wc)),
        runtime=runtime(certify_accuracy_work),
        mem_mb=memory(
            lambda wc: cost.evaluation_bytes(
                config, wc.dataset, wc.model, eval_size(wc.dataset)
            )
        ),
    params:
        q=config["certify"]["q"],
        eval_size=lambda wc: config["datasets"][wc.dataset]["eval_size"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/mus/certify_accuracy.py"


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
        gpu=1,
        work_s=lambda wc: round(mus_explain_work(wc)),
        runtime=runtime(mus_explain_work),
        mem_mb=memory(
            lambda wc: cost.evaluation_bytes(
                config, wc.dataset, wc.model, mus_samples(wc.dataset, "explain")
            )
        ),
    params:
        methods=config["certify"]["methods"],
        registry=mus_registry_methods(),
        samples=lambda wc: mus_samples(wc.dataset, "explain"),
        chunk_size=gradient_chunk,
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/mus/mus_explain.py"


rule certify_stability:
    input:
        data=data_files("{dataset}"),
        model=mus_checkpoint,
        explanations=f"{RESULTS}/certify/explanations/{{dataset}}/{{model}}.pt",
    output:
        e1=shard_output("certify", CERTIFY_E1, f"{CERTIFY_PART}/e1.csv"),
        e3=shard_output("certify", CERTIFY_E3, f"{CERTIFY_PART}/e3.csv"),
    log:
        f"{RESULTS}/logs/certify_stability/{{dataset}}/{{model}}/lam{{lam}}{shard_suffix('certify')}.log",
    benchmark:
        f"{RESULTS}/benchmarks/certify_stability/{{dataset}}/{{model}}/lam{{lam}}{shard_suffix('certify')}.tsv"
    conda:
        ENV
    threads: config["threads"]["certify"]
    resources:
        gpu=1,
        work_s=lambda wc: round(certify_stability_work(wc)),
        runtime=runtime(certify_stability_work),
        mem_mb=memory(lambda wc: mus_shard_bytes(wc, "certify")),
    params:
        q=config["certify"]["q"],
        top_fractions=config["certify"]["top_fractions"],
        rows=lambda wc: mus_shard_rows(wc, "certify"),
        sparsity_samples=lambda wc: mus_samples(wc.dataset, "sparsity"),
        sparsity_max_lambda=config["certify"]["sparsity"]["max_lambda"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/mus/certify_stability.py"


if sharded("certify"):

    rule merge_certify_stability:
        input:
            e1=lambda wc: mus_parts(wc, "certify", f"{CERTIFY_PART}/e1.csv"),
            e3=lambda wc: mus_parts(wc, "certify", f"{CERTIFY_PART}/e3.csv"),
        output:
            e1=CERTIFY_E1,
            e3=CERTIFY_E3,
        log:
            f"{RESULTS}/logs/merge_certify_stability/{{dataset}}/{{model}}/lam{{lam}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/merge_certify_stability/{{dataset}}/{{model}}/lam{{lam}}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            runtime=lambda wc, attempt: 10 * attempt,
            mem_mb=lambda wc, attempt: 2000 * attempt,
        script:
            "../../scripts/merge_shards.py"


rule attack_stability:
    input:
        data=data_files("{dataset}"),
        model=mus_checkpoint,
        explanations=f"{RESULTS}/certify/explanations/{{dataset}}/{{model}}.pt",
    output:
        attack=shard_output("attack", ATTACK_TABLE, f"{ATTACK_PART}/attack.csv"),
    log:
        f"{RESULTS}/logs/attack_stability/{{dataset}}/{{model}}/lam{{lam}}{shard_suffix('attack')}.log",
    benchmark:
        f"{RESULTS}/benchmarks/attack_stability/{{dataset}}/{{model}}/lam{{lam}}{shard_suffix('attack')}.tsv"
    conda:
        ENV
    threads: config["threads"]["certify"]
    resources:
        gpu=1,
        work_s=lambda wc: round(attack_stability_work(wc)),
        runtime=runtime(attack_stability_work),
        mem_mb=memory(lambda wc: mus_shard_bytes(wc, "attack")),
    params:
        q=config["certify"]["attack"]["q"],
        attack=config["certify"]["attack"],
        rows=lambda wc: mus_shard_rows(wc, "attack"),
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/mus/attack_stability.py"


if sharded("attack"):

    rule merge_attack_stability:
        input:
            attack=lambda wc: mus_parts(wc, "attack", f"{ATTACK_PART}/attack.csv"),
        output:
            attack=ATTACK_TABLE,
        log:
            f"{RESULTS}/logs/merge_attack_stability/{{dataset}}/{{model}}/lam{{lam}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/merge_attack_stability/{{dataset}}/{{model}}/lam{{lam}}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            runtime=lambda wc, attempt: 10 * attempt,
            mem_mb=lambda wc, attempt: 2000 * attempt,
        script:
            "../../scripts/merge_shards.py"


rule figure_certified_accuracy:
    input:
        samples=expand(
            f"{RESULTS}/tables/certify/e2/{{pair[0]}}/{{pair[1]}}/lam{{lam}}.csv",
            pair=dataset_models("mus"),
            lam=lambdas(),
        ),
        metas=metas(ds for ds, _ in dataset_models("mus")),
    output:
        samples=f"{RESULTS}/tables/e2_samples.csv",
        curve=report(
            f"{RESULTS}/tables/e2_certified_accuracy.csv",
            caption="../report/certified_accuracy.rst",
            category="MuS certificates",
            labels={"result": "E2 certified accuracy", "file": "table"},
        ),
        figure=report(
            f"{RESULTS}/figures/e2_certified_accuracy.png",
            caption="../report/certified_accuracy.rst",
            category="MuS certificates",
            labels={"result": "E2 certified accuracy", "file": "figure"},
        ),
    log:
        f"{RESULTS}/logs/figures/certified_accuracy.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/certified_accuracy.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/mus/figure_certified_accuracy.py"


rule figure_mus_stability:
    input:
        e1=expand(
            f"{RESULTS}/tables/certify/e1/{{pair[0]}}/{{pair[1]}}/lam{{lam}}.csv",
            pair=dataset_models("mus"),
            lam=mus_lambdas(),
        ),
        e3=expand(
            f"{RESULTS}/tables/certify/e3/{{pair[0]}}/{{pair[1]}}/lam{{lam}}.csv",
            pair=dataset_models("mus"),
            lam=mus_lambdas(),
        ),
        attack=expand(
            f"{RESULTS}/tables/certify/attack/{{pair[0]}}/{{pair[1]}}/lam{{lam}}.csv",
            pair=dataset_models("mus"),
            lam=attack_lambdas(),
        ),
        metas=metas(ds for ds, _ in dataset_models("mus")),
    output:
        e1_samples=f"{RESULTS}/tables/e1_samples.csv",
        attack_samples=f"{RESULTS}/tables/e1_attack_samples.csv",
        e1_curves=report(
            f"{RESULTS}/tables/e1_stability.csv",
            caption="../report/e1_stability.rst",
            category="MuS certificates",
            labels={"result": "E1 stability, certified vs attack", "file": "table"},
        ),
        e1_grid_curves=report(
            f"{RESULTS}/tables/e1_stability_grid.csv",
            caption="../report/e1_stability_grid.rst",
            category="MuS certificates",
            labels={"result": "E1 stability, every method and top-f", "file": "table"},
        ),
        e3=report(
            f"{RESULTS}/tables/e3_sparsity.csv",
            caption="../report/e3_sparsity.rst",
            category="MuS certificates",
            labels={"result": "E3 sparsity", "file": "table"},
        ),
        masked_accuracy=report(
            f"{RESULTS}/tables/masked_accuracy.csv",
            caption="../report/masked_accuracy.rst",
            category="MuS certificates",
            labels={"result": "masked accuracy", "file": "table"},
        ),
        e1_figure=report(
            f"{RESULTS}/figures/e1_stability.png",
            caption="../report/e1_stability.rst",
            category="MuS certificates",
            labels={"result": "E1 stability, certified vs attack", "file": "figure"},
        ),
        e1_grid_figure=report(
            f"{RESULTS}/figures/e1_stability_grid.png",
            caption="../report/e1_stability_grid.rst",
            category="MuS certificates",
            labels={
                "result": "E1 stability, every method and top-f",
                "file": "figure",
            },
        ),
        e3_figure=report(
            f"{RESULTS}/figures/e3_sparsity.png",
            caption="../report/e3_sparsity.rst",
            category="MuS certificates",
            labels={"result": "E3 sparsity", "file": "figure"},
        ),
        masked_accuracy_figure=report(
            f"{RESULTS}/figures/masked_accuracy.png",
            caption="../report/masked_accuracy.rst",
            category="MuS certificates",
            labels={"result": "masked accuracy", "file": "figure"},
        ),
    log:
        f"{RESULTS}/logs/figures/mus_stability.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/mus_stability.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/mus/figure_mus_stability.py"
