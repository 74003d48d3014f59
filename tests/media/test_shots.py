"""Shot cuts on generated colour-segment video (within one frame of the truth) and the pure
splitting of shot lists into clips."""

from __future__ import annotations

import pytest

from adcut.media.frames import analysis_size, iter_frames
from adcut.media.probe import probe_media
from adcut.media.shots import ShotDetector, split_long_shots
from tests import synth


def detect(path, **kw) -> list[int]:
    info = probe_media(path)
    w, h = analysis_size(info.video)
    det = ShotDetector(info.video.fps, **kw)
    for idx, _, rgb in iter_frames(path, info, width=w, height=h):
        det.push(idx, rgb)
    return det.finish()


@pytest.mark.parametrize("texture", [False, True])
def test_cuts_within_one_frame_of_the_truth(tmp_path, texture):
    path = tmp_path / "shots.mp4"
    # blue -> lime changes hue only: ContentDetector alone scores it 20, under its threshold
    truth_s = synth.color_shots(path, ["red", "blue", "lime", "white", "navy"],
                                [1.0, 0.8, 1.2, 0.6, 1.0], audio="none", texture=texture)
    cuts = detect(path)
    assert len(cuts) == len(truth_s)
    for found, t in zip(cuts, truth_s):
        assert abs(found - t * 25) <= 1


def test_other_frame_rate(tmp_path):
    path = tmp_path / "shots30.mp4"
    truth_s = synth.color_shots(path, ["yellow", "purple", "teal"], [0.9, 1.1, 0.7], fps=30, audio="none")
    assert detect(path) == [round(t * 30) for t in truth_s]


def test_continuous_motion_has_no_cuts(tmp_path):
    path = tmp_path / "pattern.mp4"
    synth.odd_size_video(path)  # testsrc2: moving pattern, no cuts
    assert detect(path) == []


def test_a_flash_shorter_than_min_shot_is_not_two_shots(tmp_path):
    path = tmp_path / "flash.mp4"
    synth.color_shots(path, ["red", "white", "red"], [1.0, 0.12, 1.0], audio="none")
    assert len(detect(path, min_shot_s=0.4)) <= 1


# split_long_shots: pure, hand-computed.

def test_one_short_take_is_one_shot():
    assert split_long_shots([], 100, 25.0, max_shot_s=10.0) == [(0, 100)]


def test_five_minute_static_take_becomes_equal_clips():
    shots = split_long_shots([], 7500, 25.0, max_shot_s=4.0)
    assert shots == [(i * 100, (i + 1) * 100) for i in range(75)]
    shots = split_long_shots([], 7501, 25.0, max_shot_s=4.0)
    assert len(shots) == 76  # the fewest pieces that fit, not 75 plus a 1-frame sliver
    assert {e - s for s, e in shots} <= {98, 99}


def test_long_shot_between_cuts_is_split_near_equally():
    # 250 frames over a 100-frame maximum: 3 pieces of 83.3 frames, rounded
    assert split_long_shots([50], 300, 25.0, max_shot_s=4.0) == [(0, 50), (50, 133), (133, 217), (217, 300)]


def test_slivers_merge_into_the_previous_shot():
    # min_shot 0.4 s = 10 frames: the 2-frame shot at 10 joins the first shot,
    # the 5-frame tail joins the last
    assert split_long_shots([10, 12, 100, 395], 400, 25.0, max_shot_s=20.0) == [
        (0, 12), (12, 100), (100, 400)
    ]
    # a short first shot has no previous one: it joins the next
    assert split_long_shots([3, 50], 100, 25.0, max_shot_s=20.0) == [(0, 50), (50, 100)]


def test_merge_then_split_respects_the_maximum():
    shots = split_long_shots([10, 12, 100], 400, 25.0, max_shot_s=4.0, min_shot_s=0.4)
    assert shots == [(0, 12), (12, 100), (100, 200), (200, 300), (300, 400)]
    assert all(e - s <= 100 for s, e in shots)


def test_cut_list_is_cleaned_and_covers_everything():
    assert split_long_shots([0, 50, 50, 150, -3], 100, 25.0, max_shot_s=20.0) == [(0, 50), (50, 100)]
    assert split_long_shots([5], 0, 25.0, max_shot_s=4.0) == []
    shots = split_long_shots([37, 80, 81, 250, 251, 600], 1000, 30.0, max_shot_s=3.0, min_shot_s=0.5)
    assert shots[0][0] == 0 and shots[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in zip(shots, shots[1:]))
    assert all(15 <= e - s <= 90 for s, e in shots)
