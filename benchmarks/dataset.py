"""The dataset builder against a synthesised corpus whose truth is known, in one run.

    .venv/bin/python benchmarks/dataset.py [--ads 30] [--seed 0] [--work DIR] [--ray] [--json]

1. `adcut dataset synth -o WORK/corpus --ads N`: finished ads rendered by adcut from packaged
   footage and music, each with the truth it was made from (when each line is spoken, which
   track plays); reused when it is already there.
2. A music library holding the tracks the ads used among others: every packaged track and
   sound of the tokenizer benchmark (30 immich-memories-music tracks, arcade's music and
   sounds; 10 s windows every second), and an audio tokenizer trained on it (`adcut tokenizer
   train --modality audio`), as a user with a music library would. The video tokenizer is the
   builder's default: trained on the corpus's own frames.
3. `adcut dataset build WORK/corpus -o WORK/data --tokenizer AUDIO_TOK`, timed, with the peak
   memory of the process (the one worker of a local build).
4. The floor: ffmpeg decoding the same ads (picture and sound) to nothing.
5. Against the truth:
   - sentence boundaries: a true line counts when the sentence that overlaps it most starts
     and ends within 0.25 s of it (target: 90% of lines);
   - word error rate of the transcript against the true lines (words lower-cased, punctuation
     dropped);
   - music identified: the ad's 8 audio tokens (as the builder writes them: the codes whose
     decoding comes closest to the ad's music vector), decoded, find the true track's windows
     first in the music library (target: 90% of the ads with music); ads truly without music
     must come out without;
   - every clip's frames tokenised (clip table).
6. The projection for 700K ads of 30 s on 100 nodes, from the measured seconds of work per
   second of ad, for nodes like this 2-core machine (one worker each) and for 16-core nodes
   (8 workers each, assuming linear scaling: stated, not measured).
With --ray, the same build through `--ray local` (two actors per stage) is timed too and its
files compared with the local build's.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

BOUNDARY_S = 0.25
PAPER_ADS = 700_000
PAPER_AD_S = 30.0
NODES = 100


# Runs a command and prints, last on stderr, the peak resident memory of it and its children.
_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]).returncode; "
         "print('peak_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
         "sys.exit(r)")


def adcut(*args: str) -> tuple[float, subprocess.CompletedProcess, float]:
    """(seconds, the finished process, peak memory in MB of the command and its children)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PEAK, sys.executable, "-m", "adcut", *args],
                          capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"adcut {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    peak = re.findall(r"peak_kb (\d+)", proc.stderr)
    return time.perf_counter() - t0, proc, int(peak[-1]) / 1024 if peak else float("nan")


def decode_floor_s(videos: list[Path]) -> float:
    from adcut.media.ffmpeg import find_ffmpeg

    ff = find_ffmpeg().path
    t0 = time.perf_counter()
    for v in videos:
        subprocess.run([ff, "-v", "error", "-nostdin", "-i", str(v), "-f", "null", "-"], check=True)
    return time.perf_counter() - t0


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9$€£%']+", text.lower().replace(",", ""))


def edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def boundary_hits(truth_lines: list[dict], sentences: list[list]) -> list[bool]:
    """Per true line: does a sentence start within 0.25 s of its start and one end within
    0.25 s of its end? A line of two clauses spoken with a pause (a colon, a full stop inside
    the caption) is two sentences to the builder, as the paper splits at every clause mark."""
    starts = np.array([s[0] for s in sentences]) if sentences else np.zeros(0)
    ends = np.array([s[1] for s in sentences]) if sentences else np.zeros(0)
    hits = []
    for line in truth_lines:
        hits.append(bool(len(starts)) and np.abs(starts - line["start_s"]).min() <= BOUNDARY_S
                    and np.abs(ends - line["end_s"]).min() <= BOUNDARY_S)
    return hits


def split_lines(truth_lines: list[dict], sentences: list[list]) -> int:
    """True lines the builder heard as more than one sentence."""
    return sum(sum(1 for s0, s1, _ in sentences if s0 >= line["start_s"] - BOUNDARY_S
                   and s1 <= line["end_s"] + BOUNDARY_S) > 1 for line in truth_lines)


def music_identity(data: Path, music_lib: Path, audio_tok: Path) -> dict[str, str | None]:
    """ad key -> the library track its decoded audio tokens find first (None without music).
    The tokens are those the builder writes for the ad's music vector (build.music_codes)."""
    from adcut.dataset.build import music_codes
    from adcut.library.catalog import Catalog
    from adcut.tokens.library import library_vectors
    from adcut.tokens.tokenizer import Tokenizer

    tok = Tokenizer.load(audio_tok)
    with Catalog(music_lib, readonly=True) as catalog:
        lib = library_vectors(catalog, "audio")
        # The library's copies are named NNN-<track file name>.
        names = {s["id"]: Path(s["path"]).name.split("-", 1)[1] for s in catalog.sources()}
    index = lib.vectors / np.linalg.norm(lib.vectors, axis=1, keepdims=True)
    found: dict[str, str | None] = {}
    for path in sorted((data / "ads").glob("*.npz")):
        with np.load(path) as z:
            if "music" not in z.files:
                found[path.stem] = None
                continue
            codes = music_codes(tok, z["music"][None, :])
        decoded = tok.decode(codes)[0]
        best = int(np.argmax(index @ (decoded / np.linalg.norm(decoded))))
        found[path.stem] = names[lib.sources[best]]
    return found


