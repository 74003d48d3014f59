"""Writing files so that readers never see half of one."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, then rename: readers never see half a file.

    A failure (a full disk, a read-only folder) raises the OSError of the step that failed,
    naming `path` rather than the temporary file; removing the temporary file afterwards is
    best effort and never replaces that error (on a read-only folder the removal fails too)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename2 is None and (exc.filename is None
                                      or os.fsdecode(exc.filename) == str(tmp)):
            exc.filename = str(path)
        raise
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def cache_dir() -> Path:
    """Where derived files (extracted models, synthesised voice lines) are kept between runs."""
    d = os.environ.get("ADCUT_CACHE_DIR")
    return Path(d).expanduser() if d else Path.home() / ".cache" / "adcut"
