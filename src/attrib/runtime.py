"""Process set-up shared by every pipeline step: logging, threads, seeds, device."""

from __future__ import annotations

import atexit
import logging
import os
import random
import resource
import re
import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

_IMPORTED = time.monotonic()


def setup(log_path: str | Path | None = None, threads: int = 1, seed: int = 0) -> logging.Logger:
    """Fix threads and seeds; log messages to stderr and ``log_path``.

    torch is set up only where the job has imported it (figure jobs never do: it costs ~1.6 s);
    the package's modules import torch at their top, so a job that computes has it by now.

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
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(max(1, int(threads)))
    seed_everything(seed)
    fail_if_memory_below_test_minimum()
    log = logging.getLogger("attrib")
    log.info("started: %.2f s after the process began (interpreter and imports)", process_age())
    atexit.register(log_cpu_time, log)
    return log


def log_cpu_time(log: logging.Logger) -> None:
    """The job's CPU seconds (user + system, its children included) at exit: Snakemake's
    benchmark samples CPU time every 30 s after the first 15 s, so it misses up to 30 s a job."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    log.info("finished: %.2f s after the process began, %.2f CPU s", process_age(), cpu)


def process_age() -> float:
    """Seconds since this process began, read from /proc where there is one (so the interpreter's
    start and the imports before any of our code count), else since this module was imported."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


def ready(log: logging.Logger, what: str = "inputs loaded") -> None:
    """Log the end of a job's fixed cost (imports, loading): ``benchmarks/job_overhead.py`` reads
    these lines to report each rule's fixed cost per job."""
    log.info("ready: %.2f s after the process began (%s)", process_age(), what)


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
    """Python's, numpy's and (where imported) torch's generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


class LogProgress:
    """Progress of a loop as log lines: at most one per ``interval`` seconds, and a last one
    where any was written, so a job's log shows how far it is without a redrawn bar."""

    def __init__(self, iterable, *, total: int | None, desc: str, interval: float):
        self.iterable = iterable
        self.total = len(iterable) if total is None and hasattr(iterable, "__len__") else total
        self.desc, self.interval = desc, interval
        self.postfix = ""
        self.log = logging.getLogger("attrib")

    def set_postfix(self, **values) -> None:
        """As tqdm's: shown after the count (e.g. the running loss)."""
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def __iter__(self):
        start = last = time.monotonic()
        done = logged = 0
        for item in self.iterable:
            yield item
            done += 1
            now = time.monotonic()
            if now - last >= self.interval:
                self._line(done, now - start)
                last, logged = now, done
        if 0 < logged < done:
            self._line(done, time.monotonic() - start)

    def _line(self, done: int, elapsed: float) -> None:
        count = f"{done}/{self.total}" if self.total else str(done)
        left = f", about {elapsed / done * (self.total - done):.0f} s left" if self.total and done < self.total else ""
        postfix = f", {self.postfix}" if self.postfix else ""
        self.log.info("%s: %s after %.0f s%s%s", self.desc, count, elapsed, left, postfix)


def progress_bar(iterable, *, desc: str, total: int | None = None, interval: float = 30.0, disable: bool = False):
    """A progress bar on a terminal; elsewhere (a job, whose stderr ``setup`` sends to its log)
    one log line per ``interval`` seconds instead of a bar refreshed with carriage returns.
    Loops shorter than a few seconds show nothing either way."""
    if disable or sys.stderr.isatty():
        return tqdm(iterable, desc=desc, total=total, disable=disable, mininterval=1, delay=5)
    return LogProgress(iterable, total=total, desc=desc, interval=interval)


def _device_text(name: str) -> str:
    import torch

    if name.startswith("cuda"):
        index = torch.device(name).index or 0
        return f"{name} ({torch.cuda.get_device_name(index)}, {torch.cuda.device_count()} visible)"
    return f"{name} ({torch.get_num_threads()} threads)"


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without one is an error. Logs the
    device and why: with ``auto`` a job on a machine without a GPU runs on the CPU silently."""
    import torch

    if name == "auto":
        cuda = torch.cuda.is_available()
        name, why = ("cuda", "auto: a CUDA device is visible") if cuda else ("cpu", "auto: no CUDA device is visible")
    elif name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config key device: 'cuda' requested but no CUDA device is visible")
    else:
        why = f"config device: {name}"
    logging.getLogger("attrib").info("device %s, %s", _device_text(name), why)
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
    import torch

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
    import torch

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
