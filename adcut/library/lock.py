"""One writer at a time per library.

Every command that writes a library (ingest, `library check --repair`) holds an exclusive
`flock` on a lock file inside the library folder for its whole run. A second writer waits for
the first one to finish (after telling the user once, through `on_wait`) and then carries on
against the catalog as the first one left it, so two ingests of the same new files never race
to insert the same rows. Readers (edit, `library info|ls|check`) never take the lock: SQLite's
write-ahead log lets them read while a writer writes.

The lock is the kernel's: it is released when the holder exits, however it exits (kill -9
included), so a stale lock file never blocks anyone.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from adcut.core.errors import Interrupted, LibraryError
from adcut.library.store import writing_into

LOCK_NAME = ".adcut-writer.lock"
_POLL_S = 0.2  # a waiting writer tries the lock again this often


def prepare_library_folder(folder: Path) -> Path:
    """The library folder, created when new; one line when it cannot be (a file, a read-only
    disk, no permission)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise LibraryError(f"library path {folder} is a file, not a folder",
                           hint="give --library a folder (new or existing)")
    with writing_into(folder):
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def lock_holder(folder: Path) -> str | None:
    """What the current holder wrote into the lock file ("adcut ingest, pid 123"), if any."""
    try:
        text = (Path(folder) / LOCK_NAME).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return text or None


def is_locked(folder: Path) -> bool:
    """Whether a writer holds the library's lock now (without waiting, without creating it)."""
    try:
        fd = os.open(Path(folder) / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


@contextmanager
def library_lock(folder: Path, *, purpose: str = "adcut",
                 on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the library's writer lock for the block, waiting for another writer if needed.

    `on_wait(line)` is called once, with a line for the user, when the lock is held by someone
    else; Ctrl-C while waiting raises `Interrupted` (nothing was written). The folder must
    exist (see `prepare_library_folder`)."""
    folder = Path(folder)
    path = folder / LOCK_NAME
    with writing_into(folder):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                if on_wait is not None:
                    holder = lock_holder(folder)
                    on_wait(f"waiting for another adcut writing to {folder}"
                            + (f" ({holder})" if holder else "") + " ... (Ctrl-C to stop)")
                # Polled, not a blocking flock: a Ctrl-C or SIGTERM taken by another thread
                # reaches Python only when the main thread wakes.
                while True:
                    time.sleep(_POLL_S)
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        continue
            except KeyboardInterrupt:
                raise Interrupted(f"stopped while waiting for another adcut writing to "
                                  f"{folder}; nothing was written") from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            # A file system without flock (some network shares): go on unguarded, as before.
        _note_holder(fd, purpose)
        yield
    finally:
        os.close(fd)  # releases the lock


def _note_holder(fd: int, purpose: str) -> None:
    """Write who holds the lock into the lock file, for the message a waiting writer prints."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{purpose}, pid {os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # only a courtesy to the next writer
