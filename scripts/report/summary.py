"""The report's front page: the headline numbers of each system, read from the figure tables."""

import pandas as pd

from attrib.runtime import setup
from attrib.summary import headline_numbers

sm = snakemake  # noqa: F821
log = setup(sm.log[0])
summary = headline_numbers({name: pd.read_csv(path) for name, path in sm.input.items()})
summary.round({"value": 4}).to_csv(sm.output[0], index=False)
log.info("%d headline numbers from %s", len(summary), ", ".join(sm.input.keys()))
