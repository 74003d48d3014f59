"""The ffmpeg binary adcut finds and how it runs it (the real binary, no mocks)."""

from __future__ import annotations

import pytest

from adcut.core.errors import DependencyError, MediaError
from adcut.media import ffmpeg as ffm
from adcut.media.ffmpeg import REQUIRED_FILTERS, Ffmpeg, ffmpeg_features, find_ffmpeg, run_ffmpeg


def test_bundled_ffmpeg_is_found_with_every_required_filter():
    ff = find_ffmpeg()
    assert ff.origin in ("imageio-ffmpeg", "system")
    assert ff.version_tuple is not None and ff.version_tuple >= (5, 1)
    assert all(ff.has(f) for f in REQUIRED_FILTERS)
    assert ffmpeg_features(ff) == {
        "libass": True, "xfade": True, "sidechaincompress": True, "loudnorm": True, "ebur128": True,
    }
    assert find_ffmpeg() is ff  # cached


@pytest.mark.parametrize(
    "banner, version",
    [
        ("ffmpeg version n9.0.2-17-g2a571b6068-20260930 Copyright (c) 2000-2026", "9.0.2"),
        ("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2025", "5.1.9"),
        ("ffmpeg version 7.1 Copyright", "7.1"),
        ("ffmpeg version N-112233-gabcdef0 Copyright", "N-112233-gabcdef0"),
        ("ffmpeg version 2024-01-01-git-abc-full_build Copyright", "2024-01-01-git-abc-full_build"),
    ],
)
def test_version_is_parsed_from_release_distro_and_git_builds(banner, version):
    assert ffm.parse_version(banner) == version


def test_filter_list_is_parsed_in_old_and_new_layouts():
    text = (
        "Filters:\n  T.. = Timeline support\n ------\n"
        " TS aap               AA->A      Apply Affine Projection\n"
        " .S xfade             VV->V      Cross fade\n"
        " ..C ebur128          A->N       EBU R128 scanner.\n"  # ffmpeg 5 has a third flag column
        " ... subtitles        V->V       Render text subtitles\n"
    )
    assert ffm.parse_filters(text) == {"aap", "xfade", "ebur128", "subtitles"}


def _ff(version: str, filters=REQUIRED_FILTERS) -> Ffmpeg:
    return Ffmpeg(path="/x", version=version, origin="system", filters=frozenset(filters))


def test_system_ffmpeg_is_preferred_only_when_newer_and_complete():
    bundled = _ff("9.0.2")
    assert ffm._prefer_system(bundled, _ff("9.1"))
    assert not ffm._prefer_system(bundled, _ff("9.0.2"))
    assert not ffm._prefer_system(bundled, _ff("5.1.9"))
    assert not ffm._prefer_system(bundled, _ff("10.0", filters=("xfade", "loudnorm")))
    assert not ffm._prefer_system(bundled, _ff("N-112233-gabcdef0"))  # unknown release


def test_env_var_overrides_and_a_bad_value_is_a_dependency_error(monkeypatch):
    real = find_ffmpeg().path
    try:
        monkeypatch.setenv("ADCUT_FFMPEG", real)
        find_ffmpeg.cache_clear()
        assert find_ffmpeg().origin == "env" and find_ffmpeg().path == real
        monkeypatch.setenv("ADCUT_FFMPEG", "/nowhere/ffmpeg")
        find_ffmpeg.cache_clear()
        with pytest.raises(DependencyError, match="ADCUT_FFMPEG=/nowhere/ffmpeg"):
            find_ffmpeg()
    finally:
        monkeypatch.delenv("ADCUT_FFMPEG")
        find_ffmpeg.cache_clear()


def test_run_reports_progress_in_seconds_and_returns_stderr(tmp_path):
    out = tmp_path / "out.mp4"
    seen: list[float] = []
    stderr = run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=3",
         "-c:v", "libx264", "-preset", "ultrafast", str(out)],
        duration_s=3.0,
        on_progress=seen.append,
    )
    assert out.stat().st_size > 0
    assert "libx264" in stderr
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(3.0)
    assert all(0 <= s <= 3.0 for s in seen)


