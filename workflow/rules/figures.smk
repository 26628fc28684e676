"""Figures: each reads per-job tables, writes one tidy CSV and one report figure."""


rule figure_training:
    input:
        histories=expand(
            f"{RESULTS}/tables/training/{{t[0]}}/{{t[1]}}/lam{{t[2]}}.csv",
            t=trained_models(),
        ),
        accuracies=expand(
            f"{RESULTS}/tables/accuracy/{{t[0]}}/{{t[1]}}/lam{{t[2]}}.csv",
            t=trained_models(),
        ),
    output:
        history=f"{RESULTS}/tables/training.csv",
        accuracy=f"{RESULTS}/tables/test_accuracy.csv",
        figure=report(
            f"{RESULTS}/figures/training_curves.png",
            caption="../report/training.rst",
            category="Fine-tuning",
        ),
    log:
        f"{RESULTS}/logs/figures/training.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/training.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/figure_training.py"


rule figure_certified_accuracy:
    input:
        expand(
            f"{RESULTS}/tables/certify/e2/{{pair[0]}}/{{pair[1]}}/lam{{lam}}.csv",
            pair=dataset_models("mus"),
            lam=lambdas(),
        ),
    output:
        samples=f"{RESULTS}/tables/e2_samples.csv",
        curve=f"{RESULTS}/tables/e2_certified_accuracy.csv",
        figure=report(
            f"{RESULTS}/figures/e2_certified_accuracy.png",
            caption="../report/certified_accuracy.rst",
            category="MuS certificates",
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
        "../../scripts/figure_certified_accuracy.py"


rule figure_missingness:
    input:
        patches=lambda wc: [
            f"{RESULTS}/tables/ablate/patches/{ds}/{m}/{r}.csv"
            for ds, m, r in ablation_jobs()
            if modality(ds) == "image"
        ],
        metas=[f"{RESULTS}/data/{ds}/meta.json" for ds in missingness_image_datasets()],
    output:
        orders=f"{RESULTS}/tables/missingness_orders.csv",
        modes=f"{RESULTS}/tables/missingness_removal_modes.csv",
        classes=f"{RESULTS}/tables/missingness_classes.csv",
        top_classes=f"{RESULTS}/tables/missingness_top_classes.csv",
        orders_figure=report(
            f"{RESULTS}/figures/missingness_orders.png",
            caption="../report/missingness_orders.rst",
            category="Missingness bias",
        ),
        modes_figure=report(
            f"{RESULTS}/figures/missingness_removal_modes.png",
            caption="../report/missingness_removal_modes.rst",
            category="Missingness bias",
        ),
        classes_figure=report(
            f"{RESULTS}/figures/missingness_classes.png",
            caption="../report/missingness_classes.rst",
            category="Missingness bias",
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
        "../../scripts/figure_missingness.py"


rule figure_missingness_topk:
    input:
        expand(f"{RESULTS}/tables/ablate/topk/{{dataset}}.csv", dataset=topk_datasets()),
    output:
        curve=f"{RESULTS}/tables/missingness_topk.csv",
        summary=f"{RESULTS}/tables/missingness_topk_summary.csv",
        figure=report(
            f"{RESULTS}/figures/missingness_topk.png",
            caption="../report/missingness_topk.rst",
            category="Missingness bias",
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
        "../../scripts/figure_missingness_topk.py"


rule figure_missingness_text:
    input:
        [
            f"{RESULTS}/tables/ablate/patches/{ds}/{m}/{r}.csv"
            for ds, m, r in ablation_jobs()
            if modality(ds) == "text"
        ],
    output:
        curve=f"{RESULTS}/tables/missingness_text.csv",
        figure=report(
            f"{RESULTS}/figures/missingness_text.png",
            caption="../report/missingness_text.rst",
            category="Missingness bias",
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
        "../../scripts/figure_missingness_text.py"


rule figure_attribution_examples:
    input:
        data=data_files("{dataset}"),
        attributions=lambda wc: expand(
            f"{RESULTS}/attributions/{wc.dataset}/{{model}}/{{method}}.pt",
            model=config["datasets"][wc.dataset]["models"],
            method=methods_for(wc.dataset),
        ),
    output:
        table=f"{RESULTS}/tables/attribution_examples_{{dataset}}.csv",
        figure=report(
            f"{RESULTS}/figures/attribution_examples_{{dataset}}.png",
            caption="../report/attribution_examples.rst",
            category="Attributions",
            subcategory="{dataset}",
        ),
    log:
        f"{RESULTS}/logs/figures/attribution_examples_{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/figures/attribution_examples_{{dataset}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        examples=config["figures"]["examples"],
    script:
        "../../scripts/figure_attribution_examples.py"


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
        diffid=f"{RESULTS}/tables/diffid.csv",
        diffid_auc=f"{RESULTS}/tables/diffid_auc.csv",
        recalibration=f"{RESULTS}/tables/diffid_recalibration.csv",
        ground_truth=f"{RESULTS}/tables/ground_truth.csv",
        deletion_insertion=f"{RESULTS}/tables/deletion_insertion_auc.csv",
        figure=report(
            f"{RESULTS}/figures/faithfulness.png",
            caption="../report/faithfulness.rst",
            category="Attributions",
            subcategory="faithfulness",
        ),
        curves_figure=report(
            f"{RESULTS}/figures/deletion_insertion.png",
            caption="../report/deletion_insertion.rst",
            category="Attributions",
            subcategory="faithfulness",
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
        "../../scripts/figure_faithfulness.py"


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
    output:
        e1_samples=f"{RESULTS}/tables/e1_samples.csv",
        attack_samples=f"{RESULTS}/tables/e1_attack_samples.csv",
        e1_curves=f"{RESULTS}/tables/e1_stability.csv",
        e1_grid_curves=f"{RESULTS}/tables/e1_stability_grid.csv",
        e3=f"{RESULTS}/tables/e3_sparsity.csv",
        masked_accuracy=f"{RESULTS}/tables/masked_accuracy.csv",
        e1_figure=report(
            f"{RESULTS}/figures/e1_stability.png",
            caption="../report/e1_stability.rst",
            category="MuS certificates",
        ),
        e1_grid_figure=report(
            f"{RESULTS}/figures/e1_stability_grid.png",
            caption="../report/e1_stability_grid.rst",
            category="MuS certificates",
        ),
        e3_figure=report(
            f"{RESULTS}/figures/e3_sparsity.png",
            caption="../report/e3_sparsity.rst",
            category="MuS certificates",
        ),
        masked_accuracy_figure=report(
            f"{RESULTS}/figures/masked_accuracy.png",
            caption="../report/masked_accuracy.rst",
            category="MuS certificates",
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
        "../../scripts/figure_mus_stability.py"
