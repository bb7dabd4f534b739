"""Papers per minute and time left for the queue, from recent completions.

A sliding window (not the whole session) so the figure follows what the worker
does now: a batch of 300-page books after a batch of letters must show the
slow-down within minutes. Qt-free so it is tested without a window.
"""

from __future__ import annotations

from collections import deque

WINDOW_S = 600.0  # ten minutes of history
MIN_SAMPLES = 2  # one finished paper is not a rate yet


class Throughput:
    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._finished: deque[float] = deque()
        self._since: float | None = None

    def start(self, now: float) -> None:
        """The worker started working (again): measure from here, not from idle time."""
        self._since = now
        self._finished.clear()

    def record(self, count: int, now: float) -> None:
        if self._since is None:
            self._since = now
        self._finished.extend([now] * count)
        self._trim(now)

    def per_minute(self, now: float) -> float | None:
        self._trim(now)
        if len(self._finished) < MIN_SAMPLES or self._since is None:
            return None
        span = now - max(self._since, now - self.window_s)
        return 60.0 * len(self._finished) / span if span > 0 else None

    def seconds_left(self, remaining: int, now: float) -> float | None:
        rate = self.per_minute(now)
        if not remaining:
            return 0.0
        return None if not rate else 60.0 * remaining / rate

    def _trim(self, now: float) -> None:
        while self._finished and self._finished[0] < now - self.window_s:
            self._finished.popleft()


def describe(rate: float | None, seconds_left: float | None) -> str:
    """'12.4 papers/min · about 8 min left' (or '' before there is a rate)."""
    if rate is None:
        return ""
    text = f"{rate:.1f} papers/min" if rate < 10 else f"{rate:.0f} papers/min"
    if seconds_left:
        if seconds_left < 90:
            text += " · under 2 min left"
        elif seconds_left < 5400:
            text += f" · about {round(seconds_left / 60)} min left"
        else:
            text += f" · about {seconds_left / 3600:.1f} h left"
    return text
