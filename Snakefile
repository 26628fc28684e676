"""Reliability of feature attributions: download -> prepare -> finetune -> attribute ->
certify / ablate -> figures -> report. Run `snakemake --cores all` for the embedded
default, or pass `--configfile workflow/configs/paper.yaml` for paper scale."""

from snakemake.utils import min_version

min_version("9.0")


if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/attribute.smk"
include: "workflow/rules/smug.smk"
include: "workflow/rules/certify.smk"
include: "workflow/rules/ablate.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
