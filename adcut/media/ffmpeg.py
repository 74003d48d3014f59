"""Locating the ffmpeg binary and running it.

Every ffmpeg child adcut starts goes through `spawn` (and `run_child` on top of it), so none
outlives adcut: on Linux the child asks the kernel to SIGKILL it when the thread that started it
ends (PR_SET_PDEATHSIG: a `kill -9` of adcut takes its ffmpeg with it), and an interrupted wait
(Ctrl-C, SIGTERM, an exception from a progress callback) kills and reaps the child before the
exception goes on.

The default binary is the static build inside the imageio-ffmpeg wheel (libass, xfade,
sidechaincompress, loudnorm, ebur128: everything adcut renders with). A system ffmpeg is used
instead only when it is newer and has every filter adcut needs; ADCUT_FFMPEG overrides both.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from adcut.core.errors import DependencyError, MediaError, OutputError

log = logging.getLogger(__name__)

REQUIRED_FILTERS = ("subtitles", "xfade", "sidechaincompress", "loudnorm", "ebur128")
ENV_VAR = "ADCUT_FFMPEG"

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_WAIT_SLICE_S = 0.2  # how long a wait for ffmpeg may hold back a pending Ctrl-C or SIGTERM


@functools.cache
def _prctl():
    """libc's prctl, looked up once in the parent (the child between fork and exec must not
    load libraries); None where there is none (not Linux)."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def _die_with_parent_hook():
    """A preexec_fn that makes the child die (SIGKILL) with the thread that forks it; None
    where the kernel has no such request."""
    prctl = _prctl()
    if prctl is None:
        return None
    import signal

    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request was in place
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def spawn(cmd: list[str], **popen_kwargs) -> subprocess.Popen:
    """Start `cmd` (subprocess.Popen arguments) as a child that dies with adcut.

    The kernel kills the child when the thread that called `spawn` ends, so call it from a
    thread that waits for the child (every caller in adcut does). Raises OSError like Popen.

    A Ctrl-C or SIGTERM arriving while Popen is still setting up (the child already runs)
    would lose the Popen object and leave the child running to its end; it is deferred to
    the moment the child is known here, which then kills and reaps it."""
    from adcut.core.interrupts import interrupts_deferred, stop_if_interrupted

    stop_if_interrupted()  # no new child once stopped (a lost KeyboardInterrupt comes back here)
    proc = None
    try:
        with interrupts_deferred():
            proc = subprocess.Popen(cmd, preexec_fn=_die_with_parent_hook(), **popen_kwargs)
    except BaseException:
        if proc is not None:
            reap(proc)
        raise
    return proc


def reap(proc: subprocess.Popen) -> None:
    """Kill `proc` if it still runs and wait for it, so no zombie or orphan is left. A Ctrl-C
    or SIGTERM arriving meanwhile (a second one, or one delivered again) takes effect once
    the child is gone: raised between the check and the kill it would leave ffmpeg running."""
    from adcut.core.interrupts import interrupts_deferred

    with interrupts_deferred():
        if proc.poll() is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
        proc.wait()


# A fontconfig configuration that lists no font folders. libass (ffmpeg's subtitles filter)
# asks fontconfig for a caption's family first, then the fonts adcut hands it (`fontsdir`):
# with the system's own Noto Sans CJK installed (fonts-noto-cjk, common on Linux desktops) it
# took the system's real Bold face instead of the bundled font adcut measured the lines with,
# so captions came out wider than their boxes. Every font libass may use is in fontsdir.
_FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


@functools.lru_cache(maxsize=1)
def child_env() -> dict[str, str] | None:
    """The environment of ffmpeg children: this process's, with FONTCONFIG_FILE naming the
    empty configuration above (written once to adcut's cache folder). None (inherit) when the
    cache folder cannot be written."""
    from adcut.core.files import cache_dir, write_atomic

    folder = cache_dir() / "fontconfig"
    conf = folder / "fonts.conf"
    text = _FONTCONFIG.format(cache=str(folder / "cache"))
    try:
        if not conf.is_file() or conf.read_text(encoding="utf-8") != text:
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(conf, text.encode("utf-8"))
    except OSError as exc:
        log.debug("no private fontconfig file (%s): ffmpeg sees the system's fonts", exc)
        return None
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