def measure(corpus: Path, data: Path, music_lib: Path, audio_tok: Path) -> dict:
    truths = {p.name[: -len(".truth.json")]: json.loads(p.read_text()) for p in (corpus / "ads").glob("*.truth.json")}
    hits: list[bool] = []
    split = 0
    errors = ref_words = 0
    clips_total = clips_tokenised = 0
    for key, truth in sorted(truths.items()):
        ad_file = data / "ads" / f"{key}.json"
        if not ad_file.is_file():
            continue
        ad = json.loads(ad_file.read_text())
        hits += boundary_hits(truth["lines"], ad["sentences"])
        split += split_lines(truth["lines"], ad["sentences"])
        ref = [w for line in truth["lines"] for w in _words(line["text"])]
        hyp = [w for _, _, text in ad["words"] for w in _words(text)]
        errors += edit_distance(ref, hyp)
        ref_words += len(ref)
    for line in (data / "clips.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["frame_seconds"]:
            clips_total += 1
            clips_tokenised += row["v_tok"] is not None and row["v_tok"].count("<|frame_start|>") == len(row["frame_seconds"])
    ident = music_identity(data, music_lib, audio_tok)
    with_music = {k for k, t in truths.items() if t.get("music")}
    right = sum(ident.get(k) == truths[k]["music"]["file"] for k in with_music)
    false_music = sum(ident.get(k) is not None for k in truths if k not in with_music)
    return {
        "lines": len(hits), "boundaries_within_0_25_s": round(float(np.mean(hits)), 4) if hits else None,
        "lines_heard_as_several_sentences": split,
        "wer": round(errors / max(ref_words, 1), 4), "ref_words": ref_words,
        "ads_with_music": len(with_music), "music_identified": round(right / max(len(with_music), 1), 4),
        "music_found_where_none": false_music,
        "clips_with_frames": clips_total, "clips_tokenised": clips_tokenised,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ads", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0, help="the corpus's seed (another seed: other ads)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/adcut-bench-dataset"))
    ap.add_argument("--ray", action="store_true", help="also build with --ray local and compare")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    corpus, data, audio_tok = work / "corpus", work / "data", work / "tok-audio"

    synth_s, _, _ = adcut("dataset", "synth", "-o", str(corpus), "--ads", str(args.ads),
                          "--seed", str(args.seed))
    videos = sorted((corpus / "ads").glob("*.mp4"))
    ad_s = sum(json.loads(p.with_suffix("").with_suffix(".truth.json").read_text())["duration_s"]
               for p in videos)
    import tokenizer as token_bench

    music_lib, _, _ = token_bench.build_library(work, "audio")
    if not (audio_tok / "config.json").is_file():
        adcut("tokenizer", "train", "--library", str(music_lib), "--modality", "audio", "-o", str(audio_tok))

    shutil.rmtree(data, ignore_errors=True)
    build_s, proc, peak_mb = adcut("dataset", "build", str(corpus), "-o", str(data), "--tokenizer",
                                   str(audio_tok), "--json")
    report = json.loads(proc.stdout)
    floor_s = decode_floor_s(videos)
    figures = measure(corpus, data, music_lib, audio_tok)

    n = len(videos)
    analysis_s = report["run"]["analysis_s"]
    work_per_ad_s = analysis_s / ad_s  # seconds of analysis per second of ad, one 2-core worker
    paper_work_s = PAPER_ADS * PAPER_AD_S * work_per_ad_s
    result = {
        "ads": n, "ad_minutes": round(ad_s / 60, 2), "synth_s": round(synth_s, 1),
        "build_s": round(build_s, 1), "analysis_s": round(analysis_s, 1),
        "ads_per_minute": round(n / analysis_s * 60, 2),
        "decode_floor_s": round(floor_s, 1), "floor_ads_per_minute": round(n / floor_s * 60, 1),
        "analysis_over_floor": round(analysis_s / floor_s, 1),
        "work_s_per_ad_s": round(work_per_ad_s, 3),
        "hours_700k_ads_100_nodes_2core": round(paper_work_s / NODES / 3600, 1),
        "hours_700k_ads_100_nodes_16core_8_workers": round(paper_work_s / NODES / 8 / 3600, 1),
        "peak_worker_rss_mb": round(peak_mb), **figures,
        "report": {k: report[k] for k in ("ads", "clips", "tokens", "tasks")},
    }
    if args.ray:
        ray_data = work / "data-ray"
        shutil.rmtree(ray_data, ignore_errors=True)
        ray_s, ray_proc, _ = adcut("dataset", "build", str(corpus), "-o", str(ray_data), "--tokenizer",
                                   str(audio_tok), "--ray", "local", "--workers", "2", "--json")
        result["ray_local_analysis_s"] = json.loads(ray_proc.stdout)["run"]["analysis_s"]
        same = subprocess.run(["diff", "-rq", "-x", "tokenizers", str(data), str(ray_data)], capture_output=True, text=True)
        result["ray_local_build_s"] = round(ray_s, 1)
        result["ray_files_identical"] = same.returncode == 0 or same.stdout.strip()
    print(json.dumps(result, indent=1) if args.json else "\n".join(f"{k:45s} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
