"""Timing and memory helpers shared by every benchmark.

Machines here are noisy, so every benchmark times the library and a baseline
in the same run and reports the ratio; absolute times are printed for context.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

__all__ = ["Result", "best_time", "peak_memory", "report", "whole_job"]


class Result:
    """One timed contender: the best of ``repeat`` wall-clock runs."""

    def __init__(self, name: str, seconds: float, value: Any = None) -> None:
        self.name = name
        self.seconds = seconds
        self.value = value


def best_time(name: str, fn: Callable[[], Any], *, repeat: int = 3) -> Result:
    """Run ``fn`` ``repeat`` times and keep the fastest (the least disturbed) run."""
    best = float("inf")
    value: Any = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return Result(name, best, value)


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (tracemalloc sees numpy's buffers) while ``fn`` runs."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def _relative(ratio: float) -> str:
    """``ratio`` (their time over ours) in words that read right either way."""
    if ratio >= 1:
        return f"ours is {ratio:6.2f}x faster"
    return f"ours is {1 / ratio:6.2f}x slower"


def report(title: str, ours: Result, *baselines: Result) -> str:
    """Lines for the console: each contender's time and its ratio to ours."""
    lines = [f"== {title}", f"  {ours.name:<48} {ours.seconds:9.3f} s"]
    for b in baselines:
        ratio = b.seconds / ours.seconds if ours.seconds > 0 else float("inf")
        lines.append(f"  {b.name:<48} {b.seconds:9.3f} s   {_relative(ratio)}")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def whole_job(title: str, build: Result, *steps: Result, peers: tuple[Result, ...] = ()) -> Result:
    """The table build and each step on their own lines, then their sum as the whole job.

    A user's job starts from arrays or a file, so the build is part of it: the
    whole-job line is what a daily run from fresh data pays. ``peers`` are the
    other tools' whole jobs, each timed from the same starting point (their own
    frame or file reading included); the ratios are printed against them.
    """
    total = build.seconds + sum(s.seconds for s in steps)
    lines = [f"== {title}: the whole job, table build included",
             f"  {'table build: ' + build.name:<48} {build.seconds:9.3f} s"]
    lines += [f"  {'then: ' + s.name:<48} {s.seconds:9.3f} s" for s in steps]
    print("\n".join(lines), flush=True)
    job = Result("ours, whole job: the lines above added up", total)
    share = build.seconds / total if total > 0 else float("nan")
    report(f"{title}, whole job (the build is {share:.0%} of it)", job, *peers)
    return job
