"""Planning speed on a large library, against the FAISS look-ups it performs (same run).

A library of 1,000 clips and 100 music tracks is written straight into a catalog (random
vision embeddings, captions drawn from a vocabulary, their real MiniLM text embeddings, FAISS
indexes), then a 30 s ad is planned with the zero-shot planner. Targets: planning under 1 s
(models already loaded), and within 10x of the time of its FAISS look-ups.

Usage: .venv/bin/python benchmarks/plan_speed.py [--clips 1000] [--tracks 100]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from adcut.core.brief import Brief
from adcut.encoders.registry import load_text_encoder
from adcut.library.catalog import (Catalog, ClipRecord, EmbeddingRecord, SourceBundle,
                                   SourceRecord, TrackRecord, WindowRecord)
from adcut.library.index import sync_index
from adcut.library.store import save_embeddings
from adcut.planner.edit import load_library, plan_edit
from adcut.planner.retrieve import TextRetriever
from adcut.planner.zero_shot import ZeroShotPlanner

SUBJECTS = ["a runner", "a red running shoe", "a woman", "a man", "a dog", "a coffee cup",
            "a phone", "a city street", "a forest trail", "a kitchen", "a bicycle", "a beach",
            "a laptop", "a bottle of water", "a child", "a car", "a mountain", "a gym"]
ACTIONS = ["in close-up", "at sunrise", "moving fast", "on a table", "in slow motion",
           "seen from above", "in the rain", "at night", "with friends", "on a white background"]
MOODS = ["Happy music", "Exciting music", "Tender music", "Sad music", "Electronic music",
         "Rock music", "Pop music", "Ambient music", "Guitar", "Piano", "Drum"]


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def build_library(folder: Path, n_clips: int, n_tracks: int) -> None:
    rng = np.random.default_rng(0)
    pick = random.Random(0)
    text = load_text_encoder("minilm")
    per_source = 10
    with Catalog(folder) as catalog:
        for s in range(n_clips // per_source):
            sid = f"f{s:015x}"
            captions = [f"{pick.choice(SUBJECTS)} {pick.choice(ACTIONS)}" for _ in range(per_source)]
            save_embeddings(folder, f"emb/{sid}.clips.npy", unit(rng, per_source, 1280))
            save_embeddings(folder, f"emb/{sid}.texts.npy", text.encode_texts(captions))
            clips = [ClipRecord(id=f"{sid}-{i:04d}", idx=i, start_s=3.0 * i, end_s=3.0 * i + 3.0,
                                start_f=90 * i, end_f=90 * i + 90, emb_row=i, thumb="",
                                speech_prob=0.0, music_prob=0.0, has_speech=False,
                                has_music=False, labels=[], transcript="", caption=c)
                     for i, c in enumerate(captions)]
            catalog.write_bundle(SourceBundle(
                source=SourceRecord(id=sid, kind="footage", path=f"/footage/{sid}.mp4",
                                    content_hash=sid, size_bytes=1, mtime_ns=1, container="mov",
                                    duration_s=30.0, decoded_s=30.0, width=1920, height=1080,
                                    rotation_deg=0, fps=30.0, is_vfr=False, has_audio=False),
                clips=clips,
                embeddings=[EmbeddingRecord("clips", "bench", "1", 1280, per_source,
                                            f"emb/{sid}.clips.npy"),
                            EmbeddingRecord("texts", text.name, text.version, text.dim,
                                            per_source, f"emb/{sid}.texts.npy")]))
        for t in range(n_tracks):
            sid = f"m{t:015x}"
            save_embeddings(folder, f"emb/{sid}.windows.npy", unit(rng, 35, 1024))
            tags = sorted(((m, float(rng.random())) for m in MOODS), key=lambda x: -x[1])
            catalog.write_bundle(SourceBundle(
                source=SourceRecord(id=sid, kind="music", path=f"/music/{sid}.mp3",
                                    content_hash=sid, size_bytes=1, mtime_ns=1, container="mp3",
                                    duration_s=180.0, decoded_s=180.0, width=None, height=None,
                                    rotation_deg=None, fps=None, is_vfr=None, has_audio=True),
                track=TrackRecord(title=f"track {t}", tempo_bpm=float(rng.integers(70, 160)),
                                  beat_times_s=[0.5 * k for k in range(360)],
                                  integrated_lufs=-14.0, lra_lu=5.0, true_peak_dbtp=-1.0,
                                  tags=tags),
                windows=[WindowRecord(id=f"{sid}-w{w:03d}", idx=w, start_s=5.0 * w,
                                      end_s=5.0 * w + 10, emb_row=w, rms_db=-20.0 + rng.random(),
                                      tags=tags[:8]) for w in range(35)],
                embeddings=[EmbeddingRecord("windows", "bench", "1", 1024, 35,
                                            f"emb/{sid}.windows.npy")]))
        for name in ("clips", "texts", "music"):
            sync_index(catalog, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--tracks", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="adcut-plan-") as tmp:
        lib = Path(tmp) / "lib"
        t = time.perf_counter()
        build_library(lib, args.clips, args.tracks)
        print(f"library: {args.clips} clips, {args.tracks} tracks (built in {time.perf_counter() - t:.1f} s)")
        brief = Brief(product="Spark running shoe", brand="Spark",
                      selling_points=["light as a feather", "fast on every road"],
                      description="for runners who love speed at sunrise", duration_s=30,
                      tone="energetic", call_to_action="Get yours today")
        t = time.perf_counter()
        clips, tracks = load_library(lib)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        planner = ZeroShotPlanner()
        retriever = TextRetriever(lib)
        plan_edit(clips, tracks, brief, planner, retrieve=retriever)  # warm-up: models load
        warm_s = time.perf_counter() - t
        times, lookups, retrievals = [], [], []
        for k in range(args.repeats):
            retriever.lookup_s, retriever.total_s, retriever.lookups = 0.0, 0.0, 0
            t = time.perf_counter()
            plan, why = plan_edit(clips, tracks, brief, planner, seed=k, retrieve=retriever)
            times.append(time.perf_counter() - t)
            lookups.append(retriever.lookup_s)
            retrievals.append(retriever.total_s)
        plan_s, lookup_s = float(np.median(times)), float(np.median(lookups))
        retrieval_s = float(np.median(retrievals))
        print(f"catalog read: {load_s:.3f} s; first plan incl. model loads: {warm_s:.2f} s")
        print(f"planning a 30 s ad ({len(plan.shots)} shots): {plan_s:.3f} s median of "
              f"{args.repeats} (target < 1 s)")
        print(f"FAISS look-ups in it: {retriever.lookups} queries, {lookup_s * 1000:.2f} ms -> "
              f"planning is {plan_s / max(lookup_s, 1e-9):.0f}x the searches (target <= 10x)")
        print(f"look-ups with their query encoding: {retrieval_s * 1000:.1f} ms -> planning is "
              f"{plan_s / max(retrieval_s, 1e-9):.1f}x the look-ups")
        print(f"notes: {why.notes[0] if why.notes else '-'}")


if __name__ == "__main__":
    main()
