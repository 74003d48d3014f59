"""The command line's one boundary: what every error, signal and exit code looks like."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adcut.cli import app
from adcut.cli.boundary import one_line, os_fault_line
from adcut.core.interrupts import interrupt_handled, raise_interrupt

hostile = pytest.mark.hostile


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _commands(group, prefix=()):
    """(path, click command) of every command the CLI offers, sub-groups included."""
    import typer

    cmd = typer.main.get_command(group) if not hasattr(group, "commands") else group
    for name, sub in cmd.commands.items():
        if hasattr(sub, "commands"):
            yield from _commands(sub, (*prefix, name))
        else:
            yield (*prefix, name), sub


def test_every_command_is_guarded():
    """Commands are registered through App.command, which turns Ctrl-C into a line and an
    exit code: a command added any other way would not be."""
    found = dict(_commands(app))
    assert {("ingest",), ("render",), ("edit",), ("library", "info")} <= set(found)
    for path, command in found.items():
        assert getattr(command.callback, "adcut_guarded", False), " ".join(path)


def test_one_line_removes_line_breaks_and_cuts_long_text():
    assert one_line("mapping values\n  are not allowed\there") == "mapping values are not allowed here"
    long = one_line("x" * 100_000)
    assert len(long) <= 400 and " ... " in long


@hostile("message")
def test_usage_mistakes_are_one_line_with_exit_2():
    result = invoke("edit", "--library", "lib", "--brief", "b", "--duration", "abc")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "--duration" in result.stderr
    assert "adcut edit --help" in result.stderr
    result = invoke("no-such-command")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    result = invoke("edit", "--library", "lib", "--brief", "b", "x" * 5000)  # a stray argument
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert len(result.stderr) <= 420 and result.stderr.rstrip().endswith("--help)")


@hostile("traceback")
def test_a_bug_is_one_line_with_its_traceback_in_a_log(monkeypatch, tmp_path):
    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path))

    def broken():
        raise ValueError("something adcut did not expect")

    monkeypatch.setattr("adcut.doctor.run_checks", broken)
    result = invoke("doctor")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("internal error: ValueError: something adcut did not expect")
    logs = list((tmp_path / "logs").glob("adcut-crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in result.stderr
    text = logs[0].read_text()
    assert "Traceback" in text and "something adcut did not expect" in text and "doctor" in text


@hostile("message")
def test_a_full_disk_is_said_as_a_fault_not_a_bug(monkeypatch, tmp_path):
    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path))

    def full():
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/media/card/ad.mp4")

    monkeypatch.setattr("adcut.doctor.run_checks", full)
    result = invoke("doctor")
    assert result.exit_code == 2
    assert result.stderr == ("error: no space left on the device: /media/card/ad.mp4 (free some "
                             "space, then run the same command again)\n")
    assert not (tmp_path / "logs").exists()


def test_an_unknown_os_error_is_a_bug():
    assert os_fault_line(OSError(errno.EBADF, "Bad file descriptor")) is None


@hostile("message")
def test_a_file_name_that_is_not_utf8_is_printed_escaped(tmp_path):
    name = os.fsdecode(b"caf\xe9.json")  # Latin-1 bytes: a surrogate in Python's str
    result = subprocess.run([sys.executable, "-m", "adcut", "render", str(tmp_path / name),
                             "-o", str(tmp_path / "ad.mp4")], capture_output=True)
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr
    assert b"caf\\xe9.json" in result.stderr


_SLOW_DOCTOR = """
import time, adcut.doctor, adcut.cli
def slow():
    print("started", flush=True)
    time.sleep(30)
adcut.doctor.run_checks = slow
import sys
sys.argv = ["adcut", "doctor"]
adcut.cli.main()
"""


@hostile("signal")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_a_command_with_exit_130(signum):
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_DOCTOR], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    started = time.monotonic()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130 and time.monotonic() - started < 5
    assert stderr.startswith("interrupted: ") and stderr.count("\n") == 1


def test_ctrl_c_inside_the_import_machinery_comes_a_moment_later():
    """A KeyboardInterrupt raised inside importlib's own code can leave the global import lock
    held (CPython reports it as ignored), and a render then hung forever: there the handler
    sends the signal again a few milliseconds later instead; anywhere else it raises at once."""
    in_importlib = {}
    exec(compile("import sys\nframe = sys._getframe()", "<frozen importlib._bootstrap>", "exec"),
         in_importlib)
    previous = signal.signal(signal.SIGINT, raise_interrupt)
    try:
        raise_interrupt(signal.SIGINT, in_importlib["frame"])  # nothing raised here
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            time.sleep(2)  # the signal again, a moment later, waking the main thread
        assert time.monotonic() - started < 1.0
        with pytest.raises(KeyboardInterrupt):
            raise_interrupt(signal.SIGINT, sys._getframe())
    finally:
        signal.signal(signal.SIGINT, previous)
        interrupt_handled()


def test_a_ctrl_c_lost_on_its_way_up_still_stops_the_command(tmp_path):
    """A KeyboardInterrupt raised where C code calls back into Python is reported as ignored
    and lost (seen inside pydantic-core's validation: the render then finished, exit 0). It is
    raised again before the next child process starts and before outputs are put in place."""
    from adcut.core.outputs import OutputGroup
    from adcut.media.ffmpeg import find_ffmpeg, spawn

    out = tmp_path / "ad.mp4"
    try:
        try:
            raise_interrupt(signal.SIGINT, sys._getframe())
        except KeyboardInterrupt:
            pass  # swallowed, as an "Exception ignored in" callback does
        with pytest.raises(KeyboardInterrupt):
            spawn([find_ffmpeg().path, "-version"])
        with pytest.raises(KeyboardInterrupt):
            with OutputGroup({"mp4": out}) as group:
                group.write("mp4", b"not to be kept")
                group.commit()
        assert sorted(tmp_path.iterdir()) == []
    finally:
        interrupt_handled()
    with OutputGroup({"mp4": out}) as group:  # handled: work goes on
        group.write("mp4", b"kept")
        group.commit()
    assert out.read_bytes() == b"kept"


def test_an_error_made_of_a_ctrl_c_by_c_code_is_an_interruption(monkeypatch):
    """pydantic-core wraps a KeyboardInterrupt raised while it builds a model in a SchemaError:
    with an interrupt pending, that is "interrupted" (exit 130), not an internal error."""
    from adcut.cli.boundary import run_boundary

    def wrapped(*_args, **_kwargs):
        try:
            raise_interrupt(signal.SIGINT, sys._getframe())
        except KeyboardInterrupt as exc:
            raise RuntimeError("Error building 'model' validator: KeyboardInterrupt") from exc

    monkeypatch.setattr("typer.core.TyperGroup.main", wrapped)
    try:
        assert run_boundary(None, ["doctor"], "adcut", {}) == 130
    finally:
        interrupt_handled()
    monkeypatch.setattr("typer.core.TyperGroup.main",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("a real fault")))
    assert run_boundary(None, ["doctor"], "adcut", {}) == 1
