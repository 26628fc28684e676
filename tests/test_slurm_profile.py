"""The SLURM profile at paper scale, without a cluster: the sbatch flags of every job, built by
snakemake-executor-plugin-slurm's own code from the resources Snakemake gives each job under
profiles/slurm. (tests/slurm/run.sh runs the same profile on a real SLURM.)"""

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

import attrib.cost as cost

pytest.importorskip("snakemake_executor_plugin_slurm")
from snakemake_executor_plugin_slurm import Executor  # noqa: E402
from snakemake_executor_plugin_slurm.submit_string import get_submit_command  # noqa: E402
from snakemake_executor_plugin_slurm.utils import set_gres_string  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "profiles" / "slurm"
PAPER = ROOT / "workflow" / "configs" / "paper.yaml"
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
DOWNLOADS = {"download_tweeteval", "download_weights", "check_imagenet"}


class Resources(dict):
    """A job's evaluated resources, read by the plugin as `.get(name)` and `.name`."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def planned_jobs(workdir, *args):
    """(rule, threads, resources) of every job in a dry run, as Snakemake evaluates them. Many
    cores: a cluster does not cap threads at the login node's core count as a local run does."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-n", "--cores", "64", "--configfile", str(PAPER), *args],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    jobs = []
    for line in out.stdout.splitlines():
        if m := re.match(r"(?:local)?rule (\w+):$", line):
            jobs.append(SimpleNamespace(name=m[1], wildcards="", threads=1, resources=Resources(), is_group=lambda: False))
        elif m := re.match(r"\s+wildcards: (.*)$", line):
            jobs[-1].wildcards = m[1]
        elif m := re.match(r"\s+threads: (\d+)$", line):
            jobs[-1].threads = int(m[1])
        elif m := re.match(r"\s+resources: (.*)$", line):
            for item in m[1].split(", "):
                key, value = item.split("=", 1)
                jobs[-1].resources[key] = int(value) if value.isdigit() else value
    assert jobs, out.stdout
    return jobs


def workflow_rules():
    """{rule: declared resources} and the local rules, from the workflow itself."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow = api.workflow(
            ResourceSettings(), ConfigSettings(configfiles=[PAPER]), snakefile=ROOT / "Snakefile", workdir=ROOT
        )._workflow
        declared = {rule.name: dict(rule.resources.items()) for rule in workflow.rules}
        return declared, set(workflow._localrules)


def sbatch_call(job):
    """The sbatch command line the plugin would submit for this job (account left to SLURM)."""
    plugin = SimpleNamespace(_partitions=None, _fallback_partition=None, logger=None)
    params = {
        "run_uuid": "RUN", "slurm_logfile": "LOG", "comment_str": f"rule_{job.name}", "workdir": "WORKDIR",
        "account": "", "partition": Executor.get_partition_arg(plugin, job),
    }
    return get_submit_command(job, params) + set_gres_string(job)


def flag(call, name):
    values = re.findall(rf"(?:^| ){re.escape(name)}[ =](\S+)", call)
    assert len(values) == 1, (name, call)
    return values[0].strip("'")


@pytest.fixture(scope="module")
def workflow():
    declared, local = workflow_rules()
    gpu_rules = {name for name, res in declared.items() if res.get("gpu")}
    return SimpleNamespace(declared=declared, local=local, gpu_rules=gpu_rules)


@pytest.fixture(scope="module")
def profile():
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


@pytest.fixture(scope="module")
def cluster_jobs(tmp_path_factory, workflow):
    """Per attempt, the paper DAG's cluster jobs (local rules run on the login node)."""
    workdir = tmp_path_factory.mktemp("paper")
    return {
        attempt: [job for job in planned_jobs(workdir, "--workflow-profile", str(PROFILE), "--attempt", str(attempt))
                  if job.name not in workflow.local and job.name != "all"]
        for attempt in (1, 2)
    }


def test_only_the_downloads_run_on_the_login_node(workflow):
    assert workflow.local == DOWNLOADS, "a local rule other than a download runs outside SLURM"
    assert not workflow.gpu_rules & workflow.local
    assert workflow.gpu_rules, "the workflow declares no GPU rule"


