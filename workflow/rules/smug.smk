"""SMUG: minimal first-layer masks by a 0/1 program, scored beside the gradient methods."""


rule smug:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
    output:
        maps=shard_output("smug", SMUG_MAPS, f"{SMUG_PART}/maps.pt"),
        solver=shard_output("smug", SMUG_SOLVER, f"{SMUG_PART}/solver.csv"),
        timing=shard_output("smug", SMUG_TIMING, f"{SMUG_PART}/timing.csv"),
    log:
        f"{RESULTS}/logs/smug/{{dataset}}/{{model}}{shard_suffix('smug')}.log",
    benchmark:
        f"{RESULTS}/benchmarks/smug/{{dataset}}/{{model}}{shard_suffix('smug')}.tsv"
    conda:
        ENV
    threads: config["threads"]["attribute"]
    resources:
        gpu=1,
        work_s=lambda wc: round(smug_work(wc)),
        solver_s=lambda wc: round(smug_solver(wc)),
        runtime=runtime(lambda wc: smug_work(wc) + smug_solver(wc)),
        mem_mb=memory(smug_bytes),
    params:
        options=lambda wc: config["smug"]["models"][wc.model],
        timing=config.get("smug", {}).get("timing"),
        rows=lambda wc: shard_rows("smug", smug_inputs(wc.dataset), wc),
        chunk_size=gradient_chunk,
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/smug/smug.py"


if sharded("smug"):

    rule merge_smug:
        input:
            maps=lambda wc: smug_parts(wc, "maps.pt"),
            solver=lambda wc: smug_parts(wc, "solver.csv"),
            timing=lambda wc: smug_parts(wc, "timing.csv"),
        output:
            maps=SMUG_MAPS,
            solver=SMUG_SOLVER,
            timing=SMUG_TIMING,
        log:
            f"{RESULTS}/logs/merge_smug/{{dataset}}/{{model}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/merge_smug/{{dataset}}/{{model}}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            runtime=lambda wc, attempt: 10 * attempt,
            mem_mb=lambda wc, attempt: 2000 * attempt,
        script:
            "../../scripts/merge_shards.py"


rule smug_evaluate:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
        maps=f"{RESULTS}/smug/{{dataset}}/{{model}}/maps.pt",
        compared=lambda wc: expand(
            f"{RESULTS}/attributions/{wc.dataset}/{wc.model}/{{method}}.pt",
            method=smug_compared(wc.dataset),
        ),
    output:
        f"{RESULTS}/tables/smug/scores/{{dataset}}/{{model}}.csv",
    log:
        f"{RESULTS}/logs/smug_evaluate/{{dataset}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/smug_evaluate/{{dataset}}/{{model}}.tsv"
    conda:
        ENV
    threads: config["threads"]["attribute"]
    resources:
        gpu=1,
        work_s=lambda wc: round(smug_evaluate_work(wc)),
        runtime=runtime(smug_evaluate_work),
        mem_mb=memory(
            lambda wc: cost.evaluation_bytes(
                config, wc.dataset, wc.model, smug_inputs(wc.dataset)
            )
        ),
    params:
        protocol=config.get("smug", {}).get("saliency_protocol"),
        thresholds=config.get("smug", {}).get("thresholds"),
        sparsity_threshold=config.get("smug", {}).get("sparsity_threshold"),
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/smug/smug_evaluate.py"


rule figure_smug:
    input:
        data=lambda wc: sorted({f for ds, _ in smug_pairs() for f in data_files(ds)}),
        maps=expand(f"{RESULTS}/smug/{{p[0]}}/{{p[1]}}/maps.pt", p=smug_pairs()),
        intgrad=expand(
            f"{RESULTS}/attributions/{{p[0]}}/{{p[1]}}/intgrad.pt",
            p=[p for p in smug_pairs() if "intgrad" in smug_compared(p[0])],
        ),
        solver=expand(
            f"{RESULTS}/tables/smug/solver/{{p[0]}}/{{p[1]}}.csv", p=smug_pairs()
        ),
        timing=expand(
            f"{RESULTS}/tables/timing/smug/{{p[0]}}/{{p[1]}}.csv", p=smug_pairs()
        ),
        scores=expand(
            f"{RESULTS}/tables/smug/scores/{{p[0]}}/{{p[1]}}.csv", p=smug_pairs()
        ),
    output:
        solver=report(
            f"{RESULTS}/tables/smug_solver.csv",
            caption="../report/smug_solver_time.rst",
            category="SMUG",
            labels={"result": "solver statuses", "file": "table smug_solver.csv"},
        ),
        timing=report(
            f"{RESULTS}/tables/timing/smug_solver.csv",
            caption="../report/smug_solver_time.rst",
            category="SMUG",
            labels={"result": "solver time", "file": "table timing/smug_solver.csv"},
        ),
        scores=report(
            f"{RESULTS}/tables/smug_scores.csv",
            caption="../report/smug_saliency.rst",
            category="SMUG",
            labels={
                "result": "saliency metric and sparsity",
                "file": "table smug_scores.csv",
            },
        ),
        summary=report(
            f"{RESULTS}/tables/smug_summary.csv",
            caption="../report/smug_saliency.rst",
            category="SMUG",
            labels={
                "result": "saliency metric and sparsity",
                "file": "table smug_summary.csv",
            },
        ),
        status=report(
            f"{RESULTS}/tables/smug_status.csv",
            caption="../report/smug_saliency.rst",
            category="SMUG",
            labels={"result": "solver statuses", "file": "table smug_status.csv"},
        ),
        examples=report(
            f"{RESULTS}/tables/smug_examples.csv",
            caption="../report/smug_examples.rst",
            category="SMUG",
            labels={"result": "example maps", "file": "table smug_examples.csv"},
        ),
        examples_figure=report(
            f"{RESULTS}/figures/smug_examples.png",
            caption="../report/smug_examples.rst",
            category="SMUG",
            labels={"result": "example maps", "file": "figure"},
        ),
        saliency_figure=report(
            f"{RESULTS}/figures/smug_saliency.png",
            caption="../report/smug_saliency.rst",
            category="SMUG",
            labels={"result": "saliency metric and sparsity", "file": "figure"},
        ),
        solver_figure=report(
            f"{RESULTS}/figures/smug_solver_time.png",
            caption="../report/smug_solver_time.rst",
            category="SMUG",
            labels={"result": "solver time", "file": "figure"},
        ),
    log:
        f"{RESULTS}/logs/figures/smug.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/smug.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        pairs=smug_pairs(),
        examples=config["figures"]["examples"],
    script:
        "../../scripts/smug/figure_smug.py"
