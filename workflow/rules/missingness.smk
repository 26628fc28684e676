"""Missingness bias: patch ablation under each order and removal mode, the LIME top-K test and
the text analogue ([MASK] vs deletion), with their figures."""


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
        patches=shard_output("ablate", ABLATE_TABLE, f"{ABLATE_PART}/patches.csv"),
    log:
        f"{RESULTS}/logs/ablate_patches/{{dataset}}/{{model}}/{{removal}}{shard_suffix('ablate')}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ablate_patches/{{dataset}}/{{model}}/{{removal}}{shard_suffix('ablate')}.tsv"
    conda:
        ENV
    threads: config["threads"]["ablate"]
    resources:
        gpu=1,
        work_s=lambda wc: round(ablate_patches_work(wc)),
        runtime=runtime(ablate_patches_work),
        mem_mb=memory(ablate_patches_bytes),
    params:
        orders=lambda wc: ablation_orders(wc.dataset, wc.model, wc.removal),
        skip=config["ablate"]["skip"],
        rows=lambda wc: shard_rows("ablate", eval_size(wc.dataset), wc),
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/missingness/ablate_patches.py"


if sharded("ablate"):

    rule merge_ablate_patches:
        input:
            patches=lambda wc: shard_parts(
                "ablate",
                eval_size(wc.dataset),
                f"{ABLATE_PART}/patches.csv",
                **dict(wc),
            ),
        output:
            patches=ABLATE_TABLE,
        log:
            f"{RESULTS}/logs/merge_ablate_patches/{{dataset}}/{{model}}/{{removal}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/merge_ablate_patches/{{dataset}}/{{model}}/{{removal}}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            runtime=lambda wc, attempt: 10 * attempt,
            mem_mb=lambda wc, attempt: 2000 * attempt,
        script:
            "../../scripts/merge_shards.py"


rule ablate_lime:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
    output:
        lime=shard_output("lime", LIME_FILE, f"{LIME_PART}/lime.pt"),
    log:
        f"{RESULTS}/logs/ablate_lime/{{dataset}}/{{model}}/{{removal}}{shard_suffix('lime')}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ablate_lime/{{dataset}}/{{model}}/{{removal}}{shard_suffix('lime')}.tsv"
    conda:
        ENV
    threads: config["threads"]["ablate"]
    resources:
        gpu=1,
        work_s=lambda wc: round(ablate_lime_work(wc)),
        runtime=runtime(ablate_lime_work),
        mem_mb=memory(ablate_lime_bytes),
    params:
        lime=lime_options(),
        rows=lambda wc: shard_rows("lime", lime_images(wc.dataset), wc),
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/missingness/ablate_lime.py"


if sharded("lime"):

    rule merge_ablate_lime:
        input:
            lime=lambda wc: shard_parts(
                "lime", lime_images(wc.dataset), f"{LIME_PART}/lime.pt", **dict(wc)
            ),
        output:
            lime=LIME_FILE,
        log:
            f"{RESULTS}/logs/merge_ablate_lime/{{dataset}}/{{model}}/{{removal}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/merge_ablate_lime/{{dataset}}/{{model}}/{{removal}}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            runtime=lambda wc, attempt: 10 * attempt,
            mem_mb=lambda wc, attempt: 2000 * attempt,
        script:
            "../../scripts/merge_shards.py"


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
        gpu=1,
        work_s=lambda wc: round(ablate_topk_work(wc)),
        runtime=runtime(ablate_topk_work),
        mem_mb=memory(
            lambda wc: cost.evaluation_bytes(
                config,
                wc.dataset,
                lime_conditions(wc.dataset)[0][0],
                lime_images(wc.dataset),
            )
        ),
    params:
        conditions=lambda wc: lime_conditions(wc.dataset),
        top_k=config["ablate"]["top_k"],
        chunk_size=config["chunk_size"],
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/missingness/ablate_topk.py"


