"""Attributions and their faithfulness (re-calibration paper): every method of attribute.methods
on the λ = 1 model, scored in the same job (deletion/insertion everywhere; DiffID and ground
truth on images); example maps and the faithfulness figures."""


rule attribute:
    input:
        data=data_files("{dataset}"),
        model=base_checkpoint,
    output:
        attribution=attribute_output("attribution"),
        diffid=attribute_output("diffid"),
        ground_truth=attribute_output("ground_truth"),
        deletion_insertion=attribute_output("deletion_insertion"),
    log:
        f"{RESULTS}/logs/attribute/{{dataset}}/{{model}}/{{method}}{shard_suffix('attribute')}.log",
    benchmark:
        f"{RESULTS}/benchmarks/attribute/{{dataset}}/{{model}}/{{method}}{shard_suffix('attribute')}.tsv"
    conda:
        ENV
    threads: config["threads"]["attribute"]
    resources:
        gpu=1,
        work_s=lambda wc: round(attribute_work(wc)),
        runtime=runtime(attribute_work),
        mem_mb=memory(attribute_bytes),
    params:
        method=lambda wc: method_name(wc.method),
        options=lambda wc: method_options(wc.method),
        target=config["attribute"].get("target", "predicted"),
        curves=config["attribute"]["curves"],
        rows=lambda wc: shard_rows("attribute", eval_size(wc.dataset), wc),
        chunk_size=config["chunk_size"],
        gradient_chunk_size=gradient_chunk,
        seed=config["seed"],
        device=config["device"],
    script:
        "../../scripts/attribution/attribute.py"


if sharded("attribute"):

    rule merge_attribute:
        input:
            unpack(attribute_parts),
        output:
            attribution=ATTRIBUTE_OUTPUTS["attribution"],
            diffid=ATTRIBUTE_OUTPUTS["diffid"],
            ground_truth=ATTRIBUTE_OUTPUTS["ground_truth"],
            deletion_insertion=ATTRIBUTE_OUTPUTS["deletion_insertion"],
        log:
            f"{RESULTS}/logs/merge_attribute/{{dataset}}/{{model}}/{{method}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/merge_attribute/{{dataset}}/{{model}}/{{method}}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            runtime=lambda wc, attempt: 30 * attempt,
            mem_mb=memory(
                lambda wc: 2 * attribute_output_bytes(wc, eval_size(wc.dataset)), 2000
            ),
        script:
            "../../scripts/merge_shards.py"


rule figure_attribution_examples:
    input:
        data=data_files("{dataset}"),
        attributions=lambda wc: expand(
            f"{RESULTS}/attributions/{wc.dataset}/{wc.model}/{{method}}.pt",
            method=methods_for(wc.dataset),
        ),
    output:
        table=report(
            f"{RESULTS}/tables/attribution_examples_{{dataset}}-{{model}}.csv",
            caption="../report/attribution_examples.rst",
            category="Attributions",
            subcategory="{dataset}: examples",
            labels={"result": "{model}", "file": "table"},
        ),
        figure=report(
            f"{RESULTS}/figures/attribution_examples_{{dataset}}-{{model}}.png",
            caption="../report/attribution_examples.rst",
            category="Attributions",
            subcategory="{dataset}: examples",
            labels={"result": "{model}", "file": "figure"},
        ),
    log:
        f"{RESULTS}/logs/figures/attribution_examples_{{dataset}}-{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/attribution_examples_{{dataset}}-{{model}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        examples=config["figures"]["examples"],
    script:
        "../../scripts/attribution/figure_attribution_examples.py"


rule figure_faithfulness:
    input:
        diffid=expand(
            f"{RESULTS}/tables/scores/diffid/{{s[0]}}/{{s[1]}}/{{s[2]}}.csv",
            s=scored_attributions(),
        ),
        ground_truth=expand(
            f"{RESULTS}/tables/scores/ground_truth/{{s[0]}}/{{s[1]}}/{{s[2]}}.csv",
            s=scored_attributions(),
        ),
        deletion_insertion=expand(
            f"{RESULTS}/tables/scores/deletion_insertion/{{s[0]}}/{{s[1]}}/{{s[2]}}.csv",
            s=scored_attributions(),
        ),
    output:
        diffid=report(
            f"{RESULTS}/tables/diffid.csv",
            caption="../report/faithfulness.rst",
            category="Attributions",
            subcategory="faithfulness",
            labels={"result": "DiffID and ground truth", "file": "table diffid.csv"},
        ),
        diffid_auc=report(
            f"{RESULTS}/tables/diffid_auc.csv",
            caption="../report/faithfulness.rst",
            category="Attributions",
            subcategory="faithfulness",
            labels={
                "result": "DiffID and ground truth",
                "file": "table diffid_auc.csv",
            },
        ),
        recalibration=report(
            f"{RESULTS}/tables/diffid_recalibration.csv",
            caption="../report/faithfulness.rst",
            category="Attributions",
            subcategory="faithfulness",
            labels={
                "result": "DiffID and ground truth",
                "file": "table diffid_recalibration.csv",
            },
        ),
        ground_truth=report(
            f"{RESULTS}/tables/ground_truth.csv",
            caption="../report/faithfulness.rst",
            category="Attributions",
            subcategory="faithfulness",
            labels={
                "result": "DiffID and ground truth",
                "file": "table ground_truth.csv",
            },
        ),
        deletion_insertion=report(
            f"{RESULTS}/tables/deletion_insertion_auc.csv",
            caption="../report/deletion_insertion.rst",
            category="Attributions",
            subcategory="faithfulness",
            labels={
                "result": "deletion and insertion areas",
                "file": "table deletion_insertion_auc.csv",
            },
        ),
        figure=report(
            f"{RESULTS}/figures/faithfulness.png",
            caption="../report/faithfulness.rst",
            category="Attributions",
            subcategory="faithfulness",
            labels={"result": "DiffID and ground truth", "file": "figure"},
        ),
        curves_figure=report(
            f"{RESULTS}/figures/deletion_insertion.png",
            caption="../report/deletion_insertion.rst",
            category="Attributions",
            subcategory="faithfulness",
            labels={"result": "deletion and insertion areas", "file": "figure"},
        ),
    log:
        f"{RESULTS}/logs/figures/faithfulness.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/faithfulness.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/attribution/figure_faithfulness.py"
