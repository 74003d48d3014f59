"""Where a command's time goes: named phases, timed where they run.

`phase("voice")` times a block and adds it to the phases being recorded; `recording()` opens
the record of one command (a context variable, so the phases of nested calls land in the
command that runs them, and code that runs outside a recording costs nothing). `adcut edit
--json` reports them and benchmarks/edit_speed.py reads them, so the cost of voice synthesis,
reframing analysis, the loudness pass, the encode and QC is measured, not guessed.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

_phases: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "adcut_phases", default=None)


@contextmanager
def recording() -> Iterator[dict[str, float]]:
    """Collect the phases timed inside the block: {name: seconds}, in the order first seen;
    a phase entered several times (one per variant, one per pass) adds up."""
    phases: dict[str, float] = {}
    token = _phases.set(phases)
    try:
        yield phases
    finally:
        _phases.reset(token)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time the block as phase `name` of the command being recorded (if any)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        phases = _phases.get()
        if phases is not None:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - started
