"""Random draws that belong to one input, whatever batch or shard it is processed in.

The heavy rules split the evaluation set into shards (``shards:`` in the config). A sample's
random draws (noise, references, flip candidates, orderings) must be the same in every
sharding, so they come from a generator keyed by (seed, stream, the sample's index in the
evaluation set), never from a stream shared with the samples before it.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch


def sample_seed(seed: int, stream: str, *key: int) -> int:
    """A 63-bit seed mixed from the config seed, a stream name (so that two uses of one sample
    draw independently) and integer keys (the sample's index, a step, ...)."""
    entropy = [int(seed), zlib.crc32(stream.encode()), *(int(k) for k in key)]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> np.uint64(1))


def sample_generator(seed: int, stream: str, *key: int, device="cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(sample_seed(seed, stream, *key))


def sample_indices(n: int, index=None) -> list[int]:
    """The evaluation-set indices of ``n`` inputs: ``index`` (a sequence or tensor) or 0..n-1."""
    if index is None:
        return list(range(n))
    index = [int(i) for i in (index.tolist() if torch.is_tensor(index) else index)]
    if len(index) != n:
        raise ValueError(f"index lists {len(index)} samples for {n} inputs")
    return index


def per_sample(seed: int, stream: str, index, draw) -> torch.Tensor:
    """``draw(generator)`` for each sample's keyed generator, stacked: (len(index), ...)."""
    return torch.stack([draw(sample_generator(seed, stream, i)) for i in index])


def prefix_rows(seed: int, index, shape: tuple[int, ...]) -> torch.Tensor:
    """Rows ``index`` of ``torch.rand(max(index) + 1, *shape)`` drawn from ``seed``: the whole
    set's uniform draws, of which a shard takes its own rows (cheap where a row is small)."""
    index = list(index)
    if not index:
        return torch.empty(0, *shape)
    table = torch.rand(max(index) + 1, *shape, generator=torch.Generator().manual_seed(seed))
    return table[torch.as_tensor(index)]


class KeyedRows:
    """A stand-in for a ``torch.Generator`` in the models' random removal modes (``noise``,
    ``patch_color``; see ``attrib.features.filler``): row r of the next batch draws from its own
    generator keyed by ``keys[r]`` (e.g. (image index, features removed)), which the caller
    sets before each forward pass. Draws happen on ``device``."""

    def __init__(self, seed: int, stream: str, device="cpu"):
        self.seed, self.stream, self.device = seed, stream, torch.device(device)
        self.keys: list[tuple[int, ...]] = []

    def rand(self, shape: tuple[int, ...]) -> torch.Tensor:
        """(len(keys), *shape) uniform draws, row r from its key's generator."""
        return torch.stack([
            torch.rand(shape, generator=sample_generator(self.seed, self.stream, *key, device=self.device),
                       device=self.device)
            for key in self.keys
        ])
