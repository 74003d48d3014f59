"""One writer at a time per library: a second ingest waits (saying so once), Ctrl-C while it
waits stops it cleanly, and readers never wait."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from adcut.core.errors import LibraryError
from adcut.library.lock import is_locked, library_lock, prepare_library_folder
from tests import synth
from tests.library.helpers import integrity, run

ROOT = Path(__file__).resolve().parents[2]
ADCUT = Path(sys.executable).with_name("adcut")  # the installed console script


def adcut(*args, **kwargs) -> subprocess.Popen:
    """`adcut ARGS` as a separate process running this checkout's code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([str(ADCUT), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


def wait_for_line(stream, needle: str, timeout_s: float = 60.0) -> str:
    """Read `stream` in a thread until a line containing `needle` arrives; return the text."""
    seen: list[str] = []
    found = threading.Event()

    def reader():
        for line in stream:
            seen.append(line)
            if needle in line:
                found.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    assert found.wait(timeout_s), "".join(seen)
    return "".join(seen)


@pytest.fixture(scope="module")
def new_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("new")
    synth.color_shots(d / "one.mp4", ["red", "blue"], [1.0, 1.0], size=(320, 180), audio="none")
    synth.color_shots(d / "two.mp4", ["lime", "red"], [1.0, 1.0], size=(320, 180), audio="none")
    return d


def test_a_second_holder_waits_and_is_told_once(tmp_path):
    lib = prepare_library_folder(tmp_path / "lib")
    told: list[str] = []
    order: list[str] = []
    with library_lock(lib, purpose="first"):
        assert is_locked(lib)

        def second():
            with library_lock(lib, on_wait=told.append):
                order.append("second")

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        order.append("first done")
    thread.join(10)
    assert order == ["first done", "second"]
    assert told == [f"waiting for another adcut writing to {lib} (first, pid {os.getpid()}) "
                    "... (Ctrl-C to stop)"]
    assert not is_locked(lib)


@pytest.mark.hostile("traceback")
def test_a_library_that_cannot_hold_a_lock_is_one_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(LibraryError, match="is a file, not a folder"):
        prepare_library_folder(tmp_path / "file")


@pytest.mark.hostile("bug")
def test_two_ingests_of_the_same_new_files_at_once_both_succeed(new_files, tmp_path):
    lib = tmp_path / "lib"
    procs = [adcut("ingest", new_files, "--library", lib, "--asr", "none", "--json")
             for _ in range(2)]
    results = [(p.wait(300), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, err
        assert "Traceback" not in err and "internal error" not in err
    statuses = sorted(sorted(f["status"] for f in json.loads(out)["files"])
                      for _, out, _ in results)
    assert statuses == [["ingested", "ingested"], ["unchanged", "unchanged"]]
    waited = [err for _, _, err in results if "waiting for another adcut writing to" in err]
    assert len(waited) == 1 and waited[0].count("waiting for another adcut") == 1
    assert integrity(lib) == "ok"
    con = sqlite3.connect(lib / "catalog.sqlite")
    paths = [r[0] for r in con.execute("SELECT path FROM sources")]
    con.close()
    assert sorted(Path(p).name for p in paths) == ["one.mp4", "two.mp4"]


@pytest.mark.hostile("signal")
def test_ctrl_c_while_waiting_for_the_lock_stops_cleanly(new_files, tmp_path):
    lib = prepare_library_folder(tmp_path / "lib")
    with library_lock(lib, purpose="a test"):
        proc = adcut("ingest", new_files, "--library", lib, "--asr", "none")
        said = wait_for_line(proc.stderr, "waiting for another adcut writing to")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
        rest = proc.stderr.read()
    assert code == 130
    lines = (said + rest).splitlines()
    assert len(lines) == 2 and "(a test, pid" in lines[0]
    assert lines[1].startswith("interrupted: stopped while waiting for another adcut")
    assert "nothing was written" in lines[1]
    assert not (lib / "catalog.sqlite").exists()


def test_readers_do_not_wait_for_a_writer(library):
    lib = library
    with library_lock(lib, purpose="a long ingest"):
        started = time.perf_counter()
        assert run("library", "info", lib).exit_code == 0
        assert run("library", "ls", lib).exit_code == 0
        check = run("library", "check", lib)
        assert check.exit_code == 0 and "another adcut is writing" in check.stdout
        assert time.perf_counter() - started < 30

