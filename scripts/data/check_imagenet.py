"""ImageNet cannot be downloaded without an account: check the user's path, clearly."""

from pathlib import Path

from attrib.data.imagenet import check_imagenet_root
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
root = check_imagenet_root(sm.params.root, config_key=sm.params.key)
Path(sm.output[0]).write_text(f"{root}\n")
