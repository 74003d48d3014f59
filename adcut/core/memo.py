"""Measurements of files, remembered by what they were measured on.

Several measurements an edit makes depend only on files and numbers that do not change between
the variants of one edit or between the edits of a marketer iterating on a brief: a source's
probed facts, the small frames a shot's reframing is chosen from, the loudness of the voice
lines and of the stretch of music an ad plays, the loudness of a mix, and the version and
filters of the ffmpeg binary itself. Each is remembered under a key made of its kind,
its arguments and the identity of every file it reads (absolute path, size and modification
time, so an edited or replaced file is measured again), in memory for the rest of the process
and on disk under the cache folder (adcut.core.files.cache_dir, "measure/"), so the variants of
one edit and the next edit reuse it. A cache entry that cannot be read or written is measured
again (the cache is an optimisation, never a source of failure).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_memory: dict[str, Any] = {}
# Bumped when what a kind measures changes meaning: old entries are then never read.
VERSION = 1
# The disk cache is kept under this size: the entries used least recently go first (a shot's
# reframing frames are about 130 KB, so this holds some 2,000 shots).
MAX_CACHE_BYTES = 256 * 1024 * 1024


def file_identity(path: str | Path) -> str:
    """The absolute path, size and modification time of a file ("missing" when it cannot be
    read: the measurement then fails as it would without the cache)."""
    p = Path(path).absolute()
    try:
        st = p.stat()
    except OSError:
        return f"{p}|missing"
    return f"{p}|{st.st_size}|{st.st_mtime_ns}"


def memo_key(kind: str, args: Sequence[Any], files: Sequence[str | Path]) -> str:
    """The key of a measurement (PURE but for the files' identities)."""
    text = json.dumps([VERSION, kind, [str(a) for a in args],
                       [file_identity(f) for f in files]])
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def _folder() -> Path:
    from adcut.core.files import cache_dir

    return cache_dir() / "measure"


def remembered_json(kind: str, args: Sequence[Any], files: Sequence[str | Path],
                    compute: Callable[[], Any]) -> Any:
    """`compute()` (a JSON value), or what it returned before for the same kind, arguments
    and files."""
    key = memo_key(kind, args, files)
    if key in _memory:
        return _memory[key]
    path = _folder() / f"{key}.json"
    try:
        value = json.loads(path.read_text())["value"]
        _touch(path)
    except (OSError, ValueError, KeyError):
        value = compute()
        _store(path, json.dumps({"value": value}).encode())
    _memory[key] = value
    return value


def remembered_arrays(kind: str, args: Sequence[Any], files: Sequence[str | Path],
                      compute: Callable[[], list]) -> list:
    """`compute()` (a list of numpy arrays), or what it returned before (see remembered_json)."""
    import numpy as np

    key = memo_key(kind, args, files)
    if key in _memory:
        return list(_memory[key])
    path = _folder() / f"{key}.npz"
    try:
        with np.load(path) as data:
            value = [data[f"a{i}"] for i in range(len(data.files))]
        _touch(path)
    except (OSError, ValueError, KeyError, EOFError):
        value = compute()
        buf = io.BytesIO()
        np.savez(buf, **{f"a{i}": a for i, a in enumerate(value)})
        _store(path, buf.getvalue())
    _memory[key] = list(value)
    return list(value)


def _store(path: Path, data: bytes) -> None:
    """Write an entry whole (a temporary file renamed into place), or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
        trim(path.parent)
    except OSError as exc:
        log.debug("measurement not cached at %s: %s", path, exc)
        try:
            tmp.unlink()
        except OSError:
            pass


def _touch(path: Path) -> None:
    """Mark an entry as just used (its modification time orders the trimming)."""
    try:
        os.utime(path)
    except OSError:
        pass


def trim(folder: Path, max_bytes: int = MAX_CACHE_BYTES) -> None:
    """Remove the least recently used entries until the folder holds at most `max_bytes`."""
    entries = []
    for entry in os.scandir(folder):
        try:
            st = entry.stat()
        except OSError:
            continue
        entries.append((st.st_mtime_ns, st.st_size, entry.path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= max_bytes:
            break
        try:
            os.unlink(path)
            total -= size
        except OSError:
            pass


def forget() -> None:
    """Drop what this process remembers in memory (tests; the disk entries stay)."""
    _memory.clear()
