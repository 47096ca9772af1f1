"""A session stream whose task durations carry a constant extra time (SecAgg round trips and masking)."""

from __future__ import annotations

from typing import Any

from ..population import SessionChunk, SessionStream


class ExtraTimeStream(SessionStream):
    """Delegates to `inner`, adding `extra_s` to every task's duration: a longer task is more often
    interrupted by its session's end, and the scheduler's clock sees the delay."""

    def __init__(self, inner: SessionStream, extra_s: float):  # no super().__init__: every draw is the inner stream's
        self.inner, self.extra_s = inner, extra_s

    def __getattr__(self, name: str) -> Any:  # only called for attributes this wrapper does not have
        return getattr(self.inner, name)

    def state(self) -> dict[str, Any]:
        return self.inner.state()

    def restore(self, state: dict[str, Any]) -> None:
        self.inner.restore(state)

    def next_chunk(self) -> SessionChunk | None:
        chunk = self.inner.next_chunk()
        if chunk is None:
            return None
        start, end, dev, cls, duration = chunk
        return start, end, dev, cls, duration + self.extra_s
