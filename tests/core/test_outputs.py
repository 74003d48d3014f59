"""OutputGroup: a command's output files written all or none, never over the user's files,
never two commands on the same output at once (real files, real locks, real faults)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from adcut.core.errors import OutputError
from adcut.core.outputs import OutputGroup, leftovers
from tests import faults


def members(folder: Path) -> dict[str, Path]:
    return {"mp4": folder / "ad.mp4", "srt": folder / "ad.srt", "qc": folder / "ad.qc.json"}


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_every_member_appears_at_commit_and_not_before(tmp_path):
    with OutputGroup(members(tmp_path), primary="mp4") as group:
        group.write("srt", b"subs")
        group.write("qc", b"{}")
        group.write("mp4", b"video")
        assert not any((tmp_path / n).exists() for n in ("ad.mp4", "ad.srt", "ad.qc.json"))
        group.commit()
    assert names(tmp_path) == ["ad.mp4", "ad.qc.json", "ad.srt"]  # no lock, no temp left
    assert (tmp_path / "ad.mp4").read_bytes() == b"video"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "ad.srt").stat().st_mode) == 0o666 & ~umask


@pytest.mark.hostile("half-written")
def test_leaving_without_commit_removes_every_temporary_file(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with OutputGroup(members(tmp_path)) as group:
            group.write("srt", b"subs")
            group.temp("mp4").write_bytes(b"half a video")
            (group.temp_dir("mp4") / "part000.mp4").write_bytes(b"x")
            raise KeyboardInterrupt
    assert names(tmp_path) == []


@pytest.mark.hostile("overwrite")
@pytest.mark.parametrize("existing", ["ad.mp4", "ad.srt", "ad.qc.json"])
def test_an_existing_member_is_refused_without_force(tmp_path, existing):
    (tmp_path / existing).write_text("the user's")
    with pytest.raises(OutputError, match="already exists") as err:
        with OutputGroup(members(tmp_path), primary="mp4"):
            pass
    assert "--force" in str(err.value)
    if existing != "ad.mp4":  # a companion says which output it belongs to
        assert "written beside ad.mp4" in str(err.value)
    assert names(tmp_path) == [existing] and (tmp_path / existing).read_text() == "the user's"


def test_force_replaces_and_removes_a_member_this_run_did_not_write(tmp_path):
    for n in ("ad.mp4", "ad.srt"):
        (tmp_path / n).write_text("old")
    with OutputGroup(members(tmp_path), force=True) as group:
        group.write("mp4", b"new")
        group.commit()
    # the old subtitles described the old video: the set on disk is this run's set
    assert names(tmp_path) == ["ad.mp4"] and (tmp_path / "ad.mp4").read_bytes() == b"new"


@pytest.mark.hostile("overwrite")
def test_a_source_is_refused_even_with_force(tmp_path):
    footage = tmp_path / "shoe.mp4"
    footage.write_bytes(b"the user's footage")
    link = tmp_path / "link.mp4"
    link.symlink_to(footage)
    for target in (footage, link):
        with pytest.raises(OutputError, match="own inputs"):
            with OutputGroup({"mp4": target}, force=True, sources=[footage]):
                pass
    assert footage.read_bytes() == b"the user's footage"


@pytest.mark.hostile("overwrite")
def test_a_second_group_on_the_same_output_is_refused_while_the_first_writes(tmp_path):
    with OutputGroup(members(tmp_path), force=True) as first:
        first.write("mp4", b"first")
        with pytest.raises(OutputError, match="being written by another adcut command"):
            with OutputGroup({"other": tmp_path / "other.mp4", "mp4": tmp_path / "ad.mp4"},
                             force=True):
                pass
        assert not (tmp_path / "other.mp4").exists()
        first.commit()
    assert (tmp_path / "ad.mp4").read_bytes() == b"first"


@pytest.mark.hostile("overwrite")
def test_a_command_that_commits_between_the_check_and_the_lock_is_not_overwritten(tmp_path):
    """Checked before the locks and again under them: the other command's fresh output is an
    existing file for this one."""
    out = {"mp4": tmp_path / "ad.mp4"}
    second = OutputGroup(out)
    checks = []

    def check_while_another_command_finishes():
        OutputGroup.check(second)
        if not checks:  # right after the first check passed, another command writes ad.mp4
            with OutputGroup(out) as first:
                first.write("mp4", b"first")
                first.commit()
        checks.append(1)

    second.check = check_while_another_command_finishes
    with pytest.raises(OutputError, match="already exists"):
        with second as group:
            group.write("mp4", b"second")
            group.commit()
    assert (tmp_path / "ad.mp4").read_bytes() == b"first"


def test_a_killed_run_leaves_nothing_the_next_run_does_not_remove(tmp_path):
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from adcut.core.outputs import OutputGroup\n"
        f"group = OutputGroup({{'mp4': Path({str(tmp_path / 'ad.mp4')!r})}}).__enter__()\n"
        "group.temp('mp4').write_bytes(b'half')\n"
        "(group.temp_dir('mp4') / 'part000.mp4').write_bytes(b'x')\n"
        "os.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    (tmp_path / ".ad.mp4.x.12345678.adcut-part.mp4").write_text("another output's")
    left = leftovers(tmp_path / "ad.mp4")
    assert len(left) == 2 and all(".adcut-part" in p.name for p in left)
    with OutputGroup({"mp4": tmp_path / "ad.mp4"}) as group:
        group.write("mp4", b"whole")
        group.commit()
    assert names(tmp_path) == [".ad.mp4.x.12345678.adcut-part.mp4", "ad.mp4"]


@pytest.mark.hostile("message")
def test_a_missing_folder_and_a_folder_as_member_are_refused(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        OutputGroup({"mp4": tmp_path / "nope" / "ad.mp4"}).__enter__()
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        OutputGroup({"mp4": tmp_path / "dir.mp4"}, force=True).__enter__()


@pytest.mark.hostile("traceback")
def test_a_read_only_folder_is_refused_before_anything_is_written(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    with faults.readonly(folder):
        with pytest.raises(OutputError, match="not writable"):
            with OutputGroup(members(folder)):
                pass
    assert names(folder) == []


@pytest.mark.hostile("half-written")
def test_a_full_disk_names_the_member_and_leaves_nothing(tmp_path):
    disk = tmp_path / "disk"
    with faults.small_disk(disk, 256):
        with pytest.raises(OutputError) as err:
            with OutputGroup(members(disk)) as group:
                group.write("srt", b"s" * 1000)
                group.write("mp4", b"v" * 400_000)  # does not fit
        assert str(err.value) == (f"no space left on the device while writing {disk / 'ad.mp4'} "
                                  "(free space or choose another -o)")
        assert names(disk) == []
