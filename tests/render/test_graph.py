"""Timeline -> ffmpeg command, the pure part: goldens and the arithmetic, no media."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adcut.core.errors import BadInputError
from adcut.core.timeline import Timeline
from adcut.render.graph import (
    Pass,
    RenderOptions,
    build_audio_measure_args,
    build_filtergraph,
    build_join_args,
    build_pass_args,
    build_sound_args,
    concat_list,
    build_pieces,
    build_segments,
    escape_filter_path,
    limiter_level,
    loudness_gain_db,
    music_segments,
    output_size,
    pass_timeline,
    plan_passes,
    samples_at,
    xfade_offsets_f,
)

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("ADCUT_REGEN_GOLDEN") == "1"


def clip(source: str, start_f: int, duration_f: int, **kw) -> dict:
    base = {"source": source, "source_width": 1920, "source_height": 1080, "source_in_s": 1.0,
            "start_f": start_f, "duration_f": duration_f, "reframe": {"mode": "crop"}}
    return base | kw


def golden_timeline() -> Timeline:
    """3 clips (a crop off-centre with its sound mixed in, a slowed and held fit-blur portrait
    clip, a plain one), one xfade, two voice cues, ducked music, subtitles."""
    return Timeline.model_validate({
        "fps": 30, "width": 1080, "height": 1920, "duration_f": 270,
        "clips": [
            clip("/footage/beach.mp4", 0, 90, source_has_audio=True, audio="mix",
                 reframe={"mode": "crop", "center_x": 0.3, "center_y": 0.5}),
            clip("/footage/square shot.mov", 90, 90, source_width=1080, source_height=1080,
                 source_in_s=0.1, speed=0.5, hold_f=20, reframe={"mode": "fit-blur"}),
            clip("/footage/city.mp4", 180, 90, source_in_s=4.0, source_has_audio=True),
        ],
        "transitions": [{"kind": "fade", "after_clip": 0, "duration_f": 12}],
        "voice": [
            {"path": "/tts/line0.wav", "start_f": 6, "duration_f": 75, "text": "One.", "clip": 0},
            {"path": "/tts/line1.wav", "start_f": 96, "duration_f": 80, "text": "Two.", "clip": 1},
        ],
        "captions": [{"start_f": 6, "end_f": 81, "text": "One."}],
        "music": {"path": "/music/song.mp3", "source_start_s": 12.5, "duration_f": 270,
                  "gain_db": -6, "fade_in_f": 15, "fade_out_f": 45},
    })


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGEN or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed (ADCUT_REGEN_GOLDEN=1 rewrites)"


def args_text(args: list[str]) -> str:
    """One argument per line; the filtergraph (multi-line) replaced by a marker."""
    return "\n".join("<filtergraph>" if "\n" in a else a for a in args) + "\n"


def whole(tl: Timeline) -> Pass:
    return Pass(0, tl.duration_f)


def test_golden_render_commands():
    options = RenderOptions(loudness_gain_db=-3.25, ass_path="/tmp/ad build/字幕: v2, it's.ass",
                            fonts_dir="/fonts/noto")
    tl = golden_timeline()
    picture = build_pass_args(tl, whole(tl), "/parts/picture.mp4", options)
    sound = build_sound_args(tl, "/parts/sound.m4a", options)
    check_golden("render_args.txt", args_text(picture) + "--- sound\n" + args_text(sound))
    check_golden("render_filtergraph.txt", build_filtergraph(tl, options) + "\n")
    # Two commands: the picture (no sound input) and the sound (no picture decoded).
    graphs = [args[args.index("-filter_complex") + 1] for args in (picture, sound)]
    assert ";\n".join(graphs) == build_filtergraph(tl, options)
    assert "[vout]" in graphs[0] and ":a]" not in graphs[0] and "[aout]" not in graphs[0]
    assert "[aout]" in graphs[1] and ":v]" not in graphs[1] and "volume=-3.25dB" in graphs[1]


def test_golden_measure_command():
    args = build_audio_measure_args(golden_timeline())
    check_golden("measure_args.txt", args_text(args))
    graph = args[args.index("-filter_complex") + 1]
    check_golden("measure_filtergraph.txt", graph + "\n")
    # Audio only: no picture input is opened, and the mix is the render's mix.
    assert "[0:v]" not in graph and "ebur128=peak=true" in graph
    # A makeup pass measures the limited mix's integrated loudness only: the limiter sets its peak.
    limited = build_audio_measure_args(golden_timeline(), 3.0)
    limited_graph = limited[limited.index("-filter_complex") + 1]
    assert "alimiter" in limited_graph and "peak=true" not in limited_graph
    render = build_filtergraph(golden_timeline(), RenderOptions())
    # The music is ducked the same way in both: by the envelope of the voice cues.
    envelope = next(line for line in render.splitlines() if "eval=frame" in line)
    assert envelope.split("[")[-1] in graph and envelope.split("]", 1)[1] in graph


def test_render_output_options():
    tl = golden_timeline()
    args = build_pass_args(tl, whole(tl), "/parts/picture.mp4", RenderOptions())
    joined = " ".join(a for a in args if "\n" not in a)
    assert "-c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -r 30" in joined
    assert joined.endswith("-an -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -r 30 "
                           "-t 9 /parts/picture.mp4")
    sound = " ".join(build_sound_args(tl, "/parts/sound.m4a", RenderOptions())[-12:])
    assert sound == "-vn -c:a aac -b:a 192k -ar 48000 -ac 2 -t 9 /parts/sound.m4a"
    join = build_join_args(tl, "/parts/picture.mp4", "/parts/sound.m4a", "/out/ad.mp4",
                           listing=False)
    assert join == ["-i", "/parts/picture.mp4", "-i", "/parts/sound.m4a", "-map", "0:v:0",
                    "-map", "1:a:0", "-c", "copy", "-movflags", "+faststart", "-t", "9",
                    "/out/ad.mp4"]
    # fast input seeking: -ss and -t before every clip's -i
    i = args.index("/footage/beach.mp4")
    assert args[i - 5:i] == ["-ss", "1", "-t", "3.266667", "-i"]


def test_preview_is_a_third_of_the_size_and_ultrafast():
    tl = golden_timeline()
    assert output_size(tl, True) == (360, 640)
    args = build_pass_args(tl, whole(tl), "/o.mp4", RenderOptions(preview=True))
    assert args[args.index("-preset") + 1] == "ultrafast"
    assert "96k" in build_sound_args(tl, "/o.m4a", RenderOptions(preview=True))
    assert args.count("-skip_loop_filter") == len(tl.clips)  # each clip decoded the fast way
    assert "-skip_loop_filter" not in build_pass_args(tl, whole(tl), "/o.mp4", RenderOptions())
    graph = build_filtergraph(tl, RenderOptions(preview=True))
    assert "scale=360:640" in graph and "scale=1080:1920" not in graph
    odd = Timeline.model_validate(golden_timeline().model_dump() | {"width": 274, "height": 480})
    assert output_size(odd, True) == (90, 160)  # even dimensions
    tiny = Timeline.model_validate(golden_timeline().model_dump() | {"width": 16, "height": 64})
    assert output_size(tiny, True) == (8, 32)  # never under 8 px a side: the same shape


# -- arithmetic, by hand ------------------------------------------------------------------------

def small_timeline(**over) -> Timeline:
    """fps 10: clip0 20 frames from 1.0 s; transition of 4 frames (head 2, tail 2); clip1 10
    frames from 0.1 s (only 1 frame of handle exists before it); clip2 10 frames, cut."""
    data = {
        "fps": 10, "width": 100, "height": 100, "duration_f": 40,
        "clips": [clip("a.mp4", 0, 20), clip("b.mp4", 20, 10, source_in_s=0.1),
                  clip("c.mp4", 30, 10, source_in_s=2.0)],
        "transitions": [{"kind": "wipeleft", "after_clip": 0, "duration_f": 4}],
    }
    return Timeline.model_validate(data | over)


def test_segments_with_handles():
    a, b, c = build_segments(small_timeline())
    # clip0: no head, 2 tail frames from the source after its end: 22 frames from 1.0 s.
    assert (a.head_f, a.tail_f, a.total_f, a.source_f, a.pre_pad_f) == (0, 2, 22, 22, 0)
    assert a.seek_s == 1.0 and a.read_s == pytest.approx((22 + 2) / 10)
    assert a.track_start_f == 0 and a.track_end_f == 22
    # clip1: 2 head frames wanted, the source has 1 before 0.1 s: seek to 0, clone 1 frame.
    assert (b.head_f, b.tail_f, b.total_f, b.source_f, b.pre_pad_f) == (2, 0, 12, 11, 1)
    assert b.seek_s == 0.0 and b.track_start_f == 18
    # clip2: a cut on both sides.
    assert (c.head_f, c.tail_f, c.total_f, c.source_f, c.seek_s) == (0, 0, 10, 10, 2.0)


def test_segment_of_a_slowed_and_held_clip():
    tl = small_timeline(clips=[clip("a.mp4", 0, 20), clip("b.mp4", 20, 10, source_in_s=1.0,
                                                           speed=0.5, hold_f=4),
                               clip("c.mp4", 30, 10)])
    b = build_segments(tl)[1]
    # 6 moving frames at half speed = 0.3 s of source; 2 head frames = 0.1 s before 1.0 s.
    assert (b.head_f, b.source_f, b.pre_pad_f, b.total_f) == (2, 8, 0, 12)
    assert b.seek_s == pytest.approx(0.9) and b.read_s == pytest.approx((8 + 2) * 0.05)


def test_xfade_offsets_and_pieces():
    tl = small_timeline()
    # the window of the transition after clip0 starts at clip1's first frame minus its head
    assert xfade_offsets_f(tl) == [20 - 2]
    pieces = build_pieces(tl)
    assert [(p.kind, p.index, p.start_f, p.length_f) for p in pieces] == [
        ("clip", 0, 0, 18), ("transition", 0, 18, 4), ("clip", 1, 22, 8), ("clip", 2, 30, 10)]
    assert sum(p.length_f for p in pieces) == tl.duration_f
    # Two transitions around clip1: its body shrinks on both sides; odd durations split
    # head = d // 2 before the cut and the rest after it.
    tl2 = small_timeline(transitions=[{"kind": "fade", "after_clip": 0, "duration_f": 4},
                                      {"kind": "fade", "after_clip": 1, "duration_f": 5}])
    assert xfade_offsets_f(tl2) == [18, 30 - 2]
    assert [(p.kind, p.start_f, p.length_f) for p in build_pieces(tl2)] == [
        ("clip", 0, 18), ("transition", 18, 4), ("clip", 22, 6), ("transition", 28, 5),
        ("clip", 33, 7)]


def test_transition_segments_in_the_graph():
    graph = build_filtergraph(small_timeline(), RenderOptions())
    # clip0's 22 frames -> 18 body + 4 out; clip1's 12 frames -> 4 in + 8 body.
    assert "[v0]segment=frames=18[v0body0][v0out0]" in graph
    assert "[v1]segment=frames=4[v1in0][v1body0]" in graph
    assert "[v0out][v1in]xfade=transition=wipeleft:duration=0.4:offset=0,format=yuv420p[t0]" in graph
    assert "[v0body][t0][v1body][v2]concat=n=4:v=1:a=0,settb=1/10[vjoin]" in graph
    # exact frame counts per segment, clone padding for the missing head frame
    assert "tpad=start=1:start_mode=clone:stop=-1:stop_mode=clone,trim=end_frame=12" in graph


def test_overlapping_transitions_are_refused():
    tl = small_timeline(
        clips=[clip("a.mp4", 0, 10), clip("b.mp4", 10, 4), clip("c.mp4", 14, 26)],
        transitions=[{"kind": "fade", "after_clip": 0, "duration_f": 8},
                     {"kind": "fade", "after_clip": 1, "duration_f": 8}])
    with pytest.raises(BadInputError, match=r"clips\[1\]"):
        build_filtergraph(tl, RenderOptions())


def test_audio_segments_add_up_to_the_track():
    tl = small_timeline(clips=[clip("a.mp4", 0, 20, source_has_audio=True, audio="keep"),
                               clip("b.mp4", 20, 10, source_in_s=0.1),
                               clip("c.mp4", 30, 10, source_has_audio=True, audio="mix")])
    graph = build_filtergraph(tl, RenderOptions())
    # samples per frame at 10 fps: 4800. clip0 22 frames; clip1 (silent) 12; clip2 10.
    assert "atrim=end_sample=105600,apad=whole_len=105600[a0]" in graph
    assert "anullsrc=r=48000:cl=stereo," in graph and "atrim=end_sample=57600[a1]" in graph
    assert "apad=whole_len=48000,volume=-14dB[a2]" in graph
    # the 4-frame window overlaps: 22 + 12 - 4 + 10 = 40 frames = the timeline
    assert "[a0][ag1]acrossfade=ns=19200:c1=tri:c2=tri[ax1]" in graph
    assert samples_at(40, 10) == 192000


def test_silent_timeline_still_has_an_audio_track():
    tl = small_timeline(transitions=[])
    graph = build_filtergraph(tl, RenderOptions())
    assert graph.endswith("anullsrc=r=48000:cl=stereo,aformat=sample_fmts=fltp:sample_rates=48000"
                          ":channel_layouts=stereo,atrim=end_sample=192000[aout]")
    with pytest.raises(ValueError):
        build_audio_measure_args(tl)


def test_crop_centre_in_source_coordinates():
    # a 1920x1080 source into 1080x1920: crop 0.316406 of the width, left edge at
    # centre_x - half the crop, clamped inside the frame; then ONE scale
    tl = small_timeline(width=1080, height=1920, transitions=[],
                        clips=[clip("a.mp4", 0, 20, reframe={"mode": "crop", "center_x": 0.25}),
                               clip("b.mp4", 20, 10, reframe={"mode": "crop", "center_x": 0.0}),
                               clip("c.mp4", 30, 10, reframe={"mode": "crop", "center_x": 1.0})])
    graph = build_filtergraph(tl, RenderOptions())
    assert "crop=w=iw*0.316406:h=ih*1:x=iw*0.091797:y=ih*0,scale=1080:1920:flags=bicubic" in graph
    assert "crop=w=iw*0.316406:h=ih*1:x=iw*0:y=ih*0," in graph
    assert "crop=w=iw*0.316406:h=ih*1:x=iw*0.683594:y=ih*0," in graph
    # same aspect: no crop at all
    same = small_timeline(width=1920, height=1080, transitions=[])
    assert "crop=" not in build_filtergraph(same, RenderOptions())


def test_fit_blur_fits_the_whole_source():
    tl = small_timeline(width=1080, height=1920, transitions=[],
                        clips=[clip("a.mp4", 0, 20, reframe={"mode": "fit-blur"}),
                               clip("b.mp4", 20, 10), clip("c.mp4", 30, 10)])
    graph = build_filtergraph(tl, RenderOptions())
    # 1920x1080 fitted in 1080 wide: 1080x608, centred; background blurred at 136x240
    assert "[r0fg]scale=1080:608:flags=bicubic,setsar=1[r0f]" in graph
    assert "scale=136:240:flags=fast_bilinear,boxblur=luma_radius=8:luma_power=2" in graph
    assert "overlay=x=0:y=656:format=yuv420" in graph


def test_escape_filter_path():
    assert escape_filter_path("/tmp/a.ass") == "\\'/tmp/a.ass\\'"
    # option level: quoted (':' literal inside quotes, a quote closes/escapes/reopens);
    # graph level: \ ' [ ] , ; backslashed. Spaces and CJK pass as they are.
    assert escape_filter_path("/t/字幕 a:b,c's[1];.ass") == \
        "\\'/t/字幕 a:b\\,c\\'\\\\\\'\\'s\\[1\\]\\;.ass\\'"


def test_ducking_and_loudness_numbers():
    assert limiter_level(-1.0) == pytest.approx(10 ** (-2.5 / 20), abs=1e-4)
    assert loudness_gain_db(-20.0, -14.0) == 6.0
    assert loudness_gain_db(None, -14.0) is None
    assert loudness_gain_db(-70.0, -14.0) == 24.0  # capped: a near-silent mix is not blown up
    graph = build_filtergraph(golden_timeline(), RenderOptions(loudness_gain_db=2.5))
    # The limiter runs at 4x the rate (true peak), then back to 48 kHz.
    assert ("volume=2.50dB,aresample=192000,alimiter=limit=0.7499:attack=5:release=50"
            ":level=disabled,aresample=48000") in graph
    assert "amix=inputs=3:normalize=0" in graph


# ------------------------------------------------------------------------------- long ads


def cut_timeline(n: int, transitions_after: list[int]) -> Timeline:
    return Timeline.model_validate({
        "fps": 30, "width": 1080, "height": 1920, "duration_f": 30 * n,
        "clips": [clip(f"/footage/{i}.mp4", 30 * i, 30, source_has_audio=True, audio="mix")
                  for i in range(n)],
        "transitions": [{"kind": "fade", "after_clip": i, "duration_f": 10}
                        for i in transitions_after],
        "captions": [{"start_f": 50, "end_f": 100, "text": "Across a pass boundary."}],
    })


def test_short_timelines_render_in_one_pass():
    assert plan_passes(cut_timeline(10, [0, 4])) == [Pass(0, 300)]
    assert plan_passes(cut_timeline(4, []), single_max=4, per_pass=2) == [Pass(0, 120)]


def test_passes_of_about_equal_size_end_at_a_cut_or_a_window_start():
    # 12 clips of 30 frames, hard cuts, at most 5 per pass: 3 passes of 4, not 5 + 5 + 2
    assert plan_passes(cut_timeline(12, []), per_pass=5) == [Pass(0, 120), Pass(120, 240),
                                                              Pass(240, 360)]
    # a fade (10 frames: 5 before the cut) after clip 3: that pass ends where its window starts
    assert plan_passes(cut_timeline(12, [3, 6]), per_pass=5) == [Pass(0, 115), Pass(115, 240),
                                                                  Pass(240, 360)]


def test_a_pass_is_a_timeline_of_its_own_from_frame_zero():
    tl = cut_timeline(8, [1, 4, 5])
    part = pass_timeline(tl, Pass(120, 210))  # clips 4, 5, 6 (the fades after 4 and 5 inside)
    assert part.duration_f == 90 and [c.start_f for c in part.clips] == [0, 30, 60]
    assert [c.source for c in part.clips] == ["/footage/4.mp4", "/footage/5.mp4", "/footage/6.mp4"]
    assert [(t.after_clip, t.kind) for t in part.transitions] == [(0, "fade"), (1, "fade")]
    # sound and captions are rendered for the whole ad, not per pass
    assert all(c.audio == "mute" for c in part.clips)
    assert not part.voice and not part.captions and part.music is None


def test_passes_split_at_a_window_show_the_same_source_frames():
    # clip 1 (30 frames from 1.0 s, the last 10 held) fades into clip 2 (window 55-65)
    tl = cut_timeline(4, [1])
    data = tl.model_dump()
    data["clips"][1].update(hold_f=10, speed=0.5)
    tl = Timeline.model_validate(data)
    before, after = pass_timeline(tl, Pass(0, 55)), pass_timeline(tl, Pass(55, 120))
    # before the window: clip 1 trimmed to 25 frames, 5 of them held, no transition
    assert [c.duration_f for c in before.clips] == [30, 25] and not before.transitions
    assert (before.clips[1].hold_f, before.clips[1].source_in_s) == (5, 1.0)
    # from the window on: clip 1's last 5 frames (all held: the image of moving frame 19,
    # source 1.0 + 19 x 0.5 / 30 s), then the fade into clip 2
    c = after.clips[0]
    assert (c.start_f, c.duration_f, c.hold_f) == (0, 5, 4)
    assert c.source_in_s == pytest.approx(1.0 + 19 * 0.5 / 30)
    assert [(t.after_clip, t.duration_f) for t in after.transitions] == [(0, 10)]
    assert [x.start_f for x in after.clips] == [0, 5, 35]
    # a window start inside the moving part: the source advances by the skipped frames
    data["clips"][1].update(hold_f=0)
    tl = Timeline.model_validate(data)
    assert pass_timeline(tl, Pass(55, 120)).clips[0].source_in_s == pytest.approx(
        1.0 + 25 * 0.5 / 30)


def test_pass_commands_picture_sound_and_join():
    tl = cut_timeline(8, [1])
    opts = RenderOptions(ass_path="/tmp/captions.ass")
    args = build_pass_args(tl, Pass(90, 180), "/parts/part001.mp4", opts)
    graph = args[args.index("-filter_complex") + 1]
    # the subtitles are read on the ad's clock: this pass starts at 3 s
    assert "setpts=PTS+3/TB,subtitles=filename=" in graph and "[aout]" not in graph
    assert args.count("-i") == 3 and "-an" in args and args[-3:] == ["-t", "3", "/parts/part001.mp4"]
    sound = build_sound_args(tl, "/parts/sound.m4a", opts)
    # the sound of every clip (all mixed in here) for the whole ad, no picture
    assert sound.count("-i") == 8 and "-vn" in sound and "[aout]" in sound
    assert build_pass_args(tl, Pass(0, 90), "/p/0.mp4", opts)[-3:] == ["-t", "3", "/p/0.mp4"]
    assert "setpts=PTS+" not in " ".join(build_pass_args(tl, Pass(0, 90), "/p/0.mp4", opts))
    join = build_join_args(tl, "/parts/parts.ffconcat", "/parts/sound.m4a", "/out/ad.mp4",
                           listing=True)
    assert join[:6] == ["-f", "concat", "-safe", "0", "-i", "/parts/parts.ffconcat"]
    assert join[join.index("-c") + 1] == "copy" and join[-1] == "/out/ad.mp4"
    assert concat_list(["/a/part 1.mp4", "/b/it's.mp4"]) == (
        "ffconcat version 1.0\nfile '/a/part 1.mp4'\nfile '/b/it'\\''s.mp4'\n")


def test_looped_music_is_split_trimmed_and_crossfaded_to_exactly_the_cue():
    data = golden_timeline().model_dump()
    data["music"].update(source_start_s=2.0, loop={"start_s": 1.0, "end_s": 4.0,
                                                   "crossfade_s": 0.1})
    tl = Timeline.model_validate(data)  # 9 s of music from a 4 s track
    segments, xf = music_segments(tl.music, tl.fps)
    assert xf == 4800
    assert segments == [(96000, 192000), (43200, 192000), (43200, 192000), (43200, 96000)]
    joined = sum(b - a for a, b in segments) - xf * (len(segments) - 1)
    assert joined == samples_at(tl.duration_f, tl.fps)
    graph = build_filtergraph(tl, RenderOptions())
    assert "asplit=4[ml0][ml1][ml2][ml3]" in graph
    assert "[ml1]atrim=start_sample=43200:end_sample=192000,asetpts=PTS-STARTPTS[ms1]" in graph
    assert "[mj2][ms3]acrossfade=ns=4800:c1=tri:c2=tri[mj3]" in graph
    args = build_sound_args(tl, "out.m4a", RenderOptions())
    music_input = args[args.index(tl.music.path) - 1]
    assert music_input == "-i"  # the whole track is read: segments come from anywhere in it
    assert tl.music.pieces_s(tl.fps) == [(2.0, 4.0), (1.0, 4.0), (1.0, 4.0), (1.0, 2.0)]


def test_a_tiny_fit_blur_output_keeps_a_background_boxblur_accepts():
    data = golden_timeline().model_dump()
    data.update(width=16, height=32)  # the preview is 8x16: the background stays 8x16
    graph = build_filtergraph(Timeline.model_validate(data), RenderOptions(preview=True))
    assert "scale=8:16:flags=fast_bilinear,boxblur=luma_radius=1:luma_power=2," in graph
