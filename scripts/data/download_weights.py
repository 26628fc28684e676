"""Fetch pretrained weights into resources/ (a local rule: compute nodes may be offline)."""

from pathlib import Path

from attrib.models import download_weights
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
spec = sm.params.spec
path = download_weights(sm.wildcards.model, sm.params.resources, source=spec.get("source"), options=spec.get("options"))
Path(sm.output[0]).write_text(f"{path}\n")
