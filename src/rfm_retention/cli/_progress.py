"""The command line's progress bar: on stderr, only on a terminal, only for long work.

A command that finishes in a moment, or whose stderr goes to a file or a
pipe (a cron job, a CI log), prints nothing extra. Only when stderr is a
terminal *and* the command has been running for more than
:data:`SHOW_AFTER_SECONDS` does one line appear, redrawn in place at most
every :data:`REDRAW_SECONDS`::

    read csv      [##########..........]  50%  120.0/240.0 MB  3s

The line is erased whenever a stage finishes and when the command ends, so
the command's own output and messages never share a line with it. No
dependency: the bar is a carriage return and a few characters.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from rfm_retention._progress import Progress, ProgressEvent

__all__ = ["REDRAW_SECONDS", "SHOW_AFTER_SECONDS", "ProgressBar", "progress_bar"]

SHOW_AFTER_SECONDS = 2.0
"""Work shorter than this shows no bar at all."""

REDRAW_SECONDS = 0.1
"""The bar is redrawn at most this often (a finished stage is always drawn)."""

_ERASE = "\r\x1b[K"  # back to the line's start, clear to its end


def _now() -> float:
    return time.monotonic()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def _amount(value: int, unit: str) -> str:
    if unit == "bytes":
        return f"{value / 1e6:.1f}"
    return f"{value:,}"


class ProgressBar:
    """A :data:`~rfm_retention.Progress` callback drawing one line on ``stream``.

    ``clock`` returns seconds (default: :func:`time.monotonic`); the bar
    stays hidden until ``show_after`` seconds have passed since it was made.

    Example:
        >>> import io
        >>> ticks = iter(range(100))
        >>> out = io.StringIO()
        >>> bar = ProgressBar(out, clock=lambda: float(next(ticks)), width=58)
        >>> bar(ProgressEvent("read csv", 0, 8_000_000, "bytes"))  # after 1 s: hidden
        >>> out.getvalue()
        ''
        >>> bar(ProgressEvent("read csv", 4_000_000, 8_000_000, "bytes"))  # 2 s: shown
        >>> out.getvalue().removeprefix("\\r\\x1b[K")
        'read csv      [##########..........]  50%  4.0/8.0 MB  2s'
        >>> bar(ProgressEvent("read csv", 8_000_000, 8_000_000, "bytes"))  # done: erased
        >>> out.getvalue().endswith("\\r\\x1b[K")
        True
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        clock: Callable[[], float] | None = None,
        show_after: float = SHOW_AFTER_SECONDS,
        width: int | None = None,
    ) -> None:
        self._stream = stream
        self._clock = clock if clock is not None else _now
        self._show_after = show_after
        self._width = width
        self._start = self._clock()
        self._last_draw = float("-inf")
        self._shown = False

    def __call__(self, event: ProgressEvent) -> None:
        now = self._clock()
        elapsed = now - self._start
        if elapsed < self._show_after:
            return
        if event.finished:
            self._erase()
            return
        if now - self._last_draw < REDRAW_SECONDS:
            return
        self._last_draw = now
        self._stream.write(_ERASE + self.line(event, elapsed))
        self._stream.flush()
        self._shown = True

    def line(self, event: ProgressEvent, elapsed: float) -> str:
        """The text of the bar for ``event`` after ``elapsed`` seconds, fitted to the width."""
        width = self._width or self._columns()
        unit = " MB" if event.unit == "bytes" else f" {event.unit}"
        done = _amount(event.done, event.unit)
        fraction = event.fraction
        if fraction is None or event.total is None:
            text = f"{event.stage:<13} {done}{unit}  {elapsed:.0f}s"
            return text[: width - 1]
        count = f"{done}/{_amount(event.total, event.unit)}{unit}"
        tail = f" {fraction:4.0%}  {count}  {elapsed:.0f}s"
        cells = max(min(40, width - 1 - 14 - 2 - len(tail)), 0)
        filled = round(fraction * cells)
        bar = f"[{'#' * filled}{'.' * (cells - filled)}]" if cells >= 5 else ""
        return f"{event.stage:<13} {bar}{tail}"[: width - 1]

    def close(self) -> None:
        """Erase the bar if it was drawn (call when the command ends)."""
        self._erase()

    def _erase(self) -> None:
        if self._shown:
            self._stream.write(_ERASE)
            self._stream.flush()
            self._shown = False
            self._last_draw = float("-inf")

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self._stream.fileno()).columns or 80
        except (AttributeError, ValueError, OSError):
            return 80


@contextlib.contextmanager
def progress_bar(stream: TextIO) -> Iterator[Progress | None]:
    """A :class:`ProgressBar` on ``stream`` when it is a terminal, else None (silent, free).

    The bar is erased when the block ends, however it ends.

    Example:
        >>> import io
        >>> with progress_bar(io.StringIO()) as progress:  # not a terminal
        ...     progress is None
        True
    """
    if not _is_terminal(stream):
        yield None
        return
    bar = ProgressBar(stream)
    try:
        yield bar
    finally:
        bar.close()
