"""Merge the parts that the shards of one heavy job wrote into the files the unsharded job
would have written: each named output from the input of the same name (its parts in order)."""

from attrib.runtime import setup
from attrib.shards import merge

sm = snakemake  # noqa: F821
log = setup(sm.log[0], sm.threads)
for name, out in sm.output.items():
    parts = [sm.input[name]] if isinstance(sm.input[name], str) else list(sm.input[name])
    merge(parts, out)
    log.info("%s: merged %d part(s)", out, len(parts))
