"""Fetch the raw TweetEval sentiment files (a local rule: needs the internet)."""

from pathlib import Path

from attrib.data.download import TWEETEVAL_BASE_URL, download_tweeteval
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
options = sm.params.download
try:
    download_tweeteval(
        options.get("base_url", TWEETEVAL_BASE_URL),
        Path(sm.output[0]).parent,
        checksums=options.get("checksums"),
    )
except ValueError as e:  # only the checksums option raises it
    raise ValueError(f"config key datasets.{sm.wildcards.dataset}.download.checksums: {e}") from e
