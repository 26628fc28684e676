"""The GPU-hour table of a config: a dry run of the workflow lists every job with its estimated
work (the `work_s` resource, from attrib.cost) and its `runtime`; the table sums them by rule.

    python benchmarks/gpu_hours.py                 # print the paper config's table
    python benchmarks/gpu_hours.py --write         # and replace it in docs/slurm.md
    python benchmarks/gpu_hours.py --configfile tests/tiny.yaml

tests/test_slurm_profile.py fails when docs/slurm.md holds another table than this prints.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from attrib.cost import gpu_hour_table  # noqa: E402

DOCS = ROOT / "docs" / "slurm.md"
BEGIN, END = "<!-- gpu-hours: begin (benchmarks/gpu_hours.py --write) -->", "<!-- gpu-hours: end -->"


def dry_run_jobs(configfile: Path) -> list[tuple[str, dict]]:
    """(rule, resources) of every job of a dry run from scratch."""
    snakemake = Path(sys.executable).parent / "snakemake"
    with tempfile.TemporaryDirectory() as workdir:
        out = subprocess.run(
            [str(snakemake), "-s", str(ROOT / "Snakefile"), "-n", "--cores", "64", "--configfile", str(configfile)],
            cwd=workdir, capture_output=True, text=True, timeout=600,
        )
    if out.returncode:
        raise SystemExit(out.stdout + out.stderr)
    return parse_jobs(out.stdout)


def parse_jobs(text: str) -> list[tuple[str, dict]]:
    jobs = []
    for line in text.splitlines():
        if m := re.match(r"(?:local)?rule (\w+):$", line):
            jobs.append((m[1], {}))
        elif (m := re.match(r"\s+resources: (.*)$", line)) and jobs:
            for item in m[1].split(", "):
                key, value = item.split("=", 1)
                jobs[-1][1][key] = int(value) if value.isdigit() else value
    return jobs


def replace_table(text: str, table: str) -> str:
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOCS} lacks the markers {BEGIN} ... {END}")
    head, rest = text.split(BEGIN, 1)
    return head + BEGIN + "\n" + table + rest[rest.index(END):]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", type=Path, default=ROOT / "workflow" / "configs" / "paper.yaml")
    parser.add_argument("--write", action="store_true", help=f"replace the table in {DOCS.relative_to(ROOT)}")
    args = parser.parse_args()
    table = gpu_hour_table(dry_run_jobs(args.configfile))
    print(table, end="")
    if args.write:
        DOCS.write_text(replace_table(DOCS.read_text(), table))


if __name__ == "__main__":
    main()
