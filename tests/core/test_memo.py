"""Measurements remembered by what they were measured on (adcut.core.memo)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from adcut.core import memo


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path / "cache"))
    memo.forget()
    yield tmp_path / "cache"
    memo.forget()


def counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_a_measurement_is_made_once_per_file_and_arguments(tmp_path):
    f = tmp_path / "a.wav"
    f.write_bytes(b"x" * 10)
    compute, calls = counting(-17.5)
    assert memo.remembered_json("k", [1.0], [f], compute) == -17.5
    assert memo.remembered_json("k", [1.0], [f], compute) == -17.5
    assert len(calls) == 1
    memo.forget()  # a new process: read back from the disk
    assert memo.remembered_json("k", [1.0], [f], compute) == -17.5 and len(calls) == 1
    # other arguments, another kind: measured
    memo.remembered_json("k", [2.0], [f], compute)
    memo.remembered_json("other", [1.0], [f], compute)
    assert len(calls) == 3


def test_an_edited_file_is_measured_again(tmp_path):
    f = tmp_path / "a.wav"
    f.write_bytes(b"x" * 10)
    compute, calls = counting(None)
    memo.remembered_json("k", [], [f], compute)
    f.write_bytes(b"y" * 11)  # another size
    memo.remembered_json("k", [], [f], compute)
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # same size, newer
    memo.remembered_json("k", [], [f], compute)
    assert len(calls) == 3


def test_arrays_round_trip_and_an_unwritable_cache_still_measures(tmp_path, monkeypatch):
    f = tmp_path / "clip.mp4"
    f.write_bytes(b"x")
    frames = [np.arange(12, dtype=np.uint8).reshape(2, 2, 3), np.ones((2, 2, 3), np.uint8)]
    compute, calls = counting(frames)
    memo.remembered_arrays("frames", [0.5], [f], compute)
    memo.forget()
    back = memo.remembered_arrays("frames", [0.5], [f], compute)
    assert len(calls) == 1 and all(np.array_equal(a, b) for a, b in zip(back, frames))
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("ADCUT_CACHE_DIR", str(blocked))
    memo.forget()
    assert memo.remembered_json("k", [], [f], lambda: 3) == 3


def test_the_disk_cache_keeps_the_most_recently_used_entries_under_its_size(tmp_path):
    import os

    from adcut.core.memo import trim

    for i in range(10):
        (tmp_path / f"e{i}.json").write_bytes(b"x" * 1000)
        os.utime(tmp_path / f"e{i}.json", ns=(i * 10**9, i * 10**9))
    os.utime(tmp_path / "e0.json")  # used just now
    trim(tmp_path, max_bytes=3500)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["e0.json", "e8.json", "e9.json"]
