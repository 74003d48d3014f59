"""Files beside the catalog: embedding arrays and thumbnails, always written atomically.

Arrays are checked where they are read: a missing, truncated or wrong-shaped `emb/*.npy` is a
`LibraryError` naming the file and the repair command, never a numpy or OS traceback. The
cheap check (`array_problem`) reads only the .npy header and the file size, so verifying every
array of a library costs one small read per file.
"""

from __future__ import annotations

import errno
import hashlib
import io
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from adcut.core.errors import LibraryError
from adcut.core.files import write_atomic

EMB_DIR = "emb"
THUMB_DIR = "thumbs"
INDEX_DIR = "index"
ARRAY_DTYPE = np.dtype(np.float16)

# What a failed write into the library folder means for the user, by errno.
_WRITE_FAULTS = {
    errno.ENOSPC: ("no space left on the device", "free some space, then run the same command again"),
    errno.EDQUOT: ("disk quota exceeded", "free some space, then run the same command again"),
    errno.EROFS: ("it is on a read-only file system", "use a library folder on a writable disk"),
    errno.EACCES: ("permission denied", "fix the permissions of the library folder or use another one"),
    errno.EPERM: ("operation not permitted", "fix the permissions of the library folder or use another one"),
    errno.EIO: ("input/output error", "the disk or its connection failed; check it and run again"),
    errno.EFBIG: ("file too large for the file system", "use a library folder on another disk"),
}


def repair_hint(folder: Path) -> str:
    return f"run `adcut library check --repair {folder}`"


def folder_write_error(folder: Path, exc: OSError) -> LibraryError | OSError:
    """The `LibraryError` for an OSError met while writing into library `folder` (the OSError
    itself when it is not a fault of the disk or the folder: a bug is not hidden)."""
    if exc.errno in (errno.EEXIST, errno.ENOTDIR) and Path(folder).exists() \
            and not Path(folder).is_dir():
        return LibraryError(f"library path {folder} is a file, not a folder",
                            hint="give --library a folder (new or existing)")
    known = _WRITE_FAULTS.get(exc.errno)
    if known is None:
        return exc
    what, todo = known
    where = ""
    if exc.filename is not None and Path(os.fsdecode(exc.filename)) != Path(folder):
        name = Path(os.fsdecode(exc.filename))
        try:
            name = name.relative_to(folder)
        except ValueError:
            pass
        where = f" (writing {name})"
    return LibraryError(f"cannot write to the library {folder}: {what}{where}", hint=todo)


@contextmanager
def writing_into(folder: Path) -> Iterator[None]:
    """An OSError of the disk or the folder inside the block becomes the `LibraryError` of
    library `folder` (see `folder_write_error`); any other OSError goes on as it is."""
    try:
        yield
    except OSError as exc:
        error = folder_write_error(folder, exc)
        if error is exc:
            raise
        raise error from exc


def write_library_file(folder: Path, rel: str, data: bytes) -> Path:
    """Write `folder/rel` atomically; a full or read-only disk is a `LibraryError`."""
    target = Path(folder) / rel
    with writing_into(folder):
        write_atomic(target, data)
    return target


def save_embeddings(folder: Path, rel: str, vectors: np.ndarray) -> Path:
    """Store L2-normalised vectors as float16 (half the disk, ample precision for cosine)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(vectors, dtype=ARRAY_DTYPE))
    return write_library_file(folder, rel, buffer.getvalue())


_NPY_MAGIC = b"\x93NUMPY"
_NPY_FIELDS = re.compile(r"""^\{'descr':\s*'([^']+)',\s*'fortran_order':\s*(True|False),\s*"""
                         r"""'shape':\s*\(([0-9,\s]*)\),?\s*\}""")


