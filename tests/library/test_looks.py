"""The looks ingest keeps (four small frames a second of each footage file) and the crops an
edit chooses from them: the renderer's own choice, written into the plan, with no decode."""

from __future__ import annotations

import os

import numpy as np
import pytest

from adcut.core.plan import EditPlan
from adcut.library.looks import LooksWriter, chosen_crops, looks_path, read_looks
from tests import synth
from tests.library.helpers import run, source_ids


def frames(n: int, size=(384, 216)) -> list[np.ndarray]:
    """n frames, frame i filled with the grey level 8 * i (told apart after JPEG)."""
    w, h = size
    return [np.full((h, w, 3), 8 * i, np.uint8) for i in range(n)]


def written(writer: LooksWriter, tmp_path, source_id: str = "f0"):
    path = looks_path(tmp_path, source_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(writer.finish())
    return read_looks(tmp_path, source_id)


def test_the_looks_are_the_frames_shown_at_each_quarter_second(tmp_path):
    writer = LooksWriter(1280, 720)
    for i, rgb in enumerate(frames(30)):  # one second at 30 fps
        writer.offer(i / 30, 1 / 30, rgb)
    looks = written(writer, tmp_path)
    # shown at 0, 0.25, 0.5, 0.75 s: frames 0, 7 (0.233-0.267 s), 15 and 22 (0.733-0.767 s)
    assert np.allclose(looks.times_s, [0, 7 / 30, 15 / 30, 22 / 30], atol=1e-6)
    assert [round(looks.frame(i).mean() / 8) for i in range(4)] == [0, 7, 15, 22]
    assert looks.frame(0).shape == (90, 160, 3)  # the size reframing judges
    assert (looks.source_width, looks.source_height) == (1280, 720)


def test_a_slow_source_gives_each_of_its_frames_once(tmp_path):
    writer = LooksWriter(640, 360)
    for i, rgb in enumerate(frames(4)):  # 2 fps: each frame is shown at two quarter seconds
        writer.offer(i / 2, 1 / 2, rgb)
    assert np.allclose(written(writer, tmp_path).times_s, [0, 0.5, 1.0, 1.5])


def test_a_shots_frames_are_the_looks_shown_across_its_range(tmp_path):
    writer = LooksWriter(1280, 720)
    for i, rgb in enumerate(frames(30)):
        writer.offer(i / 8, 1 / 8, rgb)  # 8 fps: looks are every other frame
    looks = written(writer, tmp_path)
    got = looks.frames_between(1.0, 1.5)  # at 1.0, 1.5 and 2.0 s: frames 8, 12, 16
    assert [round(f.mean() / 8) for f in got] == [8, 12, 16]
    # a range shorter than a look's spacing gets the one frame shown over it, once
    assert [round(f.mean() / 8) for f in looks.frames_between(1.3, 0.1)] == [10]


def test_looks_of_another_version_or_torn_are_not_used(tmp_path):
    writer = LooksWriter(640, 360)
    for i, rgb in enumerate(frames(8)):
        writer.offer(i / 4, 1 / 4, rgb)
    path = looks_path(tmp_path, "f0")
    path.parent.mkdir(parents=True)
    data = writer.finish()
    path.write_bytes(data[: len(data) // 2])
    assert read_looks(tmp_path, "f0") is None
    assert read_looks(tmp_path, "f-none") is None
    with np.load(__import__("io").BytesIO(data)) as arrays:
        fields = dict(arrays)
    fields["version"] = np.int32(99)
    np.savez(path, **fields)
    assert read_looks(tmp_path, "f0") is None


def test_ingest_keeps_four_looks_a_second_and_check_knows_them(library):
    ids = source_ids(library)
    looks = read_looks(library, ids["a"])  # a.mp4: two 1 s shots at 320x180
    assert len(looks.times_s) == 8 and looks.frame(0).shape == (90, 160, 3)
    yellow, purple = looks.frame(0).mean(axis=(0, 1)), looks.frame(7).mean(axis=(0, 1))
    assert yellow[2] < 100 < yellow[0] and purple[1] < 100 < purple[2]
    assert run("library", "check", library).exit_code == 0
    (library / "looks" / "f-stray.npz").write_bytes(b"x")
    result = run("library", "check", library)
    assert result.exit_code == 1 and "looks/f-stray.npz" in result.output


def test_removing_a_source_removes_its_looks(library):
    from adcut.library.ingest import remove_source_files

    sid = source_ids(library)["b"]
    assert looks_path(library, sid).exists()
    remove_source_files(library, sid)
    assert not looks_path(library, sid).exists()


@pytest.fixture(scope="module")
def subject_right(tmp_path_factory):
    """A 640x360 clip whose moving, textured subject is on the right of a black frame,
    ingested; and a 9:16 plan of one shot of it."""
    root = tmp_path_factory.mktemp("looks")
    footage = root / "footage"
    footage.mkdir()
    clip = footage / "right.mp4"
    synth.ffmpeg("-f", "lavfi", "-i", "color=c=black:s=640x360:r=25:d=3[bg];"
                 "testsrc2=s=160x160:r=25:d=3[fg];[bg][fg]overlay=x=440:y=100",
                 "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip))
    lib = root / "lib"
    assert run("ingest", footage, "--library", lib, "--asr", "none").exit_code == 0
    plan = EditPlan.model_validate({
        "aspect": "9:16", "shots": [{"source": str(clip), "in_s": 0.5, "out_s": 2.5}]})
    return lib, clip, plan


def test_an_edit_chooses_the_renderers_crop_from_the_looks(subject_right, monkeypatch):
    from adcut.render import reframe

    lib, clip, plan = subject_right
    decoded = []
    monkeypatch.setattr(reframe, "_decode_shot_frames", lambda *a: decoded.append(a) or [])
    chosen = chosen_crops(plan, lib).shots[0].reframe
    assert not decoded  # chosen without decoding the footage
    monkeypatch.undo()
    frames = reframe._decode_shot_frames(clip, 0.5, 2.0, 3, 160)  # what the renderer judges
    mode, cx, cy = reframe.choose_reframe(reframe.saliency_map(frames), 640, 360, 1080, 1920)
    assert chosen.mode == "auto" and mode == "crop"  # a crop, still bounded by the renderer
    assert chosen.center_x > 0.7 and abs(chosen.center_x - cx) < 0.02
    assert abs(chosen.center_y - cy) < 0.02


def test_a_source_changed_since_ingest_or_without_looks_is_left_to_the_renderer(
        subject_right, tmp_path):
    import shutil

    lib, clip, plan = subject_right
    copy = tmp_path / "lib"
    shutil.copytree(lib, copy)
    shutil.rmtree(copy / "looks")  # a library an older adcut ingested
    assert chosen_crops(plan, copy) == plan
    st = clip.stat()
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    try:
        assert chosen_crops(plan, lib) == plan
    finally:
        os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns))
    square = plan.model_copy(update={"aspect": "16:9"})  # the source's aspect: nothing to choose
    assert chosen_crops(square, lib) == square