rule figure_missingness:
    input:
        patches=lambda wc: [
            f"{RESULTS}/tables/ablate/patches/{ds}/{m}/{r}.csv"
            for ds, m, r in ablation_jobs()
            if modality(ds) == "image"
        ],
        metas=[f"{RESULTS}/data/{ds}/meta.json" for ds in missingness_image_datasets()],
    output:
        orders=report(
            f"{RESULTS}/tables/missingness_orders.csv",
            caption="../report/missingness_orders.rst",
            category="Missingness bias",
            labels={"result": "orders", "file": "table missingness_orders.csv"},
        ),
        modes=report(
            f"{RESULTS}/tables/missingness_removal_modes.csv",
            caption="../report/missingness_removal_modes.rst",
            category="Missingness bias",
            labels={
                "result": "removal modes",
                "file": "table missingness_removal_modes.csv",
            },
        ),
        classes=report(
            f"{RESULTS}/tables/missingness_classes.csv",
            caption="../report/missingness_classes.rst",
            category="Missingness bias",
            labels={"result": "class shift", "file": "table missingness_classes.csv"},
        ),
        top_classes=report(
            f"{RESULTS}/tables/missingness_top_classes.csv",
            caption="../report/missingness_classes.rst",
            category="Missingness bias",
            labels={
                "result": "class shift",
                "file": "table missingness_top_classes.csv",
            },
        ),
        orders_figure=report(
            f"{RESULTS}/figures/missingness_orders.png",
            caption="../report/missingness_orders.rst",
            category="Missingness bias",
            labels={"result": "orders", "file": "figure"},
        ),
        modes_figure=report(
            f"{RESULTS}/figures/missingness_removal_modes.png",
            caption="../report/missingness_removal_modes.rst",
            category="Missingness bias",
            labels={"result": "removal modes", "file": "figure"},
        ),
        classes_figure=report(
            f"{RESULTS}/figures/missingness_classes.png",
            caption="../report/missingness_classes.rst",
            category="Missingness bias",
            labels={"result": "class shift", "file": "figure"},
        ),
    log:
        f"{RESULTS}/logs/figures/missingness.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/missingness.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        conditions=config["ablate"]["conditions"],
        metas=[
            {"dataset": ds, "path": f"{RESULTS}/data/{ds}/meta.json"}
            for ds in missingness_image_datasets()
        ],
    script:
        "../../scripts/missingness/figure_missingness.py"


rule figure_missingness_topk:
    input:
        topk=expand(
            f"{RESULTS}/tables/ablate/topk/{{dataset}}.csv", dataset=topk_datasets()
        ),
        metas=metas(topk_datasets()),
    output:
        curve=report(
            f"{RESULTS}/tables/missingness_topk.csv",
            caption="../report/missingness_topk.rst",
            category="Missingness bias",
            labels={"result": "LIME top-K test", "file": "table missingness_topk.csv"},
        ),
        summary=report(
            f"{RESULTS}/tables/missingness_topk_summary.csv",
            caption="../report/missingness_topk.rst",
            category="Missingness bias",
            labels={
                "result": "LIME top-K test",
                "file": "table missingness_topk_summary.csv",
            },
        ),
        figure=report(
            f"{RESULTS}/figures/missingness_topk.png",
            caption="../report/missingness_topk.rst",
            category="Missingness bias",
            labels={"result": "LIME top-K test", "file": "figure"},
        ),
    log:
        f"{RESULTS}/logs/figures/missingness_topk.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/missingness_topk.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/missingness/figure_missingness_topk.py"


rule figure_missingness_text:
    input:
        patches=[
            f"{RESULTS}/tables/ablate/patches/{ds}/{m}/{r}.csv"
            for ds, m, r in ablation_jobs()
            if modality(ds) == "text"
        ],
        metas=metas(ds for ds, _, _ in ablation_jobs() if modality(ds) == "text"),
    output:
        curve=report(
            f"{RESULTS}/tables/missingness_text.csv",
            caption="../report/missingness_text.rst",
            category="Missingness bias",
            labels={
                "result": "text: [MASK] vs deleting",
                "file": "table missingness_text.csv",
            },
        ),
        figure=report(
            f"{RESULTS}/figures/missingness_text.png",
            caption="../report/missingness_text.rst",
            category="Missingness bias",
            labels={"result": "text: [MASK] vs deleting", "file": "figure"},
        ),
    log:
        f"{RESULTS}/logs/figures/missingness_text.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/missingness_text.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/missingness/figure_missingness_text.py"
