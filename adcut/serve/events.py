"""Server-sent events: job changes as `text/event-stream`.

Each event is one job's JSON (`event: job`, `id:` its change number `seq`); a client that
reconnects sends `Last-Event-ID` (EventSource does it by itself) and gets what changed since.
A comment line every 15 s keeps proxies from closing a quiet stream. A stream of one job ends
after the event that shows it finished; the stream of every job runs until the client leaves.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

HEARTBEAT_S = 15.0


def format_event(data: dict, *, event: str = "job", event_id: int | None = None) -> str:
    """One SSE message (PURE)."""
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {line}" for line in json.dumps(data, ensure_ascii=False).splitlines()]
    return "\n".join(lines) + "\n\n"


async def job_stream(fetch: Callable[[int], list[dict]], *, since: int, poll_s: float,
                     is_disconnected, until_done: bool, max_s: float | None = None
                     ) -> AsyncIterator[str]:
    """Events for the jobs `fetch(since)` returns (rows changed after seq `since`)."""
    import anyio

    last_beat = time.monotonic()
    started = last_beat
    yield "retry: 2000\n\n"
    while True:
        rows = await anyio.to_thread.run_sync(fetch, since)
        for job in rows:
            since = max(since, job["seq"])
            yield format_event(job, event_id=job["seq"])
            if until_done and job["state"] in ("done", "failed", "cancelled", "interrupted"):
                return
        now = time.monotonic()
        if now - last_beat >= HEARTBEAT_S:
            last_beat = now
            yield ": keep-alive\n\n"
        if max_s is not None and now - started > max_s:
            return
        if await is_disconnected():
            return
        await anyio.sleep(poll_s)