def test_never_overwrites_unless_asked(tmp_path):
    out = tmp_path / "out.wav"
    out.write_bytes(b"keep me")
    with pytest.raises(MediaError, match="already exists"):
        run_ffmpeg(["-f", "lavfi", "-i", "sine=d=0.1", str(out)])
    assert out.read_bytes() == b"keep me"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "sine=d=0.1", str(out)])
    assert out.read_bytes() != b"keep me"


def test_failure_quotes_the_meaningful_error_line(tmp_path):
    with pytest.raises(MediaError) as e:
        run_ffmpeg(["-f", "lavfi", "-i", "color=d=0.1", "-vf", "nosuchfilter", "-f", "null", "-"])
    assert "No such filter: 'nosuchfilter'" in e.value.message
    # libx264 explains itself first, then ffmpeg adds several generic lines: the first is quoted.
    out = tmp_path / "odd.mp4"
    with pytest.raises(MediaError) as e:
        run_ffmpeg(["-f", "lavfi", "-i", "color=s=321x241:d=0.1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out)])
    assert "width not divisible by 2 (321x241)" in e.value.message
    assert str(out) in e.value.message
    with pytest.raises(MediaError, match=r"missing\.mp4.*No such file or directory"):
        run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"])


# A disk that filled up while x264 and aac wrote an MP4 (ffmpeg 9): the cause comes before
# the encoders' statistics.
FULL_DISK_STDERR = """\
[out#0/mp4 @ 0x55b68d58ae00] Error writing trailer: No space left on device
[out#0/mp4 @ 0x55b68d58ae00] Error closing file: No space left on device
[out#0/mp4 @ 0x55b68d58ae00] video:147KiB audio:254KiB subtitle:0KiB other streams:0KiB global headers:0KiB muxing overhead: unknown
frame=  750 fps=208 q=-1.0 Lsize=     256KiB time=00:00:30.00 bitrate=  69.9kbits/s speed=8.31x
[libx264 @ 0x55b68d58c640] frame I:3     Avg QP:13.38  size:  5676
[libx264 @ 0x55b68d58c640] frame P:189   Avg QP:14.52  size:   468
[libx264 @ 0x55b68d58c640] consecutive B-frames:  0.8%  0.0%  0.0% 99.2%
[libx264 @ 0x55b68d58c640] mb I  I16..4: 53.9% 34.6% 11.5%
[libx264 @ 0x55b68d58c640] mb B  I16..4:  0.2%  0.2%  0.0%  B16..8:  2.2%  0.0%  0.0%  direct: 0.0%
[libx264 @ 0x55b68d58c640] 8x8 transform intra:37.9% inter:92.5%
[libx264 @ 0x55b68d58c640] coded y,u,v intra: 3.8% 3.3% 3.1% inter: 0.1% 0.1% 0.1%
[libx264 @ 0x55b68d58c640] i16 v,h,dc,p: 77% 14%  0%  9%
[libx264 @ 0x55b68d58c640] i8 v,h,dc,ddl,ddr,vr,hd,vl,hu: 51% 17% 32%  0%  0%  0%  0%  0%  0%
[libx264 @ 0x55b68d58c640] i4 v,h,dc,ddl,ddr,vr,hd,vl,hu: 31% 54% 12%  1%  0%  1%  0%  1%  0%
[libx264 @ 0x55b68d58c640] Weighted P-Frames: Y:0.0% UV:0.0%
[libx264 @ 0x55b68d58c640] ref P L0: 70.0%  3.8% 20.3%  6.0%
[libx264 @ 0x55b68d58c640] ref B L1: 94.7%  5.3%
[libx264 @ 0x55b68d58c640] kb/s:40.01
[aac @ 0x55b68d592580] Qavg: 218.999
Conversion failed!
"""


@pytest.mark.hostile("message")
def test_the_encoders_statistics_are_never_quoted_as_the_error():
    assert ffm.last_error_line(FULL_DISK_STDERR) == "Error closing file: No space left on device"


@pytest.mark.hostile("message")
def test_a_disk_that_fills_up_during_an_encode_is_said_so(tmp_path):
    from adcut.core.errors import OutputError
    from tests import faults

    disk = tmp_path / "disk"
    with faults.small_disk(disk, 128):
        with pytest.raises(OutputError) as e:
            run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4", "-c:v", "libx264",
                        "-preset", "ultrafast", str(disk / ".x.part.mp4")],
                       writing=disk / "ad.mp4")
    assert str(e.value) == (f"no space left on the device while writing {disk / 'ad.mp4'} "
                            "(free space or choose another -o)")


