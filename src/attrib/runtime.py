"""Process set-up shared by every pipeline step: logging, threads, seeds, device."""

from __future__ import annotations

import logging
import os
import random
import re
import sys
from pathlib import Path

import numpy as np
import torch


def setup(log_path: str | Path | None = None, threads: int = 1, seed: int = 0) -> logging.Logger:
    """Fix threads and seeds; log messages to stderr and ``log_path``.

    With a log file, everything else written to stderr (progress bars, library warnings) goes
    to the log only, so parallel jobs do not garble the console; ``tail -f`` the log to watch.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "w", buffering=1)
        handlers.append(logging.StreamHandler(stream))
        sys.stderr = stream
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", handlers=handlers, force=True)
    torch.set_num_threads(max(1, int(threads)))
    seed_everything(seed)
    fail_if_memory_below_test_minimum()
    return logging.getLogger("attrib")


def fail_if_memory_below_test_minimum() -> None:
    """Test-only switch (config key ``test_min_mem_mb``, used by tests/slurm): a job of a listed
    rule given less ``mem_mb`` than asked fails as if killed for memory, so the cluster test
    sees it retried with more memory. Reads the job Snakemake injects into rule scripts."""
    job = getattr(sys.modules["__main__"], "snakemake", None)
    if job is None:
        return
    needed = job.config.get("test_min_mem_mb", {}).get(job.rule)
    given = job.resources.get("mem_mb", 0)
    if needed and given < needed:
        raise MemoryError(f"config key test_min_mem_mb.{job.rule}: simulated out-of-memory, {given} MB < {needed} MB")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config key device: 'cuda' requested but no CUDA device is visible")
    return torch.device(name)


def temp_path(path: str | Path) -> Path:
    """The sibling a writer fills before renaming it onto ``path`` (its process id keeps two
    writers apart; ``sweep_temp`` recognises it)."""
    path = Path(path)
    return path.with_name(f"{path.name}.tmp{os.getpid()}")


def _temp_names(name: str) -> re.Pattern:
    """Temporary siblings of ``name`` that writers of this project have ever left when killed:
    ``temp_path``'s ``.tmp<pid>`` (and the checkpoints' ``.tmp``), the old downloader's
    ``.<name>.<random>.part`` and torch.hub's ``<name>.<uuid>.partial``."""
    n = re.escape(name)
    return re.compile(rf"{n}\.tmp\d*|\.{n}\..+\.part|{n}\.[0-9a-f]{{32}}\.partial|{n}\.part(ial)?")


def sweep_temp(path: str | Path) -> list[Path]:
    """Delete the temporary siblings of ``path`` that a killed writer left; returns them.

    Only one job ever writes a given output, so a temporary file of its name that exists
    before the write starts is a leftover, never another writer's work in progress.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern = _temp_names(path.name)
    stale = sorted(p for p in path.parent.iterdir() if pattern.fullmatch(p.name) and not p.is_dir())
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def _atomic_write(path: str | Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_temp(path)
    tmp = temp_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_save(obj, path: str | Path) -> None:
    """torch.save through a temporary file so an interrupted write never leaves a torn file."""
    _atomic_write(path, lambda tmp: torch.save(obj, tmp))


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) through a temporary file, as ``atomic_save``."""
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def load_torch_file(path: str | Path, *, what: str, keys: tuple[str, ...], remedy: str, mmap: bool = False) -> dict:
    """``torch.load`` (weights only) of a dict this pipeline wrote. A file that is missing,
    damaged (truncated, empty, garbage) or of another kind (a dict without ``keys``) raises an
    error naming the file, the ``what`` it should be, and the ``remedy``, instead of torch's
    EOFError or a later KeyError. ``mmap``: tensors are memory-mapped, so a caller that takes a
    few rows of a large file reads only those."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path} ({remedy})")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as e:  # torch.load raises many types for a damaged file
        first_line = (str(e).splitlines() or [""])[0]  # torch appends pages of advice
        raise ValueError(f"{path}: not a readable {what} ({type(e).__name__}: {first_line}); {remedy}") from e
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a {what}: it holds a {type(obj).__name__}, not a dict; {remedy}")
    missing = [key for key in keys if key not in obj]
    if missing:
        found = sorted(map(str, obj))
        raise ValueError(
            f"{path}: not a {what}: it lacks {missing} (keys found: {found[:8]}{' ...' if len(found) > 8 else ''}); "
            f"{remedy}"
        )
    return obj
