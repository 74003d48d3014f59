"""The music under the voice (PURE): how loud the bed is, and its gain over time.

Level plan. The plan gives the music's level relative to the voice (`PlanMusic.gain_db`, in
LU: -6 = the music between lines 6 LU under the voice) and how far it dips under speech
(`duck_db`). Both inputs are measured (integrated loudness of the spoken lines and of the
stretch of track the ad plays, see adcut.render.stems), so the gain on the music file is
whatever brings it there: a loud master and a quiet one end up at the same place against the
voice. The dip is at least what keeps the voice MIN_VOICE_OVER_MUSIC_LU + a margin over the
music under it (a track's loudness moves by a few LU along its length).

Ducking. The renderer knows when every line plays, so the music's gain is an envelope computed
from the voice cues, not a compressor reacting to the voice after the fact: it goes down over
`attack_ms` ending exactly where a line starts, stays down while it plays and comes back up over
`release_ms` from where it ends. Lines closer together than MIN_HOLD_S plus both ramps keep the
music down between them: a swell shorter than the 400 ms over which loudness is perceived
(EBU momentary loudness) is heard as the music pumping, not as the music coming back.
"""

from __future__ import annotations

from adcut.core.timeline import Duck, Timeline

MIN_VOICE_OVER_MUSIC_LU = 12.0
# A track's loudness over any 3 s moves by about this around its integrated loudness.
LEVEL_MARGIN_LU = 3.0
MIN_HOLD_S = 0.4  # EBU R128 momentary window: the shortest stretch heard as a level
# Samples per gain step: the envelope is evaluated per frame of this many samples (2.7 ms at
# 48 kHz; a 12 dB ramp over 200 ms then moves at most 0.25 dB a step, far below audibility).
ENVELOPE_FRAME_SAMPLES = 128
GAIN_LIMITS_DB = (-60.0, 24.0)  # MusicCue.gain_db's range

# The default duck, for measuring code that has no timeline at hand.
MIN_SWELL_S = (Duck().attack_ms + Duck().release_ms) / 1000 + MIN_HOLD_S

Span = tuple[float, float]


def min_gap_s(duck: Duck) -> float:
    """The shortest pause between lines over which the music comes back up."""
    return (duck.attack_ms + duck.release_ms) / 1000 + MIN_HOLD_S


def duck_spans(speech: list[Span], duck: Duck) -> list[Span]:
    """Where the music is fully down: the speech intervals (seconds), merged across pauses
    shorter than min_gap_s(duck)."""
    gap = min_gap_s(duck)
    spans: list[list[float]] = []
    for a, b in sorted(speech):
        if spans and a - spans[-1][1] < gap:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    return [(a, b) for a, b in spans]


def _num(x: float) -> str:
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def envelope_expr(spans: list[Span], duck: Duck) -> str | None:
    """An ffmpeg expression of `t` (seconds) for the music's gain: 1 outside the spans,
    10^(-depth/20) inside, raised-cosine ramps before (attack) and after (release) each span.
    The spans are at least both ramps apart, so at most one ramp is ever active. None when
    there is nothing to duck."""
    if not spans or duck.depth_db <= 0:
        return None
    attack, release = duck.attack_ms / 1000, duck.release_ms / 1000
    # Per span: x = min((t - ramp start) / attack, (ramp end - t) / release), clipped to 0..1,
    # shaped 0.5 - 0.5 cos(pi x): 0 away from the span, 1 inside it.
    terms = [f"0.5-0.5*cos(PI*clip(min((t-{_num(a - attack)})/{_num(attack)}"
             f",({_num(b + release)}-t)/{_num(release)}),0,1))" for a, b in spans]
    return f"pow(10,-{_num(duck.depth_db / 20)}*({'+'.join(terms)}))"


def gain_at(t: float, spans: list[Span], duck: Duck) -> float:
    """The envelope's linear gain at `t` (what envelope_expr computes; for tests and plots)."""
    import math

    attack, release = duck.attack_ms / 1000, duck.release_ms / 1000
    total = 0.0
    for a, b in spans:
        x = min(max(min((t - (a - attack)) / attack, (b + release - t) / release), 0.0), 1.0)
        total += 0.5 - 0.5 * math.cos(math.pi * x)
    return 10 ** (-duck.depth_db / 20 * total)


def music_duck_filters(timeline: Timeline) -> list[str]:
    """The filters that apply the duck to the music bus (in track time, from sample 0)."""
    music = timeline.music
    if music is None or music.duck is None or not timeline.voice:
        return []
    fps = timeline.fps
    speech = [(c.start_f / fps, (c.start_f + c.duration_f) / fps) for c in timeline.voice]
    expr = envelope_expr(duck_spans(speech, music.duck), music.duck)
    if expr is None:
        return []
    # Small frames so the gain (evaluated once per frame) moves smoothly; timestamps rebuilt
    # from the sample count, so `t` is exact track time.
    return [f"asetnsamples=n={ENVELOPE_FRAME_SAMPLES}:p=0", "asetpts=N/SR/TB",
            f"volume='{expr}':eval=frame"]


def plan_music_level(bed_lu: float, depth_db: float, voice_lufs: float | None,
                     music_lufs: float | None) -> tuple[float, float, str | None]:
    """(gain on the music file in dB, duck depth in dB, a note) for a music bed `bed_lu` LU
    relative to the voice between lines. Without both loudnesses (no voice, a silent track)
    `bed_lu` is taken as a plain gain, as before levels were measured."""
    if voice_lufs is None or music_lufs is None:
        return bed_lu, depth_db, None
    lo, hi = GAIN_LIMITS_DB
    gain = round(min(hi, max(lo, voice_lufs + bed_lu - music_lufs)), 2)
    # What the dip must at least be for the voice to stay clear over the music under it.
    needed = round(MIN_VOICE_OVER_MUSIC_LU + LEVEL_MARGIN_LU + bed_lu, 2)
    depth = max(depth_db, needed)
    note = (f"music: {gain:+.1f} dB (voice {voice_lufs:.1f} LUFS, track {music_lufs:.1f} LUFS): "
            f"{-bed_lu:g} LU under the voice between lines, {depth - bed_lu:g} LU under it "
            "while it speaks")
    if depth > depth_db:
        note += f" (dip raised from {depth_db:g} to {depth:g} dB to keep the voice clear)"
    return gain, min(depth, 40.0), note