def test_every_job_rule_has_cluster_resources(workflow, profile):
    """Memory and time come from the workflow (the cost model, growing with the attempt) or, for
    the figure rules, from the profile; GPU rules take their partition from the profile."""
    job_rules = set(workflow.declared) - workflow.local - {"all"}
    entries = profile["set-resources"]
    assert not set(entries) - job_rules, "set-resources names unknown rules"
    assert not workflow.gpu_rules - set(entries), "GPU rules need their partition in set-resources"
    for rule in job_rules:
        declared = workflow.declared[rule]
        if "work_s" in declared or rule.startswith("merge_"):  # sized by the workflow: not overridden
            assert declared["runtime"].is_evaluable() and declared["mem_mb"].is_evaluable(), rule
            assert not {"runtime", "mem_mb"} & set(entries.get(rule, {})), f"the profile overrides {rule}'s size"
        else:
            assert {"runtime", "mem_mb"} <= set(entries.get(rule, {})), f"{rule} has no cluster memory and time"


def test_no_paper_job_asks_for_less_time_than_its_estimated_work(cluster_jobs):
    """runtime (minutes) covers the cost model's work (plus the 0/1 programs' CPU time at worst),
    and the shards keep every GPU job to a few hours."""
    sized = [job for job in cluster_jobs[1] if "work_s" in job.resources]
    assert {job.name for job in sized} >= {"attribute", "certify_stability", "attack_stability", "ablate_patches",
                                           "ablate_lime", "smug", "finetune", "prepare"}
    for job in sized:
        work = job.resources["work_s"] + job.resources.get("solver_s", 0)
        assert job.resources["runtime"] * 60 >= cost.SAFETY * work, (job.name, job.wildcards, job.resources)
        assert work <= 4 * 3600, f"{job.name} {job.wildcards}: {work / 3600:.1f} h; shard it (config shards:)"


def test_docs_carry_the_current_gpu_hour_table(cluster_jobs):
    table = cost.gpu_hour_table([(job.name, job.resources) for job in cluster_jobs[1]])
    assert table in (ROOT / "docs" / "slurm.md").read_text(), "run: python benchmarks/gpu_hours.py --write"


def test_gpu_rules_request_one_gpu_and_cpu_rules_none(cluster_jobs, workflow, profile):
    rules_seen = set()
    for job in cluster_jobs[1]:
        call = sbatch_call(job)
        rules_seen.add(job.name)
        assert "--gres" not in call, call
        if job.name in workflow.gpu_rules:
            assert flag(call, "--gpus") == "1", call
            assert flag(call, "-p") == profile["set-resources"][job.name]["slurm_partition"]
        else:
            assert "--gpus" not in call, call
            assert flag(call, "-p") == profile["default-resources"]["slurm_partition"]
        assert flag(call, "--cpus-per-task") == str(job.threads)
    assert workflow.gpu_rules <= rules_seen, "the paper DAG runs every GPU rule"
    assert rules_seen - workflow.gpu_rules, "the paper DAG runs CPU rules too"


def test_paper_threads_become_cpus_per_task(cluster_jobs):
    paper = yaml.safe_load(PAPER.read_text())
    for job in cluster_jobs[1]:
        if job.name in ("prepare", "finetune"):
            assert flag(sbatch_call(job), "--cpus-per-task") == str(paper["threads"][job.name])


def test_memory_and_time_grow_with_each_attempt(cluster_jobs):
    def by_job(jobs):
        return sorted(jobs, key=lambda job: (job.name, job.wildcards))

    first, second = by_job(cluster_jobs[1]), by_job(cluster_jobs[2])
    assert [(job.name, job.wildcards) for job in first] == [(job.name, job.wildcards) for job in second]
    for job1, job2 in zip(first, second):
        call1, call2 = sbatch_call(job1), sbatch_call(job2)
        assert int(flag(call2, "--mem")) == 2 * int(flag(call1, "--mem")), (call1, call2)
        assert int(flag(call2, "-t")) == 2 * int(flag(call1, "-t")), (call1, call2)


def test_gpu_model_is_requested_once_for_gpu_rules_only(tmp_path, workflow):
    text = (PROFILE / "config.yaml").read_text()
    pinned = text.replace("# gpu_model: a100", "gpu_model: a100")
    assert pinned != text, "the profile no longer shows where to pin a GPU model"
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "config.yaml").write_text(pinned)
    jobs = planned_jobs(tmp_path, "--workflow-profile", str(tmp_path / "profile"))
    for job in jobs:
        if job.name in workflow.local or job.name == "all":
            continue
        call = sbatch_call(job)
        gpu_flags = re.findall(r"--gpus=\S+", call)
        assert gpu_flags == (["--gpus=a100:1"] if job.name in workflow.gpu_rules else []), call
