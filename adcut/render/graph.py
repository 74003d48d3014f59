"""Timeline -> ffmpeg commands (PURE: data in, argv out; golden-tested).

A render is three kinds of command, one encode generation: the picture (one command for an ad
of up to SINGLE_PASS_MAX_CLIPS clips, one per pass of a longer one, see "passes"), the sound of
the whole ad, and the join of both into the MP4 by stream copy. The picture and the sound run at
the same time (adcut.render.run): the sound, with its loudness pass, costs no wall time beside
the picture's encode. What they hold:

- one input per clip, seeked with `-ss` before `-i` (fast: ffmpeg jumps to the keyframe and
  decodes only the range) and limited with `-t` to the clip plus its transition handles; a clip
  whose sound is heard gets a second, audio-only input of the same range (see _audio_inputs);
- per clip: timestamps reset, speed (setpts), `fps`, reframe (crop in source coordinates then
  ONE scale, or fit over a blurred copy), `setsar=1`, `format=yuv420p`, clone padding for
  holds and for handles the source cannot provide, an exact frame count;
- one `concat` joins the track; only the frames inside a transition window go through `xfade`
  (see build_pieces: xfade works in 4:4:4, so a chain of xfades over whole clips would convert
  every frame of the ad twice, and cost about a third more CPU than the decode);
- subtitles burned once, after the joins (libass);
- audio: clip sound segments joined exactly like the pictures (concat / acrossfade), a voice bus,
  music ducked under the voice by a gain envelope from the voice cues (adcut.render.ducking),
  summed without amix's input scaling,
  a measured gain (two-pass loudness, see run.py) and a peak limiter.

Every length is computed here in integer frames and samples, so the output has exactly
`timeline.duration_f` frames and the audio stays in sync across speed changes and transitions.

Memory: ffmpeg opens every input at start and keeps each decoder (and its frame pool) to the
end, so a render holds 30-70 MB per clip at 1080x1920 on top of x264's ~300 MB (measured, one
command: 8 clips 857-894 MB, 16 clips 1.13 GB, 32 clips 1.91 GB peak RSS). Decoders get 2
threads each, not one per core. A timeline of more than SINGLE_PASS_MAX_CLIPS clips therefore
renders its picture in passes (see "passes" below) and stays under 1 GB at the same speed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from adcut.core.errors import BadInputError
from adcut.core.timeline import MusicCue, Timeline, TimelineClip, Transition
from adcut.render.ducking import music_duck_filters

SAMPLE_RATE = 48000
AFORMAT = f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo"
# The mix as the loudness passes write it for the render to reuse (run.measure_gain_db).
_FLOAT_WAV = ["-c:a", "pcm_f32le", "-f", "wav"]
# Frames read past the last needed one, so `fps` sees the next frame before EOF (the exact
# count is then cut by `trim`).
READ_MARGIN_F = 2
# The limiter runs at 4x the rate, so the peaks between samples (what a true-peak meter sees:
# 0.6 dB over the sample peak on limited music) are limited too; its ceiling sits this far
# under the true-peak target for the AAC encoder's overshoot (measured at 192 kb/s on click
# tracks limited by 12 dB to reach -14 LUFS: up to 1.1 dB over the ceiling).
LIMITER_OVERSAMPLE = 4
TRUE_PEAK_MARGIN_DB = 1.5
# Makeup gain is never above this: a near-silent mix is not blown up into noise.
MAX_LOUDNESS_GAIN_DB = 24.0
DECODER_THREADS = 2
# A preview is rendered at this fraction of the ad's sides.
PREVIEW_DIVISOR = 3
# The background of a fit-blur shot is blurred at 1/8 of the output size (cheap), then scaled up.
BLUR_DOWNSCALE = 8
# QC's picture checks (adcut.render.qc): black = 98 % of the pixels below 10 % luma; frozen =
# frame difference under -60 dB (a repeated picture: a hold, a looped still; camera noise is far
# above this), judged on a 320 px wide copy (blackness and stillness survive downscaling).
ANALYSIS_WIDTH = 320
BLACK_FILTER = "blackdetect=d={d}:pic_th=0.98:pix_th=0.10"
FREEZE_FILTER = "freezedetect=n={n}:d={d}"
OUTPUT_FREEZE_NOISE = "-60dB"


@dataclass(frozen=True)
class RenderOptions:
    """How to render (the Timeline says what)."""

    preview: bool = False  # half size (even dims), x264 ultrafast, 96k audio, fast scaling
    preset: str = "veryfast"
    crf: int = 20
    audio_bitrate: str = "192k"
    loudness_gain_db: float | None = None  # from the measure pass; None = no gain stage
    ass_path: str | None = None
    fonts_dir: str | None = None
    # Measure QC's black and frozen stretches on the frames handed to the encoder (see
    # picture_check_filters), so QC need not decode the rendered picture again.
    check_picture: bool = True


def picture_check_filters(fps: int) -> str:
    """blackdetect and freezedetect on the frames on their way to the encoder (they pass
    through unchanged), logging every stretch of 2 frames or more (QC keeps the pieces
    nothing explains that last over 0.5 s; short ones let the stretches of a long render's
    passes be joined). In line rather than on a split-off copy scaled down, which cost the
    encode far more than the detectors themselves (benchmarks/NOTES.md, edit_speed.py)."""
    d = _num(2 / fps)
    return f"{BLACK_FILTER.format(d=d)},{FREEZE_FILTER.format(n=OUTPUT_FREEZE_NOISE, d=d)}"


@dataclass(frozen=True)
class Segment:
    """What one clip contributes to the video track, transition handles included.

    The segment covers track frames `track_start_f .. track_start_f + total_f`: `head_f` frames
    before the clip (shown during the incoming transition) and `tail_f` after it (outgoing).
    """

    head_f: int
    tail_f: int
    total_f: int  # head_f + duration_f + tail_f
    pre_pad_f: int  # head frames before the source's start: the first frame is cloned
    source_f: int  # frames taken from the source (output rate); the rest are clones
    seek_s: float  # -ss: source time of the first frame taken
    read_s: float  # -t: source seconds read (a small margin past the last frame)
    track_start_f: int

    @property
    def track_end_f(self) -> int:
        return self.track_start_f + self.total_f


# ---------------------------------------------------------------------------------- arithmetic


def samples_at(frame: int, fps: int) -> int:
    """The audio sample where track frame `frame` starts (every length is a difference of
    these, so segment lengths always add up to the whole track)."""
    return round(frame * SAMPLE_RATE / fps)


def transitions_by_clip(timeline: Timeline) -> dict[int, Transition]:
    return {t.after_clip: t for t in timeline.transitions}


def build_segments(timeline: Timeline) -> list[Segment]:
    """Per clip: handles, source range and padding (see Segment)."""
    fps = timeline.fps
    after = transitions_by_clip(timeline)
    segments = []
    for i, clip in enumerate(timeline.clips):
        head_f = after[i - 1].head_f if (i - 1) in after else 0
        tail_f = after[i].tail_f if i in after else 0
        moving_f = max(1, clip.duration_f - clip.hold_f)
        step_s = clip.speed / fps  # source seconds per output frame
        # Head handle: source before source_in_s, as far as the source goes back.
        avail_f = min(head_f, math.floor(clip.source_in_s / step_s + 1e-6))
        # A held clip stays frozen through its tail handle too (the footage has ended).
        source_f = avail_f + moving_f + (tail_f if clip.hold_f == 0 else 0)
        seek_s = max(0.0, clip.source_in_s - avail_f * step_s)
        segments.append(Segment(
            head_f=head_f, tail_f=tail_f, total_f=head_f + clip.duration_f + tail_f,
            pre_pad_f=head_f - avail_f, source_f=source_f, seek_s=seek_s,
            read_s=(source_f + READ_MARGIN_F) * step_s, track_start_f=clip.start_f - head_f,
        ))
    return segments


def clip_groups(timeline: Timeline) -> list[list[int]]:
    """Runs of clips joined by hard cuts; a transition starts a new run."""
    after = transitions_by_clip(timeline)
    groups: list[list[int]] = [[0]]
    for i in range(1, len(timeline.clips)):
        if (i - 1) in after:
            groups.append([i])
        else:
            groups[-1].append(i)
    return groups


def xfade_offsets_f(timeline: Timeline) -> list[int]:
    """Track frame where each transition starts, in clip order: the incoming clip's first
    frame minus the handle it borrows (the window then runs `duration_f` frames)."""
    return [timeline.clips[t.after_clip + 1].start_f - t.head_f
            for t in sorted(timeline.transitions, key=lambda t: t.after_clip)]


@dataclass(frozen=True)
class Piece:
    """A stretch of the video track: the part of clip `index` outside any transition window
    ("clip"), or the window of the transition after clip `index` ("transition")."""

    kind: str  # "clip" | "transition"
    index: int
    start_f: int
    length_f: int


def build_pieces(timeline: Timeline) -> list[Piece]:
    """The video track as back-to-back pieces: clip bodies and transition windows.

    Only the frames inside a window go through xfade: xfade works in 4:4:4, so a frame passing
    through it is converted 4:2:0 -> 4:4:4 -> 4:2:0 (lossy chroma, and about 2 ms per 1080x1920
    frame). Each clip segment is therefore cut into [head window][body][tail window] and the
    track is one concat of bodies and transition pieces."""
    after = transitions_by_clip(timeline)
    pieces: list[Piece] = []
    for i, clip in enumerate(timeline.clips):
        t_in, t_out = after.get(i - 1), after.get(i)
        body_start = clip.start_f + (t_in.tail_f if t_in else 0)
        body_end = clip.end_f - (t_out.head_f if t_out else 0)
        if body_end < body_start:
            raise BadInputError(
                f"clips[{i}] ({clip.duration_f} frames) is shorter than the transitions on both "
                "of its sides overlap", hint="shorten those transitions or lengthen the clip")
        if body_end > body_start:
            pieces.append(Piece("clip", i, body_start, body_end - body_start))
        if t_out:
            pieces.append(Piece("transition", i, clip.end_f - t_out.head_f, t_out.duration_f))
    return pieces


def output_size(timeline: Timeline, preview: bool) -> tuple[int, int]:
    """The rendered size: the timeline's, or a preview's third of it (even sides, at least 8 px
    where the ad has them; 360x640 for 1080x1920): small enough to render in a third of the
    time of the ad, large enough to read its captions."""
    if not preview:
        return timeline.width, timeline.height
    k = max(1 / PREVIEW_DIVISOR, min(1.0, 8 / min(timeline.width, timeline.height)))
    return (max(2, int(timeline.width * k + 1e-9) // 2 * 2),
            max(2, int(timeline.height * k + 1e-9) // 2 * 2))


def loudness_gain_db(measured_lufs: float | None, target_lufs: float) -> float | None:
    """Gain that brings the measured mix to the target; None for a silent mix."""
    if measured_lufs is None:
        return None
    return round(min(MAX_LOUDNESS_GAIN_DB, target_lufs - measured_lufs), 2)


def limiter_level(true_peak_dbtp: float) -> float:
    """alimiter's linear ceiling for a true-peak target (its range is 0.0625..1)."""
    return round(min(1.0, max(0.0625, 10 ** ((true_peak_dbtp - TRUE_PEAK_MARGIN_DB) / 20))), 4)