def read_array_header(path: str | Path) -> tuple[tuple[int, ...], np.dtype, int, int]:
    """(shape, dtype, bytes the file must have, bytes it has) of a .npy file, from its header;
    raises ValueError or OSError for a file that is not a readable .npy array.

    The header numpy writes is parsed with one regular expression (numpy's own parser, which
    evaluates it as Python, is kept for anything else): checking every array of a large library
    is a few microseconds per file plus the read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        head = os.read(fd, 512)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if head[:6] != _NPY_MAGIC or len(head) < 10:
        raise ValueError("not a .npy array")
    if head[6] == 1:
        start, length = 10, int.from_bytes(head[8:10], "little")
    elif head[6] in (2, 3):
        start, length = 12, int.from_bytes(head[8:12], "little")
    else:
        raise ValueError(f"unknown .npy version {head[6]}")
    text = head[start:start + length].decode("latin-1")
    match = _NPY_FIELDS.match(text) if len(text) == length else None
    if match is not None:
        dtype = np.dtype(match.group(1))
        shape = tuple(int(n) for n in match.group(3).replace(",", " ").split())
    else:
        from numpy.lib import format as npy

        with open(path, "rb") as fh:
            version = npy.read_magic(fh)
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read(fh)
            start, length = fh.tell(), 0
    if dtype.hasobject:
        raise ValueError("holds Python objects, not numbers")
    needed = start + length + math.prod(shape) * dtype.itemsize
    return tuple(shape), dtype, needed, size


def array_problem(folder: Path, rel: str, rows: int, dim: int) -> str | None:
    """What is wrong with the stored array `rel` given the (rows, dim) the catalog records,
    from its header and size alone (None when it looks right)."""
    try:
        shape, dtype, needed, size = read_array_header(os.path.join(folder, rel))
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError, SyntaxError, TypeError) as exc:
        return f"unreadable ({' '.join(str(exc).split())[:120] or type(exc).__name__})"
    if size < needed:
        return f"truncated ({size} of {needed} bytes)"
    if shape != (rows, dim):
        return _wrong_shape(shape, rows, dim)
    if dtype != ARRAY_DTYPE:
        return f"of dtype {dtype}, not {ARRAY_DTYPE}"
    return None


def _wrong_shape(shape: tuple[int, ...], rows: int, dim: int) -> str:
    return (f"of shape {'x'.join(map(str, shape)) or 'scalar'}, not the {rows}x{dim} "
            "the catalog records")


def load_embeddings(folder: Path, rel: str, rows: int | None = None,
                    dim: int | None = None) -> np.ndarray:
    """float32 copy of a stored array (FAISS and numpy maths want float32).

    With `rows` and `dim` (as the catalog records them) the array's shape is checked too.
    A missing, unreadable or wrong-shaped file is a `LibraryError` naming it."""
    path = Path(folder) / rel
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise _array_error(folder, rel, "missing") from exc
    except (OSError, ValueError, EOFError) as exc:
        raise _array_error(folder, rel, f"unreadable ({' '.join(str(exc).split())[:120]})") from exc
    if array.ndim == 2:
        expected = (array.shape[0] if rows is None else rows,
                    array.shape[1] if dim is None else dim)
    else:
        expected = (-1 if rows is None else rows, -1 if dim is None else dim)
    if array.shape != expected:
        raise _array_error(folder, rel, _wrong_shape(array.shape, *expected))
    return array.astype(np.float32)


class DamagedFileError(LibraryError):
    """A file of the library (an array, an index) is missing or cannot be used; `path` and
    `detail` ("missing", "truncated (...)") say which and how."""

    def __init__(self, what: str, path: Path, detail: str, folder: Path):
        super().__init__(f"{what} {path} is {detail}", hint=repair_hint(folder))
        self.path = Path(path)
        self.detail = detail


def _array_error(folder: Path, rel: str, problem: str) -> LibraryError:
    return DamagedFileError("the embedding array", Path(folder) / rel, problem, folder)


def hash_file(path: Path, chunk_bytes: int = 1 << 22) -> str:
    """blake2b-256 of the file's bytes: the identity of a source, whatever its name."""
    digest = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