def run_child(cmd: list[str], *, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
              timeout: float | None = None) -> subprocess.CompletedProcess:
    """subprocess.run for ffmpeg/ffprobe children: started by `spawn`, and killed and reaped
    when the wait is interrupted (KeyboardInterrupt, SIGTERM turned into one, a timeout: the
    exception goes on). stdout/stderr are bytes when piped."""
    deadline = None if timeout is None else time.monotonic() + timeout
    proc = spawn(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=child_env())
    try:
        # Waits in short slices: a signal sent to the process may be taken by another thread
        # (rich's refresh, a decoder's worker), and Python runs its handler in the main thread
        # only when that thread wakes up; a plain blocking read would hold Ctrl-C or SIGTERM
        # back until ffmpeg ends on its own.
        while True:
            step = _WAIT_SLICE_S if deadline is None else min(
                _WAIT_SLICE_S, max(0.0, deadline - time.monotonic()))
            try:
                out, err = proc.communicate(timeout=step)
                break
            except subprocess.TimeoutExpired:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
    except BaseException:
        reap(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@dataclass(frozen=True)
class Ffmpeg:
    """An ffmpeg binary and what it can do."""

    path: str
    version: str  # "9.0.2"; the raw version token for builds without a release number
    origin: str  # "imageio-ffmpeg" | "system" | "env"
    filters: frozenset[str]

    def has(self, filter_name: str) -> bool:
        return filter_name in self.filters

    @property
    def version_tuple(self) -> tuple[int, ...] | None:
        """(9, 0, 2), or None for a git build whose release is unknown."""
        return parse_version_tuple(self.version)


def parse_version(version_output: str) -> str:
    """The version from `ffmpeg -version` output: "n9.0.2-17-g..." -> "9.0.2",
    "5.1.9-0+deb12u1" -> "5.1.9", git builds ("N-112233-gabc") are kept as they are."""
    m = re.search(r"version\s+(\S+)", version_output)
    if not m:
        return "unknown"
    token = m.group(1)
    rel = re.match(r"n?(\d+(?:\.\d+)+)", token)
    return rel.group(1) if rel else token


def parse_version_tuple(version: str) -> tuple[int, ...] | None:
    if re.fullmatch(r"\d+(?:\.\d+)+", version):
        return tuple(int(p) for p in version.split("."))
    return None


def parse_filters(filters_output: str) -> frozenset[str]:
    """Filter names from `ffmpeg -filters` output (lines like ' TS xfade  VV->V  ...')."""
    names = set()
    for line in filters_output.splitlines():
        m = re.match(r"^\s*[T.][S.][C.]?\s+(\w+)\s+\S+->\S+", line)
        if m:
            names.add(m.group(1))
    return frozenset(names)


def _inspect(path: str, origin: str) -> Ffmpeg:
    """The binary's version and filter list: run for them once per binary file, then
    remembered by its identity (adcut.core.memo; the two runs took 0.1 s of every command)."""
    from adcut.core.memo import remembered_json

    found = remembered_json("ffmpeg-binary", [], [path], lambda: _run_for_facts(path))
    return Ffmpeg(path=path, version=found["version"], origin=origin,
                  filters=frozenset(found["filters"]))


def _run_for_facts(path: str) -> dict:
    try:
        ver = run_child([path, "-hide_banner", "-version"], timeout=30)
        fil = run_child([path, "-hide_banner", "-filters"], timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DependencyError(
            f"{path}: cannot run ffmpeg ({e})",
            hint=f"reinstall imageio-ffmpeg or point {ENV_VAR} at a working ffmpeg binary",
        ) from e
    if ver.returncode != 0:
        raise DependencyError(
            f"{path}: `ffmpeg -version` failed with exit code {ver.returncode}",
            hint=f"reinstall imageio-ffmpeg or point {ENV_VAR} at a working ffmpeg binary",
        )
    return {"version": parse_version(ver.stdout.decode("utf-8", "replace")),
            "filters": sorted(parse_filters(fil.stdout.decode("utf-8", "replace")))}


def _prefer_system(bundled: Ffmpeg, system: Ffmpeg) -> bool:
    if not all(system.has(f) for f in REQUIRED_FILTERS):
        return False
    sv, bv = system.version_tuple, bundled.version_tuple
    # A git build of unknown release cannot be shown to be newer, so it is not preferred.
    return sv is not None and (bv is None or sv > bv)


@functools.cache
def find_ffmpeg() -> Ffmpeg:
    """The ffmpeg adcut runs: $ADCUT_FFMPEG, else imageio-ffmpeg's binary, else a system one
    (the system one wins when it is newer and has all REQUIRED_FILTERS). Cached."""
    env = os.environ.get(ENV_VAR)
    if env:
        resolved = shutil.which(env) or (env if os.path.isfile(env) else None)
        if resolved is None:
            raise DependencyError(
                f"{ENV_VAR}={env}: no such ffmpeg binary",
                hint=f"set {ENV_VAR} to the full path of an ffmpeg executable or unset it",
            )
        ff = _inspect(resolved, "env")
        log.debug("ffmpeg %s from %s: %s", ff.version, ENV_VAR, ff.path)
        return ff

    bundled: Ffmpeg | None = None
    try:
        import imageio_ffmpeg

        bundled = _inspect(imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg")
    except (ImportError, RuntimeError, DependencyError) as e:
        log.debug("imageio-ffmpeg binary unavailable: %s", e)

    system_path = shutil.which("ffmpeg")
    system: Ffmpeg | None = None
    if system_path and (bundled is None or os.path.realpath(system_path) != os.path.realpath(bundled.path)):
        try:
            system = _inspect(system_path, "system")
        except DependencyError as e:
            log.debug("system ffmpeg unusable: %s", e)

    if bundled is not None and system is not None and _prefer_system(bundled, system):
        chosen = system
    else:
        chosen = bundled or system
    if chosen is None:
        raise DependencyError(
            "ffmpeg not found: imageio-ffmpeg is missing and there is no ffmpeg on PATH",
            hint="pip install imageio-ffmpeg==0.8.1 (or set ADCUT_FFMPEG to an ffmpeg binary)",
        )
    missing = [f for f in REQUIRED_FILTERS if not chosen.has(f)]
    if missing:
        log.warning("ffmpeg %s (%s) lacks filters: %s", chosen.version, chosen.path, ", ".join(missing))
    log.debug("ffmpeg %s (%s): %s", chosen.version, chosen.origin, chosen.path)
    return chosen


def ffmpeg_features(ff: Ffmpeg) -> dict[str, bool]:
    """What the binary can do, by the names adcut's features need."""
    return {
        "libass": ff.has("subtitles") and ff.has("ass"),
        "xfade": ff.has("xfade"),
        "sidechaincompress": ff.has("sidechaincompress"),
        "loudnorm": ff.has("loudnorm"),
        "ebur128": ff.has("ebur128"),
    }


# Lines ffmpeg prints after the real error; they name no cause.
_GENERIC = re.compile(
    r"^(conversion failed|error opening (input|output) files?\b|error initializing (output stream|"
    r"filters?|complex filters?)|error while (opening encoder|filtering)|task finished with error|"
    r"terminating thread|nothing was written into output|exiting normally|"
    r"error sending frames to consumers|could not open encoder before eof|"
    r"error (closing|writing) (trailer|output)|frame=|size=|video:|\[q\] command|"
    # the encoders' statistics, printed as they close (x264, aac): never a cause
    r"frame [IPB]:|consecutive B-frames|mb [IPB] |8x8 transform|coded y,u,v|i(4|8|16) v,h|"
    r"weighted P-Frames|ref [PB] L[01]|kb/s:|Qavg:)",
    re.IGNORECASE,
)
# ffmpeg's words for "the disk is full" (strerror of ENOSPC, EDQUOT and EFBIG).
_NO_SPACE = re.compile(r"No space left on device|Disk quota exceeded|File too large")
_PREFIX = re.compile(r"^(\[[^\]]+ @ (0x)?[0-9a-fA-F]+\]\s*)+")


def last_error_line(stderr: str) -> str:
    """The last line of ffmpeg's stderr that says what went wrong, without its "[x @ 0x..]" tag."""
    lines = [ln.strip() for ln in stderr.replace("\r", "\n").splitlines()]
    fallback = ""
    for raw in reversed(lines):
        if not raw:
            continue
        text = _PREFIX.sub("", raw)
        if not fallback:
            fallback = text
        if text and not _GENERIC.match(text):
            return text
    return fallback or "ffmpeg failed without a message"


def _run_with_progress(
    cmd: list[str], duration_s: float | None, on_progress: Callable[[float], None]
) -> tuple[int, str]:
    proc = spawn(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 env=child_env())
    assert proc.stdout is not None and proc.stderr is not None
    chunks: list[bytes] = []
    stderr_pipe = proc.stderr
    # Drain stderr on a thread so a chatty ffmpeg never blocks on a full pipe.
    reader = threading.Thread(target=lambda: chunks.append(stderr_pipe.read()), daemon=True)
    reader.start()
    try:
        for line in proc.stdout:
            key, _, value = line.decode("ascii", "replace").strip().partition("=")
            if key == "out_time_us" and value.isdigit():
                done_s = int(value) / 1e6
                on_progress(min(done_s, duration_s) if duration_s is not None else done_s)
        returncode = proc.wait()
    finally:
        # on_progress raised (the user cancelled) or the wait was interrupted: no ffmpeg left
        reap(proc)
        proc.stdout.close()
        reader.join()
    return returncode, b"".join(chunks).decode("utf-8", "replace")


def describe_command(args: list[str]) -> str:
    """"in.mp4 -> out.mp4" for an error message: the first file input and the output."""
    inputs = [
        args[i + 1]
        for i in range(len(args) - 1)
        if args[i] == "-i" and not (i >= 2 and args[i - 2] == "-f" and args[i - 1] == "lavfi")
    ]
    output = args[-1] if args and args[-1] not in ("-", "pipe:1", "/dev/null") else None
    parts = [p for p in (inputs[0] if inputs else None, output) if p]
    return " -> ".join(parts) if parts else "ffmpeg command"


def run_ffmpeg(
    args: list[str],
    *,
    duration_s: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    writing: str | os.PathLike | None = None,
) -> str:
    """Run `ffmpeg -hide_banner -nostdin -nostats <args>` and return its stderr.

    Never adds `-y`: callers that overwrite say so. With `on_progress`, ffmpeg reports through
    `-progress pipe:1` (so the output must not be stdout) and `on_progress(seconds_done)` is
    called as output time advances, clamped to `duration_s` when given, and with `duration_s`
    once more at the end. Raises MediaError quoting ffmpeg's error on failure, and OutputError
    when the disk filled up: `writing` names the file the user asked for (ffmpeg itself may be
    writing a temporary file beside it).
    """
    ff = find_ffmpeg()
    cmd = [ff.path, "-hide_banner", "-nostdin", "-nostats"]
    if on_progress is not None:
        cmd += ["-progress", "pipe:1"]
    cmd += list(args)
    log.debug("run: %s", subprocess.list2cmdline(cmd))

    if on_progress is None:
        proc = run_child(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        returncode, stderr = proc.returncode, proc.stderr.decode("utf-8", "replace")
    else:
        returncode, stderr = _run_with_progress(cmd, duration_s, on_progress)

    # ffmpeg 9 refuses to overwrite (no -y, no stdin to ask) yet exits with status 0.
    exists = re.search(r"File '(.+)' already exists\. Exiting", stderr)
    if exists:
        raise MediaError(
            f"{exists.group(1)}: already exists; ffmpeg did not overwrite it",
            hint="remove the file or choose another output name",
        )
    if returncode != 0:
        log.debug("ffmpeg exited with %d:\n%s", returncode, stderr)
        if _NO_SPACE.search(stderr):
            target = os.fspath(writing) if writing is not None else (args[-1] if args else "")
            raise OutputError(f"no space left on the device while writing {target}",
                              hint="free space or choose another -o")
        raise MediaError(
            f"ffmpeg failed ({describe_command(args)}): {last_error_line(stderr)}",
            hint="the full command and ffmpeg log are logged at DEBUG level by adcut.media.ffmpeg",
        )
    if on_progress is not None and duration_s is not None:
        on_progress(duration_s)
    return stderr