# ---------------------------------------------------------------------------------- formatting


def _num(x: float) -> str:
    """A number for a filter argument: up to 6 decimals, no trailing zeros."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def escape_filter_path(path: str) -> str:
    """A file path as a filter option value inside a filtergraph.

    Two parsers read it: the option parser (quote the value, the shell way, so `:` and `\\`
    are literal) and then the graph parser (backslash its special characters `\\ ' [ ] , ;`).
    Spaces and non-ASCII (CJK) need nothing."""
    quoted = "'" + path.replace("'", "'\\''") + "'"
    return re.sub(r"([\\'\[\],;])", r"\\\1", quoted)


# ---------------------------------------------------------------------------------- video


def _crop_filter(clip: TimelineClip, out_w: int, out_h: int,
                 center: tuple[float, float]) -> str | None:
    """Crop to the output aspect around `center`, in SOURCE coordinates, as fractions of the
    decoded frame (so a stored size that differs from the display size, e.g. non-square
    pixels, crops the same region). None when the aspects already match."""
    src_aspect = clip.source_width / clip.source_height
    out_aspect = out_w / out_h
    if abs(src_aspect / out_aspect - 1) < 1e-3:
        return None
    frac_w = min(1.0, out_aspect / src_aspect)
    frac_h = min(1.0, src_aspect / out_aspect)
    left = min(max(center[0] - frac_w / 2, 0.0), 1.0 - frac_w)
    top = min(max(center[1] - frac_h / 2, 0.0), 1.0 - frac_h)
    return (f"crop=w=iw*{_num(frac_w)}:h=ih*{_num(frac_h)}"
            f":x=iw*{_num(left)}:y=ih*{_num(top)}")


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def _reframe_chain(clip: TimelineClip, label: str, out_w: int, out_h: int,
                   scale_flags: str, frames: int, fps: int) -> tuple[str, list[str]]:
    """Filters (joined) that reframe `label`'s frames to out_w x out_h, and any extra chains
    (fit-blur splits the stream). Never a stretch.

    A fit-blur background is one still: the shot's frame half a second in (or its last frame
    before that: a shot's first frame may still belong to the cut before it), blurred, held
    for `frames` frames at `fps`. A moving blurred backdrop costs x264 about as much as the picture itself
    (the demo's five fitted shots at 1080x1920: 16.0 CPU s against 11.1 with still backdrops),
    while a still one is coded as skipped blocks; under the blur it reads the same."""
    scale = f"scale={out_w}:{out_h}:flags={scale_flags}"
    r = clip.reframe
    if r.mode == "crop":
        crop = _crop_filter(clip, out_w, out_h, (r.center_x, r.center_y))
        return ",".join(f for f in (crop, scale) if f), []
    # fit-blur: the whole source, scaled to fit, over a cover-cropped blurred copy of itself;
    # with a zoom, enlarged beyond fitting and cropped to the frame around the centre.
    fit = min(out_w / clip.source_width, out_h / clip.source_height) * r.zoom
    frac_w = min(1.0, out_w / (fit * clip.source_width))
    frac_h = min(1.0, out_h / (fit * clip.source_height))
    fg_w = min(out_w, _even(clip.source_width * frac_w * fit))
    fg_h = min(out_h, _even(clip.source_height * frac_h * fit))
    fg_crop = ""
    if frac_w < 1 or frac_h < 1:
        left = min(max(r.center_x - frac_w / 2, 0.0), 1.0 - frac_w)
        top = min(max(r.center_y - frac_h / 2, 0.0), 1.0 - frac_h)
        fg_crop = (f"crop=w=iw*{_num(frac_w)}:h=ih*{_num(frac_h)}"
                   f":x=iw*{_num(left)}:y=ih*{_num(top)},")
    if (fg_w, fg_h) == (out_w, out_h):
        return fg_crop + scale, []
    # A tiny output (16 px a side, 8 in a preview) keeps its background at full size: boxblur
    # needs a radius below half of every plane's side, and 4:2:0 chroma planes are half size.
    bg_w = max(_even(out_w / BLUR_DOWNSCALE), min(out_w, 16))
    bg_h = max(_even(out_h / BLUR_DOWNSCALE), min(out_h, 16))
    radius = max(1, min(bg_w, bg_h) // 16)
    blur = f"boxblur=luma_radius={radius}:luma_power=2"
    cover = _crop_filter(clip, out_w, out_h, (0.5, 0.5))
    bg = ",".join(f for f in (
        f"trim=end_frame={fps // 2 + 1},reverse,trim=end_frame=1", cover, f"scale={bg_w}:{bg_h}:flags=fast_bilinear", blur,
        f"scale={out_w}:{out_h}:flags=bilinear,setsar=1",
        f"loop=loop={max(frames - 1, 0)}:size=1,setpts=N/{fps}/TB") if f)
    extra = [
        f"[{label}bg]{bg}[{label}b]",
        f"[{label}fg]{fg_crop}scale={fg_w}:{fg_h}:flags={scale_flags},setsar=1[{label}f]",
    ]
    overlay = (f"[{label}b][{label}f]overlay=x={(out_w - fg_w) // 2}:y={(out_h - fg_h) // 2}"
               f":format=yuv420")
    return f"split=2[{label}bg][{label}fg]", extra + [overlay]


def _video_clip_chains(timeline: Timeline, i: int, input_index: int, seg: Segment,
                       out_w: int, out_h: int, scale_flags: str) -> list[str]:
    """Chains turning input `input_index` into `[v{i}]`: exactly seg.total_f frames."""
    clip = timeline.clips[i]
    fps = timeline.fps
    speed = "setpts=PTS-STARTPTS"
    if clip.speed != 1:
        speed = f"setpts=(PTS-STARTPTS)/{_num(clip.speed)}"
    head = f"[{input_index}:v]{speed},fps={fps},trim=end_frame={seg.source_f}"
    # Clone padding: the first frame for head frames before the source's start; the last
    # frame for the hold and for a source that ends early (stop=-1 pads until trim ends it).
    pad = "tpad=" + (f"start={seg.pre_pad_f}:start_mode=clone:" if seg.pre_pad_f else "") + \
        "stop=-1:stop_mode=clone"
    reframe, extra = _reframe_chain(clip, f"r{i}", out_w, out_h, scale_flags, seg.total_f, fps)
    tail = (f"{pad},trim=end_frame={seg.total_f},setpts=PTS-STARTPTS[v{i}]")
    if not extra:
        push = _push_in_filter(clip.push_in, seg.total_f)
        return [f"{head},{reframe},setsar=1,format=yuv420p,{push + ',' if push else ''}{tail}"]
    # fit-blur: split -> background and foreground chains -> overlay -> the common tail. A
    # push-in moves the picture within its band and leaves the blurred still behind it still:
    # a third of the pixels to warp, and a backdrop x264 still codes as skipped blocks (a
    # pushed-in fitted opener of 3.5 s at 1080x1920: about 2.5 CPU s less).
    background, foreground, overlay = extra
    push = _push_in_filter(clip.push_in, seg.source_f)
    if push:
        foreground = foreground.replace(f"setsar=1[r{i}f]", f"setsar=1,{push}[r{i}f]")
    return [f"{head},{reframe}", background, foreground,
            f"{overlay},setsar=1,format=yuv420p,{tail}"]


def _push_in_filter(push_in: float, frames: int) -> str | None:
    """A slow push-in over `frames` frames: the picture magnified from 1 to 1 + push_in about
    its centre, with `perspective` (sub-pixel, bilinear) rather than zoompan or a per-frame
    scale + crop, whose whole-pixel steps judder: on a 4 s 1080x1920 push-in of 8 % the
    frame-to-frame growth of a tracked disc varied with std 0.10 px and its centre stayed
    within 0.12 px, against 0.21 px and a 44 px wander for scale(eval=frame) + crop.
    Costs about 2.3 s per 4 s of 1080x1920 on 2 cores. None when there is no push-in."""
    if push_in <= 0 or frames < 2:
        return None
    z = f"(1+{_num(push_in)}*in/{frames - 1})"
    mx, my = f"W*(1-1/{z})/2", f"H*(1-1/{z})/2"  # the margin cut on each side at frame `in`
    corners = [(mx, my), (f"W-{mx}", my), (mx, f"H-{my}"), (f"W-{mx}", f"H-{my}")]
    coords = ":".join(f"x{k}='{x}':y{k}='{y}'" for k, (x, y) in enumerate(corners))
    return f"perspective={coords}:interpolation=linear:eval=frame"


def _join_video(timeline: Timeline, segments: list[Segment]) -> tuple[list[str], str]:
    """Cut each segment into its pieces, xfade the transition windows, concat everything.
    Returns chains and the joined label."""
    fps = timeline.fps
    after = transitions_by_clip(timeline)
    chains: list[str] = []
    for i, seg in enumerate(segments):
        d_in = after[i - 1].duration_f if (i - 1) in after else 0
        d_out = after[i].duration_f if i in after else 0
        if not d_in and not d_out:
            continue
        names, cuts = [], []
        if d_in:
            names.append(f"v{i}in")
            cuts.append(d_in)
        body = seg.total_f - d_in - d_out
        if body:
            names.append(f"v{i}body")
            cuts.append(d_in + body)
        if d_out:
            names.append(f"v{i}out")
        cuts = cuts[:len(names) - 1]
        if len(names) == 1:
            chains.append(f"[v{i}]null[{names[0]}]")
            continue
        # segment keeps timestamps running; each piece starts at 0 for xfade and concat.
        outs = "".join(f"[{n}0]" for n in names)
        chains.append(f"[v{i}]segment=frames={'|'.join(map(str, cuts))}{outs}")
        chains += [f"[{n}0]setpts=PTS-STARTPTS[{n}]" for n in names]
    labels = []
    for piece in build_pieces(timeline):
        i = piece.index
        if piece.kind == "transition":
            t = after[i]
            # offset=0: the pieces are exactly the window; xfade's 4:4:4 output goes back to
            # 4:2:0 here, or concat would negotiate every piece to 4:4:4.
            chains.append(f"[v{i}out][v{i + 1}in]xfade=transition={t.kind}"
                          f":duration={_num(t.duration_f / fps)}:offset=0,format=yuv420p[t{i}]")
            labels.append(f"t{i}")
        else:
            has_window = (i - 1) in after or i in after
            labels.append(f"v{i}body" if has_window else f"v{i}")
    if timeline.end_card is not None:
        labels.append("vcard")
    if len(labels) == 1:
        return chains, labels[0]
    ins = "".join(f"[{label}]" for label in labels)
    # concat outputs microsecond timestamps: back to exact frames of 1/fps.
    chains.append(f"{ins}concat=n={len(labels)}:v=1:a=0,settb=1/{fps}[vjoin]")
    return chains, "vjoin"


# ---------------------------------------------------------------------------------- audio


def _silence(samples: int) -> str:
    return f"anullsrc=r={SAMPLE_RATE}:cl=stereo,{AFORMAT},atrim=end_sample={samples}"


def _atempo(speed: float) -> list[str]:
    """atempo steps for a speed (each step within 0.5..2, which every ffmpeg accepts)."""
    steps = []
    while speed < 0.5:
        steps.append("atempo=0.5")
        speed /= 0.5
    while speed > 2.0:
        steps.append("atempo=2")
        speed /= 2.0
    if abs(speed - 1.0) > 1e-9:
        steps.append(f"atempo={_num(speed)}")
    return steps


def clip_audio_used(timeline: Timeline) -> list[bool]:
    return [c.audio != "mute" and c.source_has_audio for c in timeline.clips]


def _clip_audio_chains(timeline: Timeline, segments: list[Segment],
                       input_of: dict[int, int]) -> tuple[list[str], str]:
    """The clip-sound bus: one segment per clip (its sound or silence) of exactly the samples
    of its video segment, joined like the pictures: concat at cuts, acrossfade at transitions."""
    fps = timeline.fps
    used = clip_audio_used(timeline)
    chains = []
    for i, (clip, seg) in enumerate(zip(timeline.clips, segments)):
        total = samples_at(seg.track_end_f, fps) - samples_at(seg.track_start_f, fps)
        if not used[i]:
            chains.append(f"{_silence(total)}[a{i}]")
            continue
        src_start_f = seg.track_start_f + seg.pre_pad_f
        src = samples_at(src_start_f + seg.source_f, fps) - samples_at(src_start_f, fps)
        pre = samples_at(src_start_f, fps) - samples_at(seg.track_start_f, fps)
        parts = [f"[{input_of[i]}:a]{AFORMAT}", "asetpts=PTS-STARTPTS", *_atempo(clip.speed),
                 f"atrim=end_sample={src}"]
        if pre:
            parts.append(f"adelay=delays={pre}S:all=1")
        parts.append(f"apad=whole_len={total}")
        gain = timeline.clip_audio_mix_db if clip.audio == "mix" else 0.0
        if gain != 0:
            parts.append(f"volume={_num(gain)}dB")
        chains.append(",".join(parts) + f"[a{i}]")
    after = transitions_by_clip(timeline)
    groups = clip_groups(timeline)
    labels = []
    for g, members in enumerate(groups):
        if len(members) == 1:
            labels.append(f"a{members[0]}")
            continue
        ins = "".join(f"[a{i}]" for i in members)
        chains.append(f"{ins}concat=n={len(members)}:v=0:a=1[ag{g}]")
        labels.append(f"ag{g}")
    current = labels[0]
    for g in range(1, len(groups)):
        t = after[groups[g][0] - 1]
        cut_f = timeline.clips[t.after_clip + 1].start_f
        overlap = samples_at(cut_f + t.tail_f, fps) - samples_at(cut_f - t.head_f, fps)
        out = f"ax{g}"
        chains.append(f"[{current}][{labels[g]}]acrossfade=ns={overlap}:c1=tri:c2=tri[{out}]")
        current = out
    return chains, current


def music_segments(music: MusicCue, fps: int) -> tuple[list[tuple[int, int]], int]:
    """The samples of the track (at SAMPLE_RATE, from its first sample) that a looped cue
    joins, and the crossfade in samples: each piece of `MusicCue.pieces_s`, every one after
    the first starting a crossfade earlier (acrossfade overlaps the crossfade's samples), the
    last one cut so the joined length is exactly the cue's."""
    assert music.loop is not None
    xf = max(1, round(music.loop.crossfade_s * SAMPLE_RATE))
    length = samples_at(music.start_f + music.duration_f, fps) - samples_at(music.start_f, fps)
    segments: list[tuple[int, int]] = []
    heard = 0
    for k, (in_s, out_s) in enumerate(music.pieces_s(fps)):
        a = round(in_s * SAMPLE_RATE)
        take = max(1, min(round(out_s * SAMPLE_RATE) - a, length - heard))
        heard += take
        segments.append((a, a + take) if k == 0 else (a - xf, a + take))
        if heard >= length:
            break
    return segments, xf


def _music_loop_chains(music: MusicCue, music_input: int, fps: int) -> tuple[list[str], str]:
    """The looped track as one stream: the input split into its segments (see
    music_segments), joined by acrossfade. Returns chains and the joined label."""
    segments, xf = music_segments(music, fps)
    n = len(segments)
    chains = [f"[{music_input}:a]{AFORMAT},asetpts=PTS-STARTPTS"
              + (f",asplit={n}" + "".join(f"[ml{k}]" for k in range(n)) if n > 1 else "[ml0]")]
    for k, (a, b) in enumerate(segments):
        chains.append(f"[ml{k}]atrim=start_sample={a}:end_sample={b},asetpts=PTS-STARTPTS[ms{k}]")
    current = "ms0"
    for k in range(1, n):
        chains.append(f"[{current}][ms{k}]acrossfade=ns={xf}:c1=tri:c2=tri[mj{k}]")
        current = f"mj{k}"
    return chains, current


STEMS = ("voice", "music", "clip")


def _mix_chains(timeline: Timeline, input_of_clip: dict[int, int], first_voice_input: int,
                music_input: int | None, solo: str | None = None) -> tuple[list[str], str | None]:
    """Every audio bus summed: voice, ducked music, clip sound. Returns chains and the label of
    the mix (exactly the timeline's samples), or None when the timeline has no sound at all.
    `solo` (one of STEMS): only that bus is summed, exactly as it sounds in the full mix."""
    fps = timeline.fps
    total = samples_at(timeline.duration_f, fps)
    chains: list[str] = []
    buses: list[str] = []

    voice_label = None
    if timeline.voice:
        for j, cue in enumerate(timeline.voice):
            dur = samples_at(cue.start_f + cue.duration_f, fps) - samples_at(cue.start_f, fps)
            delay = samples_at(cue.start_f, fps)
            delay_f = f",adelay=delays={delay}S:all=1" if delay else ""
            chains.append(f"[{first_voice_input + j}:a]{AFORMAT},atrim=end_sample={dur}{delay_f}"
                          f"[vo{j}]")
        ins = "".join(f"[vo{j}]" for j in range(len(timeline.voice)))
        mix = (f"amix=inputs={len(timeline.voice)}:normalize=0:duration=longest,"
               if len(timeline.voice) > 1 else "")
        # Padded to the whole track, like every bus: the mix is exactly the track long.
        chains.append(f"{ins}{mix}apad=whole_len={total}[voice]")
        voice_label = "voice"

    music = timeline.music
    if music is not None and music_input is not None:
        length = samples_at(music.start_f + music.duration_f, fps) - samples_at(music.start_f, fps)
        if music.loop is None:
            parts = [f"[{music_input}:a]{AFORMAT}", "asetpts=PTS-STARTPTS",
                     f"atrim=end_sample={length}"]
        else:
            loop_chains, looped = _music_loop_chains(music, music_input, fps)
            chains += loop_chains
            parts = [f"[{looped}]asetpts=PTS-STARTPTS", f"atrim=end_sample={length}"]
        if music.fade_in_f:
            fade_in = min(length, samples_at(music.fade_in_f, fps))
            parts.append(f"afade=t=in:ss=0:ns={fade_in}")
        if music.fade_out_f:
            fade_out = min(length, samples_at(music.fade_out_f, fps))
            parts.append(f"afade=t=out:ss={length - fade_out}:ns={fade_out}")
        if music.gain_db != 0:
            parts.append(f"volume={_num(music.gain_db)}dB")
        if music.start_f:
            parts.append(f"adelay=delays={samples_at(music.start_f, fps)}S:all=1")
        parts.append(f"apad=whole_len={total}")
        # Ducked by a gain envelope computed from the voice cues (see adcut.render.ducking).
        duck = music_duck_filters(timeline)
        parts += duck
        chains.append(",".join(parts) + ("[ducked]" if duck else "[music]"))
        buses.append("ducked" if duck else "music")
    if voice_label:
        buses.insert(0, voice_label)

    if any(clip_audio_used(timeline)):
        clip_chains, clip_label = _clip_audio_chains(timeline, build_segments(timeline),
                                                     input_of_clip)
        chains += clip_chains
        buses.append(clip_label)

    if solo is not None:
        kept = {"voice": {"voice"}, "music": {"music", "ducked"}}.get(solo)
        # The other buses are summed at zero gain: the graph keeps its shape (a null sink
        # there makes ffmpeg stop feeding the ducked music part way).
        for k, b in enumerate(buses):
            if not (b in kept if kept else b.startswith("a")):
                chains.append(f"[{b}]volume=0[mute{k}]")
                buses[k] = f"mute{k}"

    if not buses:
        return chains, None
    if len(buses) == 1:
        chains.append(f"[{buses[0]}]anull[mix]")
    else:
        ins = "".join(f"[{b}]" for b in buses)
        # normalize=0: amix would otherwise divide every input by the number of inputs.
        chains.append(f"{ins}amix=inputs={len(buses)}:normalize=0:duration=longest[mix]")
    return chains, "mix"


def _audio_inputs(timeline: Timeline,
                  first_index: int) -> tuple[list[str], dict[int, int], int, int | None]:
    """Input arguments for the clip sound that is heard, the voice cues and the music.
    Returns (args, clip -> input index, first voice input, music input).

    A clip's sound is read through an input of its own, not the clip's video input: audio runs
    ahead of video in the graph, and a shared input would make ffmpeg decode and queue that
    clip's pictures long before they are shown (measured: +80 MB per clip with sound)."""
    args: list[str] = []
    index = first_index
    input_of_clip: dict[int, int] = {}
    segments = build_segments(timeline)
    for i, used in enumerate(clip_audio_used(timeline)):
        if used:
            args += _clip_input_args(timeline.clips[i], segments[i])
            input_of_clip[i] = index
            index += 1
    first_voice = index
    for cue in timeline.voice:
        args += ["-i", cue.path]
        index += 1
    music_input = None
    if timeline.music is not None:
        m = timeline.music
        if m.loop is None:
            args += ["-ss", _num(m.source_start_s), "-t", _num(m.duration_f / timeline.fps),
                     "-i", m.path]
        else:  # segments from anywhere in the track: read it whole (see music_segments)
            args += ["-i", m.path]
        music_input = index
    return args, input_of_clip, first_voice, music_input


def _clip_input_args(clip: TimelineClip, seg: Segment) -> list[str]:
    if clip.still:  # a picture, looped for as long as the shot reads (it has no time of its own)
        rate = max(1, round((seg.source_f + READ_MARGIN_F) / seg.read_s))
        return ["-loop", "1", "-framerate", str(rate), "-t", _num(seg.read_s), "-i", clip.source]
    return ["-ss", _num(seg.seek_s), "-t", _num(seg.read_s), "-i", clip.source]


# ---------------------------------------------------------------------------------- commands


def build_filtergraph(timeline: Timeline, options: RenderOptions) -> str:
    """The -filter_complex texts of a render, the picture's then the sound's (one chain per
    line, for goldens and humans)."""
    _, picture = _video_part(timeline, options)
    _, sound = _audio_part(timeline, 0, options)
    return ";\n".join(picture + sound)


def _end_card_chains(timeline: Timeline, first_input: int, out_w: int, out_h: int,
                     scale_flags: str) -> tuple[list[str], list[str]]:
    """Inputs (one looped still per image, numbered from `first_input`) and chains of the end
    card, ending in [vcard]: exactly its frames, the brand colour with its images fading in
    (the text is drawn by libass with the captions, see subtitles.build_ass)."""
    from adcut.render.end_card import card_images, card_layout

    card = timeline.end_card
    fps = timeline.fps
    seconds = _num(card.duration_f / fps)
    # The layout is made for the timeline's frame; a preview draws it at its own size.
    k = out_w / timeline.width
    placed = card_images(card, card_layout(card, timeline.width, timeline.height))
    inputs: list[str] = []
    chains = [f"color=c=0x{card.background[1:]}:s={out_w}x{out_h}:r={fps}:d={seconds},"
              f"format=yuv420p[cbg0]"]
    fade = (f",fade=t=in:st=0:d={_num(card.fade_in_f / fps)}:alpha=1" if card.fade_in_f else "")
    for j, (image, box) in enumerate(placed):
        inputs += ["-loop", "1", "-framerate", str(fps), "-t", seconds, "-i", image.path]
        chains.append(f"[{first_input + j}:v]scale={_even(box.w * k)}:{_even(box.h * k)}"
                      f":flags={scale_flags},format=rgba{fade},setsar=1[cim{j}]")
        chains.append(f"[cbg{j}][cim{j}]overlay=x={_even(box.x * k)}:y={_even(box.y * k)}"
                      f":format=yuv420:eof_action=repeat[cbg{j + 1}]")
    chains.append(f"[cbg{len(placed)}]setsar=1,format=yuv420p,trim=end_frame={card.duration_f},"
                  "setpts=PTS-STARTPTS[vcard]")
    return inputs, chains


def _video_part(timeline: Timeline, options: RenderOptions,
                subtitle_offset_s: float = 0.0) -> tuple[list[str], list[str]]:
    """Inputs and chains of the picture, ending in [vout]. `subtitle_offset_s`: where this
    timeline starts in the ad whose subtitles file is burned (a pass of a long render)."""
    out_w, out_h = output_size(timeline, options.preview)
    scale_flags = "fast_bilinear" if options.preview else "bicubic"
    segments = build_segments(timeline)
    inputs: list[str] = []
    for clip, seg in zip(timeline.clips, segments):
        # Every clip's decoder is open for the whole render and keeps the frames its threads
        # hold: 2 threads, not one per core, bound that (measured at 1080p: 16 clips 780 MB
        # with 2, 826 MB with the default 3 on 2 cores; the default grows with the cores).
        # A preview decodes without H.264's loop filter (a fifth of the decoding, which is
        # most of a preview's work on dense 720p footage); its softer blocks do not matter.
        fast = ["-skip_loop_filter", "all"] if options.preview else []
        inputs += ["-threads", str(DECODER_THREADS), *fast, *_clip_input_args(clip, seg)]
    chains: list[str] = []
    for i, seg in enumerate(segments):
        chains += _video_clip_chains(timeline, i, i, seg, out_w, out_h, scale_flags)
    if timeline.end_card is not None:
        card_inputs, card_chains = _end_card_chains(timeline, len(timeline.clips), out_w, out_h,
                                                    scale_flags)
        inputs += card_inputs
        chains += card_chains
    join, video = _join_video(timeline, segments)
    chains += join
    if options.ass_path:
        sub = f"subtitles=filename={escape_filter_path(options.ass_path)}"
        if options.fonts_dir:
            sub += f":fontsdir={escape_filter_path(options.fonts_dir)}"
        if subtitle_offset_s:
            # libass reads the ad's clock: shift this pass's frames onto it and back.
            sub = f"setpts=PTS+{_num(subtitle_offset_s)}/TB,{sub},setpts=PTS-STARTPTS"
    else:
        sub = "null"
    check = f",{picture_check_filters(timeline.fps)}" if options.check_picture else ""
    chains.append(f"[{video}]{sub}{check}[vout]")  # the encoder's frames, measured on their way
    return inputs, chains


def _final_filters(timeline: Timeline, loudness_gain_db: float | None) -> list[str]:
    """The mix's last stage: the gain from the measure pass, the true-peak limiter, exactly the
    timeline's samples."""
    total = samples_at(timeline.duration_f, timeline.fps)
    final = []
    if loudness_gain_db is not None:
        final.append(f"volume={loudness_gain_db:.2f}dB")
    # level=disabled: alimiter otherwise scales its output up to the ceiling. Its 5 ms
    # look-ahead delays the sound by 5 ms and drops that much at the end: apad restores the
    # exact length (latency=1 would compensate, but ffmpeg 5.1 lacks it).
    final += [f"aresample={SAMPLE_RATE * LIMITER_OVERSAMPLE}",
              f"alimiter=limit={limiter_level(timeline.true_peak_dbtp)}:attack=5:release=50"
              ":level=disabled", f"aresample={SAMPLE_RATE}", AFORMAT,
              f"apad=whole_len={total}", f"atrim=end_sample={total}"]
    return final


def _mixed(timeline: Timeline, first_index: int,
           from_mix: str | None) -> tuple[list[str], list[str], str | None]:
    """Inputs (numbered from `first_index`), chains and label of the mix: summed from the
    sources, or read from `from_mix`, the mix already written by build_mix_args (None: no
    sound at all)."""
    if from_mix is not None:
        return ["-i", from_mix], [], f"{first_index}:a"
    inputs, input_of_clip, first_voice, music_input = _audio_inputs(timeline, first_index)
    chains, mix = _mix_chains(timeline, input_of_clip, first_voice, music_input)
    return inputs, chains, mix


def _audio_part(timeline: Timeline, first_index: int, options: RenderOptions,
                from_mix: str | None = None) -> tuple[list[str], list[str]]:
    """Inputs (numbered from `first_index`) and chains of the final mix, ending in [aout]:
    the gain from the measure pass, the peak limiter, exactly the timeline's samples."""
    inputs, chains, mix = _mixed(timeline, first_index, from_mix)
    total = samples_at(timeline.duration_f, timeline.fps)
    if mix is None:
        chains.append(f"{_silence(total)}[aout]")
        return inputs, chains
    chains.append(f"[{mix}]" + ",".join(_final_filters(timeline, options.loudness_gain_db))
                  + "[aout]")
    return inputs, chains


def _encoder_settings(options: RenderOptions) -> tuple[str, int, str]:
    if options.preview:
        return "ultrafast", max(options.crf, 26), "96k"
    return options.preset, options.crf, options.audio_bitrate


# ---------------------------------------------------------------------------------- passes

# ffmpeg opens every input for the whole command (see the module note), so memory grows with the
# clip count. A longer timeline renders its picture in passes, each a stretch of the track that
# encodes its frames once into a part file; the join concatenates the parts by stream copy: still
# one encode generation for every frame.
SINGLE_PASS_MAX_CLIPS = 10  # one picture command up to here (the fastest; 8 clips: 857 MB peak)
# A longer ad: passes of about this many clips (32 clips with a fade on every cut: 939 MB peak;
# passes of 8 clips: 1.12 GB; one command: 2.82 GB).
CLIPS_PER_PASS = 6


@dataclass(frozen=True)
class Pass:
    """Track frames start_f .. end_f of a long render; both ends are hard cuts or the first
    frame of a transition window (no window is ever split between two passes)."""

    start_f: int
    end_f: int


def plan_passes(timeline: Timeline, single_max: int = SINGLE_PASS_MAX_CLIPS,
                per_pass: int = CLIPS_PER_PASS) -> list[Pass]:
    """The passes of a render: one when the timeline has at most `single_max` clips, else runs
    of about equal numbers of clips, at most `per_pass` each. A pass ends after its last clip:
    at the cut, or, when a transition follows, where that transition's window starts (the next
    pass then opens on the outgoing clip's last frames, which it decodes once more: one input
    more than `per_pass` for a few frames)."""
    n = len(timeline.clips)
    if n <= single_max:
        return [Pass(0, timeline.duration_f)]
    size = math.ceil(n / math.ceil(n / per_pass))
    after = transitions_by_clip(timeline)
    bounds = [0]
    for last in range(size - 1, n - 1, size):
        cut = timeline.clips[last + 1].start_f
        bounds.append(cut - after[last].head_f if last in after else cut)
    bounds.append(timeline.duration_f)
    return [Pass(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def pass_timeline(timeline: Timeline, part: Pass) -> Timeline:
    """The picture of one pass as a timeline of its own: from frame 0, its clips trimmed to the
    pass, the transitions between them renumbered, no sound or captions (both are rendered for
    the whole ad)."""
    fps = timeline.fps
    data = timeline.model_dump()
    inside = [i for i, c in enumerate(timeline.clips)
              if c.start_f < part.end_f and c.end_f > part.start_f]
    clips = []
    for i in inside:
        c = timeline.clips[i]
        skip_f = max(0, part.start_f - c.start_f)
        duration_f = min(c.end_f, part.end_f) - c.start_f - skip_f
        moving_f = max(1, c.duration_f - c.hold_f)  # frames from moving_f on are held
        if skip_f < moving_f:
            shown_f, hold_f = skip_f, max(0, skip_f + duration_f - moving_f)
        else:  # the pass starts inside the hold: that one image, held
            shown_f, hold_f = moving_f - 1, duration_f - 1
        clips.append({**data["clips"][i], "start_f": c.start_f + skip_f - part.start_f,
                      "duration_f": duration_f, "hold_f": hold_f, "audio": "mute",
                      "source_in_s": c.source_in_s + shown_f * c.speed / fps})
    first, last = inside[0], inside[-1]
    data["clips"] = clips
    data["transitions"] = [{**t, "after_clip": t["after_clip"] - first}
                           for t in data["transitions"] if first <= t["after_clip"] < last]
    card = timeline.end_card
    data["end_card"] = ({**data["end_card"], "start_f": card.start_f - part.start_f}
                        if card is not None and part.end_f == timeline.duration_f else None)
    data.update(duration_f=part.end_f - part.start_f, voice=[], captions=[], music=None)
    return Timeline.model_validate(data)


def build_pass_args(timeline: Timeline, part: Pass, output: str,
                    options: RenderOptions) -> list[str]:
    """The picture of `part` (subtitles included; the whole ad for a single pass), H.264 only.
    The gain in `options` plays no part."""
    piece = pass_timeline(timeline, part)
    inputs, chains = _video_part(piece, options, subtitle_offset_s=part.start_f / timeline.fps)
    preset, crf, _ = _encoder_settings(options)
    return [*inputs, "-filter_complex", ";\n".join(chains), "-map", "[vout]", "-an",
            "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-r", str(piece.fps), "-t", _num(piece.duration_f / piece.fps), output]


def build_sound_args(timeline: Timeline, output: str, options: RenderOptions, *,
                     from_mix: str | None = None, finished: str | None = None) -> list[str]:
    """The sound of the whole ad: the mix, the gain in `options`, the limiter; AAC only (the
    silence of the ad's length when nothing sounds). With `from_mix` the mix is read from
    that file (see build_mix_args) instead of summed again from the sources; with `finished`
    the sound is that file, the mix already through the gain in `options` and the limiter (a
    makeup pass's, see build_audio_measure_args), and is only encoded."""
    _, _, abr = _encoder_settings(options)
    if finished is not None:
        inputs, chains = ["-i", finished], ["[0:a]anull[aout]"]
    else:
        inputs, chains = _audio_part(timeline, 0, options, from_mix)
    return [*inputs, "-filter_complex", ";\n".join(chains), "-map", "[aout]", "-vn",
            "-c:a", "aac", "-b:a", abr, "-ar", str(SAMPLE_RATE), "-ac", "2",
            "-t", _num(timeline.duration_f / timeline.fps), output]


def build_stem_args(timeline: Timeline, stem: str, output: str,
                    loudness_gain_db: float | None) -> list[str]:
    """One bus of the mix (see STEMS) as it sounds in the ad, to a 32-bit float WAV: the same
    chains and the mix's loudness gain, without the limiter (which acts on the whole mix). For
    measuring the mix (ducking depth, voice over music) and for handing stems to an editor."""
    if stem not in STEMS:
        raise ValueError(f"unknown stem {stem!r}")
    inputs, input_of_clip, first_voice, music_input = _audio_inputs(timeline, 0)
    chains, mix = _mix_chains(timeline, input_of_clip, first_voice, music_input, solo=stem)
    total = samples_at(timeline.duration_f, timeline.fps)
    if mix is None:
        chains.append(f"{_silence(total)}[aout]")
    else:
        gain = f"volume={loudness_gain_db:.2f}dB," if loudness_gain_db is not None else ""
        chains.append(f"[{mix}]{gain}{AFORMAT},apad=whole_len={total},"
                      f"atrim=end_sample={total}[aout]")
    return [*inputs, "-filter_complex", ";\n".join(chains), "-map", "[aout]", "-vn",
            "-c:a", "pcm_f32le", "-ar", str(SAMPLE_RATE), "-ac", "2", output]


def concat_list(paths: list[str]) -> str:
    """An ffconcat file naming `paths` (quoted for the concat demuxer)."""
    quoted = ["'" + p.replace("'", "'\\''") + "'" for p in paths]
    return "ffconcat version 1.0\n" + "".join(f"file {q}\n" for q in quoted)


def build_join_args(timeline: Timeline, pictures: str, sound_path: str, output: str, *,
                    listing: bool) -> list[str]:
    """The picture and the sound into the MP4, without re-encoding. `pictures`: the single
    part, or with `listing` an ffconcat list of the parts (see concat_list)."""
    read = ["-f", "concat", "-safe", "0", "-i", pictures] if listing else ["-i", pictures]
    return [*read, "-i", sound_path,
            "-map", "0:v:0", "-map", "1:a:0", "-c", "copy", "-movflags", "+faststart",
            "-t", _num(timeline.duration_f / timeline.fps), output]


def has_sound(timeline: Timeline) -> bool:
    """Whether the mix has anything to measure (voice, music or clip sound)."""
    return bool(timeline.voice or timeline.music is not None or any(clip_audio_used(timeline)))


def build_audio_measure_args(timeline: Timeline, limited_gain_db: float | None = None, *,
                             from_mix: str | None = None, keep: str | None = None) -> list[str]:
    """The first pass of the two-pass loudness normalisation: the same mix, audio only (only
    the inputs that make sound are opened, no picture is decoded), measured by ebur128 (true
    peak on) into a null sink. Its stderr ends with the "Summary:" block that
    adcut.media.audio.parse_ebur128_summary reads. With `limited_gain_db`, what is measured is
    the mix after that gain and the limiter, as the render will output it (see
    adcut.render.run.measure_gain_db: a limiter that takes off loudness is made up for): its
    integrated loudness only, since the limiter sets the peak (true-peak metering oversamples
    4x and took a quarter of each such pass). With `from_mix` the mix is read from that file
    (see build_mix_args); with `keep` what is measured is also written there (32-bit float
    WAV), for the render to encode when this gain is the one it takes (build_sound_args)."""
    sink = ["-f", "null", "-"] if keep is None else [*_FLOAT_WAV, keep]
    return _measure_args(timeline, limited_gain_db, from_mix, sink)


def build_mix_args(timeline: Timeline, output: str) -> list[str]:
    """The first loudness pass (build_audio_measure_args) that also writes the mix it measures
    to `output`, a 32-bit float WAV of exactly the timeline's samples: the makeup passes and
    the sound then read that file instead of decoding, ducking and summing the sources again
    (the same samples: the mix is float throughout)."""
    return _measure_args(timeline, None, None, [*_FLOAT_WAV, output])


def _measure_args(timeline: Timeline, limited_gain_db: float | None, from_mix: str | None,
                  sink: list[str]) -> list[str]:
    if not has_sound(timeline):
        raise ValueError("the timeline has no sound to measure")
    inputs, chains, mix = _mixed(timeline, 0, from_mix)
    total = samples_at(timeline.duration_f, timeline.fps)
    stage = (f"apad=whole_len={total},atrim=end_sample={total}" if limited_gain_db is None
             else ",".join(_final_filters(timeline, limited_gain_db)))
    # framelog=verbose: the per-frame lines stay below the default log level (ffmpeg 5.1 has
    # no framelog=quiet); the summary is logged at info.
    peak = "peak=true:" if limited_gain_db is None else ""
    chains.append(f"[{mix}]{stage},ebur128={peak}framelog=verbose[aout]")
    return [*inputs, "-filter_complex", ";\n".join(chains), "-map", "[aout]", *sink]
