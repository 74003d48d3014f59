"""Ingest speed and memory, as ratios against baselines measured in the same run.

1. Speed: `adcut ingest` of 1080p H.264 footage vs the decode floor (ffmpeg decoding the same
   file to null). Target: at most 3x. Also seconds of footage per wall second.
2. Memory: peak RSS of the ingest process. Target: under 1.5 GB for a 10-minute 1080p file
   (--minutes 10; the default is shorter so the script finishes in a few minutes).
3. Incremental: re-running ingest on an unchanged 20-file library (the whole CLI process,
   start-up included). Target: under 2 s.

Usage: .venv/bin/python benchmarks/ingest_speed.py [--minutes 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adcut.media.ffmpeg import find_ffmpeg

ADCUT = [sys.executable, "-m", "adcut"]


def make_footage(path: Path, minutes: float) -> None:
    """1080p30 H.264 with a hard cut every 4 s between moving sources, film-like grain (so the
    bitrate and decode cost resemble camera footage) and a soundtrack. Beyond 2 minutes, a
    2-minute unit is repeated by stream copy (encoding 10 minutes of grain takes too long)."""
    ff = find_ffmpeg().path
    if minutes > 2:
        unit = path.with_name("unit_2min.mp4")
        if not unit.exists():
            make_footage(unit, 2)
        reps = int(-(-minutes // 2))
        listing = path.with_name("concat.txt")
        listing.write_text("".join(f"file '{unit.name}'\n" for _ in range(reps)))
        subprocess.run([ff, "-hide_banner", "-loglevel", "error", "-y", "-f", "concat",
                        "-safe", "0", "-i", str(listing), "-t", str(minutes * 60), "-c", "copy",
                        str(path)], check=True)
        return
    seconds = minutes * 60
    sources = ["testsrc2=s=1920x1080:r=30", "mandelbrot=s=1920x1080:r=30",
               "smptehdbars=s=1920x1080:r=30", "cellauto=s=1920x1080:r=30:rule=110"]
    n = int(seconds // 4)
    inputs, chains = [], []
    for i in range(n):
        inputs += ["-f", "lavfi", "-t", "4", "-i", sources[i % len(sources)]]
        chains.append(f"[{i}:v]format=yuv420p,setsar=1[v{i}]")
    graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(n)) + \
        f"concat=n={n}:v=1:a=0,noise=alls=12:allf=t[v]"
    subprocess.run([ff, "-hide_banner", "-loglevel", "error", "-y", *inputs,
                    "-f", "lavfi", "-t", str(seconds), "-i", "sine=f=220:sample_rate=44100",
                    "-filter_complex", graph, "-map", "[v]", "-map", f"{n}:a",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "60",
                    "-c:a", "aac", "-b:a", "128k", str(path)], check=True)


def make_small(folder: Path, count: int) -> None:
    ff = find_ffmpeg().path
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):  # distinct content, so none is a duplicate of another
        colour = f"0x{(i * 40) % 256:02x}{(i * 90) % 256:02x}{(255 - i * 12) % 256:02x}"
        subprocess.run([ff, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"color=c={colour}:s=320x240:r=25:d=2", "-c:v", "libx264",
                        "-preset", "ultrafast", str(folder / f"clip{i:02d}.mp4")], check=True)


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and the child's peak RSS in bytes (measured by a wrapper process so
    earlier children do not count)."""
    probe = ("import resource,subprocess,sys,time,json;t=time.perf_counter();"
             "r=subprocess.run(sys.argv[1:]);"
             "print(json.dumps([time.perf_counter()-t,"
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,r.returncode]))")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True)
    wall, rss_kb, rc = json.loads(out.stdout.strip().splitlines()[-1])
    if rc not in (0, 1):
        raise SystemExit(f"command failed ({rc}): {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return wall, rss_kb * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=2.0, help="length of the 1080p footage")
    ap.add_argument("--keep", type=Path, help="keep generated media and libraries here")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="adcut-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    ff = find_ffmpeg()
    print(f"machine: {os.cpu_count()} cores; ffmpeg {ff.version} ({ff.origin})")

    footage = work / f"footage_1080p_{args.minutes:g}min.mp4"
    if not footage.exists():
        t = time.perf_counter()
        make_footage(footage, args.minutes)
        print(f"generated {args.minutes:g} min of 1080p30 in {time.perf_counter() - t:.1f} s")
    seconds = args.minutes * 60

    floor_s, _ = timed([ff.path, "-hide_banner", "-loglevel", "error", "-i", str(footage),
                        "-f", "null", "-"])
    lib = work / "lib_speed"
    shutil.rmtree(lib, ignore_errors=True)
    ingest_s, rss = timed([*ADCUT, "ingest", str(footage), "--library", str(lib)])
    print(f"decode floor (ffmpeg -> null): {floor_s:6.1f} s")
    print(f"adcut ingest:                  {ingest_s:6.1f} s  -> {ingest_s / floor_s:.2f}x the floor"
          f" (target <= 3x); {seconds / ingest_s:.1f} s of footage per wall second")
    print(f"peak RSS of ingest:            {rss / 2**20:6.0f} MiB for {args.minutes:g} min of 1080p"
          " (target < 1536 MiB at 10 min)")

    small = work / "twenty"
    if not small.exists():
        make_small(small, 20)
    lib20 = work / "lib_twenty"
    shutil.rmtree(lib20, ignore_errors=True)
    first_s, _ = timed([*ADCUT, "ingest", str(small), "--library", str(lib20)])
    rerun_s, _ = timed([*ADCUT, "ingest", str(small), "--library", str(lib20)])
    print(f"20 files: first ingest {first_s:.1f} s, unchanged re-run {rerun_s:.2f} s "
          f"(target < 2 s)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
