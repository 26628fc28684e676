"""The report's front page: the input function of the summary rule in report.smk (Snakemake's
linter keeps functions and rules in separate files)."""


def summary_inputs(wildcards):
    """The figure tables that the headline numbers are read from, where their figures are made."""
    tables = {"test_accuracy": f"{RESULTS}/tables/test_accuracy.csv"}
    if mus_targets():
        tables["e2_samples"] = f"{RESULTS}/tables/e2_samples.csv"
    if attribution_targets():
        tables["diffid_auc"] = f"{RESULTS}/tables/diffid_auc.csv"
    missingness = missingness_targets()
    for name in ("orders", "topk", "text"):
        if f"{RESULTS}/figures/missingness_{name}.png" in missingness:
            tables[f"missingness_{name}"] = f"{RESULTS}/tables/missingness_{name}.csv"
    if smug_targets():
        tables["smug_summary"] = f"{RESULTS}/tables/smug_summary.csv"
        tables["smug_status"] = f"{RESULTS}/tables/smug_status.csv"
    return tables
