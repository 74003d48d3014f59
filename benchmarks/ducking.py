"""Ducking and the voice-over level as a listener hears them, measured on the separate stems.

    .venv/bin/python benchmarks/ducking.py [--out DIR] [--json]

Builds real timelines the way `adcut render` does (generated footage, lines spoken by the
bundled hibari voice, music: real tracks from immich-memories-music and a steady tone),
compiles each plan, renders its voice bus and its music bus apart at their level in the ad
(adcut.render.stems) and reports, per ad:

- music under speech vs in the gaps and at the ends (dB; target >= 10);
- the slowest release after a line (s; target <= 0.5);
- voice over music under speech (LU; target >= 12);
- the ad's integrated loudness and true peak after AAC (target -14 LUFS, <= -1 dBTP).

Each plan has lines 0.5 s apart (the compiler's lead-in + breath: the music stays down across
them), one shot without a line in the middle (a gap) and one at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LINES = ["Meet Verde, cold brew steeped for eighteen hours.",
         "Smooth, and low in acid.",
         None,  # a shot without a line: the music comes up
         "Four ninety-nine a bottle, this week only.",
         "Order today at verde dot coffee.",
         None]
TRACKS = {
    "energetic": "tracks/energetic/energetic_electronic_2.opus",
    "happy": "tracks/happy/happy_acoustic_1.opus",
    "calm": "tracks/calm/calm_acoustic_1.opus",
}


def make_media(folder: Path) -> dict[str, Path]:
    from tests import synth

    synth.color_shots(folder / "shot.mp4", ["teal"], [8.0], size=(320, 180), fps=25,
                      audio="none")
    synth.tone(folder / "tone.wav", freq_hz=220, duration_s=40, amplitude=0.3)
    import immich_memories_music

    base = Path(immich_memories_music.__file__).parent
    music = {name: base / rel for name, rel in TRACKS.items()}
    music["tone"] = folder / "tone.wav"
    return music


def plan_for(music: Path, folder: Path):
    from adcut.core.plan import EditPlan

    shots = []
    for line in LINES:
        shot = {"source": str(folder / "shot.mp4"), "in_s": 0.0, "out_s": 2.0 if line is None
                else 8.0}
        if line:
            shot["line"] = line
        shots.append(shot)
    return EditPlan.model_validate({"aspect": "1:1", "fps": 25, "shots": shots,
                                    "music": {"source": str(music), "start_s": 5.0},
                                    "planner": "manual"})


def measure_ad(timeline, folder: Path) -> dict:
    """The stems report and the AAC render's loudness."""
    from adcut.media.audio import parse_ebur128_summary
    from adcut.media.ffmpeg import run_ffmpeg
    from adcut.render.ducking import MIN_SWELL_S
    from adcut.render.graph import RenderOptions, build_sound_args
    from adcut.render.run import measure_gain_db
    from adcut.render.stems import measure_mix

    report = measure_mix(timeline, folder, min_gap_s=MIN_SWELL_S)
    gain = measure_gain_db(timeline)
    sound = folder / "sound.m4a"
    run_ffmpeg(["-y", *build_sound_args(timeline, str(sound),
                                        RenderOptions(loudness_gain_db=gain))])
    loud = parse_ebur128_summary(run_ffmpeg(["-i", str(sound), "-af",
                                             "ebur128=peak=true:framelog=verbose",
                                             "-f", "null", "-"]))
    return {"depth_db": report.depth_db, "worst_release_s": report.worst_release_s,
            "voice_over_music_lu": report.voice_over_music_lu,
            "music_speech_lufs": report.music_speech_lufs,
            "music_gap_lufs": report.music_gap_lufs, "releases_s": report.releases_s,
            "gap_s": report.gap_s, "music_gain_db": timeline.music.gain_db,
            "lufs": loud.integrated_lufs if loud else None,
            "true_peak_dbtp": loud.true_peak_dbtp if loud else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from adcut.core.files import cache_dir
    from adcut.render.compile import compile_plan, gather_facts

    work = Path(args.out or tempfile.mkdtemp(prefix="adcut-ducking-"))
    work.mkdir(parents=True, exist_ok=True)
    music = make_media(work)
    rows = {}
    for name, path in music.items():
        plan = plan_for(path, work)
        facts = gather_facts(plan, cache_dir=cache_dir(), base_dir=work)
        timeline = compile_plan(plan, facts, base_dir=work)
        folder = work / name
        folder.mkdir(exist_ok=True)
        rows[name] = measure_ad(timeline, folder)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'music':<10} {'depth dB':>9} {'release s':>10} {'voice/music LU':>15} "
          f"{'gain dB':>8} {'LUFS':>6} {'dBTP':>6}")
    for name, r in rows.items():
        print(f"{name:<10} {r['depth_db']!s:>9} {r['worst_release_s']!s:>10} "
              f"{r['voice_over_music_lu']!s:>15} {r['music_gain_db']:>8.1f} "
              f"{r['lufs']!s:>6} {r['true_peak_dbtp']!s:>6}")
    print("targets: depth >= 10 dB, release <= 0.5 s, voice over music >= 12 LU, "
          "-14 LUFS, <= -1 dBTP")


if __name__ == "__main__":
    main()
