"""Reliability of feature attributions, four papers in one DAG: download -> prepare -> finetune ->
attribution (re-calibration, DiffID) / MuS certificates / SMUG / missingness -> figures -> report.
Each system's rules, input helpers and figure rules are in its own file under workflow/rules/.
Run `snakemake --cores all` for the embedded default, or pass
`--configfile workflow/configs/paper.yaml` for paper scale."""

from snakemake.utils import min_version

min_version("9.0")


if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data_inputs.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/finetune_inputs.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/attribution_inputs.smk"
include: "workflow/rules/attribution.smk"
include: "workflow/rules/mus_inputs.smk"
include: "workflow/rules/mus.smk"
include: "workflow/rules/smug_inputs.smk"
include: "workflow/rules/smug.smk"
include: "workflow/rules/missingness_inputs.smk"
include: "workflow/rules/missingness.smk"
include: "workflow/rules/report_inputs.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        finetune_targets(),
        mus_targets(),
        missingness_targets(),
        attribution_targets(),
        smug_targets(),
        f"{RESULTS}/tables/summary.csv",
