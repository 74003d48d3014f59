"""Real faults for tests: a small disk that fills up, a read-only mount.

Both are real mounts (tmpfs, bind mount), so the code under test meets the operating system's
own ENOSPC and EROFS rather than a mock. Mounting needs root (CI runs as root); elsewhere the
tests that need them are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


def _umount(path: Path) -> None:
    for _ in range(20):
        if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
            return
        subprocess.run(["sleep", "0.1"])
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def small_disk(path: Path, size_kib: int):
    """`path` (created) becomes a tmpfs of `size_kib` KiB for the duration of the block."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a small disk needs a tmpfs mount (root)")
    proc = _mount("-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path))
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        _umount(path)


@contextlib.contextmanager
def readonly(path: Path):
    """`path` (an existing folder) is bind-mounted read-only onto itself for the block: even
    root cannot write there, as on a read-only share or a mounted camera card."""
    if os.geteuid() != 0:
        pytest.skip("a read-only mount needs root")
    proc = _mount("--bind", "-o", "ro", str(path), str(path))
    if proc.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {proc.stderr.strip()}")
    # Older util-linux applies ro only on a remount of the bind.
    _mount("-o", "remount,bind,ro", str(path))
    try:
        probe = path / ".adcut-ro-probe"
        try:
            probe.write_text("x")
            probe.unlink()
            pytest.skip("the read-only bind mount is writable here")
        except OSError:
            pass
        yield path
    finally:
        _umount(path)


def fill(folder: Path, leave_bytes: int = 0) -> None:
    """Fill the disk holding `folder` until about `leave_bytes` are free."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize - leave_bytes
    if free > 0:
        with open(folder / ".filler", "wb") as fh:
            try:
                fh.write(b"\0" * free)
            except OSError:
                pass
