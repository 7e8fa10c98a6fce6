"""Pacing inside a provider's published quota, shared by the threads of one sync.

Gmail counts quota units per user over a moving one-second window (250, `messages.get` = 5);
Graph counts requests per mailbox over ten minutes (10,000) and allows 4 at once. Staying under
the quota beats being throttled: a 429 costs a wait of seconds.

A request counts from the moment it is sent until one window after its answer came back. The
provider counts it when it arrives, which is between the two: whatever the network delays,
the window kept here never holds less than the provider's, so pacing to it never exceeds the
quota. A throttle answer anyway (another client of the same mailbox spends from the same
quota) lowers the pace, which then recovers slowly.
"""

import threading
import time
from collections import deque


class Quota:
    def __init__(self, *, limit: float, window: float, margin: float = 0.02) -> None:
        self.ceiling = limit * (1 - margin)  # what this client allows itself
        self.limit = self.ceiling
        self.window = window
        self._done: deque[tuple[float, float]] = deque()  # (answer time, units), in order
        self._done_total = 0.0
        self._in_flight = 0.0
        self._lock = threading.Lock()
        self._clean = 0
        self.waited = 0.0  # seconds spent waiting for room (for benchmarks and summaries)
        self.throttled = 0  # throttle answers received
        self.requests = 0
        self.request_seconds = 0.0  # from sending to the answer read, summed

    def acquire(self, units: float = 1) -> tuple[float, float]:
        """Wait for room and reserve `units`; give the ticket to `release` once answered."""
        units = min(units, self.limit)
        while True:
            with self._lock:
                now = time.monotonic()
                while self._done and self._done[0][0] <= now - self.window:
                    self._done_total -= self._done.popleft()[1]
                if self._in_flight + self._done_total + units <= self.limit:
                    self._in_flight += units
                    return units, now
                # Room comes back when the oldest answered request leaves the window.
                wait = self._done[0][0] + self.window - now if self._done else 0.005
            wait = max(wait, 0.001)
            self.waited += wait
            time.sleep(wait)

    def release(self, ticket: tuple[float, float]) -> None:
        units, sent = ticket
        with self._lock:
            now = time.monotonic()
            self._in_flight -= units
            self._done.append((now, units))
            self._done_total += units
            self.requests += 1
            self.request_seconds += now - sent

    def throttled_once(self) -> None:
        """The provider said "too many": pace lower (down to a fifth of the ceiling)."""
        with self._lock:
            self.throttled += 1
            self._clean = 0
            self.limit = max(self.ceiling / 5, self.limit * 0.7)

    def succeeded(self) -> None:
        with self._lock:
            if self.limit >= self.ceiling:
                return
            self._clean += 1
            if self._clean >= 50:
                self._clean = 0
                self.limit = min(self.ceiling, self.limit * 1.1)
