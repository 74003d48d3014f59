"""Readable validation problems: every error at once, each with its JSON path."""

from __future__ import annotations

from pydantic import ValidationError


def json_path(loc: tuple) -> str:
    """('shots', 2, 'out_s') -> 'shots[2].out_s'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def problems_of(exc: ValidationError) -> list[str]:
    return [f"{json_path(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()]