@pytest.mark.hostile("signal")
def test_an_ffmpeg_child_dies_with_a_killed_adcut(tmp_path):
    """kill -9 gives adcut no chance to clean up: the kernel kills its ffmpeg (PDEATHSIG)."""
    import os
    import signal
    import subprocess
    import sys

    from tests.render.procs import alive, children, wait_for

    script = (
        "import sys\n"
        "from adcut.media.ffmpeg import run_ffmpeg\n"
        # no progress pipe: a quiet ffmpeg never learns by a broken pipe that adcut is gone
        "run_ffmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25:d=60', '-f', 'null', '-'])\n")
    from pathlib import Path

    proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    child: list[int] = []
    try:
        child = wait_for(lambda: children(proc.pid, having="testsrc2"), 30)
        assert child, "ffmpeg never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        gone = wait_for(lambda: not any(alive(pid) for pid in child), 2.0)
        assert gone, "ffmpeg outlived its killed parent by more than 2 s"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in child:  # an orphan left by a failure of this test
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.hostile("signal")
def test_an_interrupted_wait_kills_and_reaps_ffmpeg():
    """Ctrl-C (or SIGTERM, which adcut turns into one) while ffmpeg runs without a progress
    callback: the child is killed and reaped before the interrupt goes on."""
    import os
    import signal
    import threading
    import time

    from tests.render.procs import children, wait_for

    started: list[int] = []

    def interrupt_when_ffmpeg_runs():
        found = wait_for(lambda: children(os.getpid(), having="testsrc2=s=160x120:r=25:d=60"), 30)
        if found:
            started.extend(found)
            # Delivered to this thread, not the main one, as a terminal's Ctrl-C or a
            # supervisor's SIGTERM may be: Python still raises it in the main thread.
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = threading.Thread(target=interrupt_when_ffmpeg_runs)
    watcher.start()
    started_s = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_ffmpeg(["-re", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=60", "-f", "null",
                        "-"])
    finally:
        watcher.join()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started_s < 10  # not held back until ffmpeg's 60 s are over
    assert started, "ffmpeg never started"
    still_there = children(os.getpid(), having="testsrc2=s=160x120:r=25:d=60", zombies=True)
    assert not set(started) & set(still_there)  # killed, and reaped


@pytest.mark.hostile("signal")
def test_every_module_that_runs_ffmpeg_starts_it_through_spawn():
    """One way to start ffmpeg (adcut.media.ffmpeg.spawn), so every child dies with adcut."""
    import re
    from pathlib import Path

    import adcut

    root = Path(adcut.__file__).parent
    direct = re.compile(r"subprocess\.(Popen|run|call|check_call|check_output)\(")
    offenders = [str(path.relative_to(root)) for path in sorted(root.rglob("*.py"))
                 if path.name != "ffmpeg.py" or path.parent.name != "media"
                 if "find_ffmpeg" in (text := path.read_text(encoding="utf-8"))
                 and direct.search(text)]
    assert offenders == []
