"""SMUG: minimal first-layer masks by a 0/1 program, scored beside the gradient methods."""


rule smug:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
    output:
        maps=f"{RESULTS}/smug/{{dataset}}/{{model}}/maps.pt",
        solver=f"{RESULTS}/tables/smug/solver/{{dataset}}/{{model}}.csv",
        timing=f"{RESULTS}/tables/timing/smug/{{dataset}}/{{model}}.csv",
    log:
        f"{RESULTS}/logs/smug/{{dataset}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/smug/{{dataset}}/{{model}}.tsv"
    conda:
        ENV
    threads: config["threads"]["attribute"]
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=1,
    params:
        options=lambda wc: config["smug"]["models"][wc.model],
        timing=config.get("smug", {}).get("timing"),
        eval_size=lambda wc: min(
            config["smug"]["eval_size"], config["datasets"][wc.dataset]["eval_size"]
        ),
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/smug/smug.py"


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
        mem_mb=8000,
        runtime=60,
        gpu=1,
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
