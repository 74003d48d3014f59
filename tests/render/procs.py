"""Which processes are alive, from /proc (for the tests that kill adcut mid-render)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def _stat(pid: int) -> tuple[str, str, int] | None:
    """(command name, state, parent pid) of `pid`, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    state, ppid = text[text.rindex(")") + 2:].split()[:2]
    return name, state, int(ppid)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as dead: it does no more work)."""
    info = _stat(pid)
    return info is not None and info[1] not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace")
    except OSError:
        return ""


def children(pid: int, name: str = "ffmpeg", having: str = "", *,
             zombies: bool = False) -> list[int]:
    """Living processes whose parent is `pid`, whose command name starts with `name` and whose
    command line contains `having` (e.g. "-progress": the encode, not a `-version` probe).
    With `zombies`, also the dead ones nobody reaped yet."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info and info[2] == pid and info[0].startswith(name) \
                    and (zombies or info[1] not in "ZX") and having in _cmdline(int(entry)):
                found.append(int(entry))
    return found


def wait_for(predicate, timeout_s: float, step_s: float = 0.02):
    """Poll `predicate()` until it returns something truthy (returned) or time runs out
    (the last value is returned)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step_s)


def mapped(pid: int, needle: str) -> bool:
    """Whether a file whose path contains `needle` (a native module) is in `pid`'s memory map."""
    try:
        return needle in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def wait_until_mapped(proc: subprocess.Popen, needle: str, timeout_s: float = 60) -> bool:
    """Poll every 2 ms until `proc` maps `needle` (True) or ends or time runs out (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if mapped(proc.pid, needle):
            return True
        time.sleep(0.002)
    return False


def interrupt(proc: subprocess.Popen, timeout_s: float = 120) -> str:
    """Ctrl-C `proc` (a SIGINT) and wait for it to end; its stderr. A process that outlives
    `timeout_s` is killed (the test's assertions on its exit code then fail)."""
    try:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return err
