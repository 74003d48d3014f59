"""`adcut dataset build`: finished ads in, AutoCut training data out.

Two phases. Analysis (per ad, expensive, parallel: on a local process pool or a Ray
cluster) stores each ad's `AdAnalysis` and vectors in the dataset folder as soon as it is
done, so an interrupted build loses only the ads in progress and a re-run skips the finished
ones. Assembly (cheap, in this process) tokenises every stored ad, splits the corpus by ad
and writes the alignment and SFT files, the clip table and the report, each atomically and
in a fixed order, so building twice gives the same bytes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adcut.core.errors import AdcutError, BadInputError
from adcut.core.files import write_atomic
from adcut.dataset import samples as sample_mod
from adcut.dataset.analyse import AdResult, BuildOptions, Models, ad_key, analyse_ad, file_sha256
from adcut.dataset.products import ProductFacts, from_table, read_products_csv, read_sidecar
from adcut.dataset.store import DatasetFolder, StoredAd
from adcut.dataset.types import TokenisedAd, TokenisedClip

log = logging.getLogger(__name__)

REPORT = "report.json"
CLIP_TABLE = "clips.jsonl"
TOKENIZER_DIRS = {"video": "tokenizers/video", "audio": "tokenizers/audio"}
MAX_TRAIN_VECTORS = 1_000_000  # vectors a tokenizer trained on the corpus sees at most
ENCODE_ROWS = 8192  # frames of stored ads tokenised per tokenizer call while assembling
# The paper held out 2% of 700K ads; 5% keeps a few ads in eval for a corpus of tens.
DEFAULT_EVAL_FRACTION = 0.05


@dataclass(frozen=True)
class AdJob:
    key: str
    path: Path
    facts: ProductFacts | None


@dataclass
class BuildRequest:
    corpus: Sequence[Path]
    out: Path
    options: BuildOptions = field(default_factory=BuildOptions)
    tokenizers: Sequence[Path] = ()
    products_csv: Path | None = None
    workers: int = 1
    ray: str | None = None  # a Ray address, or "local" for a Ray started here
    gpus_per_worker: float = 0.0  # with ray: GPUs each frame-embedding actor asks for
    eval_fraction: float = DEFAULT_EVAL_FRACTION
    one_task: bool = False
    draws: int = 1  # vid_select / vid_sort rows per training ad (adcut.dataset.samples.sft_samples)
    force: bool = False


@dataclass
class BuildOutcome:
    report: dict
    analysed: int  # ads analysed by this run (the others were already done)
    seconds: float
    analysis_s: float  # of which analysing the ads (the rest: tokenizers, tokens, files)

    def run_json(self) -> dict:
        """What this run did, beside the report (kept out of report.json, which a rebuild
        must reproduce byte for byte)."""
        return {"analysed_now": self.analysed, "seconds": round(self.seconds, 2),
                "analysis_s": round(self.analysis_s, 2)}

    @property
    def exit_code(self) -> int:
        return 1 if self.report["skipped"] else 0


class Progress:
    """What a build tells its caller: the number of ads to analyse, then each one's end."""

    def start(self, total: int) -> None: ...
    def ad_done(self, key: str, ok: bool, message: str = "") -> None: ...
    def phase(self, name: str) -> None: ...


# -- the corpus ---------------------------------------------------------------------------------

def discover_videos(paths: Sequence[Path]) -> tuple[list[Path], dict[str, str]]:
    """Video files under the given paths (folders searched recursively, hidden ones skipped;
    sidecars, music and images are not ads), and the arguments that gave none, with why."""
    from adcut.library.ingest import VIDEO_EXTS

    found: list[Path] = []
    problems: dict[str, str] = {}
    seen: set[Path] = set()
    for arg in paths:
        p = Path(os.path.abspath(Path(arg).expanduser()))
        if not p.exists():
            problems[str(arg)] = "does not exist"
            continue
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in VIDEO_EXTS
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not files:
                problems[str(arg)] = "holds no video files"
        else:
            files = [p]
        for f in files:
            if f not in seen:
                seen.add(f)
                found.append(f)
    return found, problems


def plan_jobs(videos: list[Path], table: dict[str, ProductFacts]) -> list[AdJob]:
    """One job per video, keyed, with the product facts its sidecar or the table gives.
    A broken sidecar is that ad's problem only: it raises when the job is run."""
    taken: set[str] = set()
    jobs = []
    for path in videos:
        key = ad_key(path, taken)
        jobs.append(AdJob(key, path, from_table(path, table)))
    return jobs


def job_facts(job: AdJob) -> ProductFacts | None:
    """The sidecar beside the video wins over the products table."""
    return read_sidecar(job.path) or job.facts


# -- analysis -----------------------------------------------------------------------------------

_worker_models: Models | None = None


def _init_worker(options: BuildOptions) -> None:
    global _worker_models
    _worker_models = Models(options)


def _analyse_in_worker(job: AdJob) -> AdResult | str:
    try:
        return analyse_ad(job.path, job.key, _worker_models, job_facts(job))
    except AdcutError as exc:
        return reason(job, exc)


def analyse_job(job: AdJob, models: Models) -> AdResult | str:
    """The job's result, or one line saying why the ad cannot be used."""
    try:
        return analyse_ad(job.path, job.key, models, job_facts(job))
    except AdcutError as exc:
        return reason(job, exc)


def reason(job: AdJob, exc: AdcutError) -> str:
    """An error's line without the file's path in front (the report names the file)."""
    text = str(exc)
    for prefix in (f"{job.path}: ", f"{job.path.name}: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _stale(folder: DatasetFolder, job: AdJob) -> bool:
    """True when the stored analysis was made from other bytes than the file has now."""
    try:
        doc = json.loads((folder.ads / f"{job.key}.json").read_text(encoding="utf-8"))
        return doc.get("sha256") != file_sha256(job.path) or doc.get("source") != str(job.path)
    except (OSError, ValueError):
        return True


def run_analysis(jobs: list[AdJob], folder: DatasetFolder, request: BuildRequest,
                 progress: Progress) -> int:
    """Analyse the ads not yet done; each result is stored the moment it arrives."""
    done = folder.finished()
    todo = [j for j in jobs if j.key not in done or _stale(folder, j)]
    progress.start(len(todo))

    def store(job: AdJob, result: AdResult | str) -> None:
        if isinstance(result, str):
            folder.save_skip(job.key, str(job.path), result)
            progress.ad_done(job.key, False, result)
        else:
            folder.save_ad(result.analysis, result.frames, result.music_vector, result.thumbs,
                           result.encoders)
            progress.ad_done(job.key, True)

    if not todo:
        return 0
    if request.ray:
        from adcut.dataset.ray_run import analyse_with_ray

        analyse_with_ray(request.ray, todo, request.options, store, workers=request.workers,
                         gpus_per_worker=request.gpus_per_worker)
    elif request.workers <= 1 or len(todo) == 1:
        models = Models(request.options)
        for job in todo:
            store(job, analyse_job(job, models))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(request.workers, len(todo)), mp_context=ctx,
                                 initializer=_init_worker, initargs=(request.options,)) as pool:
            futures = {pool.submit(_analyse_in_worker, job): job for job in todo}
            try:
                for fut in as_completed(futures):
                    store(futures[fut], fut.result())
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return len(todo)


# -- tokens -------------------------------------------------------------------------------------

def _load_tokenizers(paths: Sequence[Path]) -> dict:
    from adcut.tokens.tokenizer import Tokenizer

    found = {}
    for path in paths:
        tok = Tokenizer.load(path)
        modality = tok.config.modality
        if modality in found:
            raise BadInputError(f"two {modality} tokenizers given ({found[modality][1]} and {path})",
                                hint="give at most one video and one audio tokenizer")
        found[modality] = (tok, Path(path))
    return found


def _train_on_corpus(modality: str, folder: DatasetFolder, keys: list[str], out: Path,
                     encoder: tuple[str, str]):
    """A tokenizer trained on the corpus's own vectors (frames, or one music vector per ad),
    held out by ad, saved in the dataset folder. A large corpus gives every ad's vectors up to
    MAX_TRAIN_VECTORS in all (whole ads, in key order: a stable choice)."""
    from adcut.tokens.library import LibraryVectors, training_config
    from adcut.tokens.tokenizer import Tokenizer
    from adcut.tokens.train import train_tokenizer

    rows, groups = [], []
    for key in keys:
        ad = folder.load_ad(key)
        block = ad.frames if modality == "video" else (None if ad.music is None else ad.music[None, :])
        if block is not None and len(block):
            rows.append(block)
            groups += [key] * len(block)
        if len(groups) >= MAX_TRAIN_VECTORS:
            break
    vectors = np.concatenate(rows) if rows else np.zeros((0, 1), np.float32)
    lib = LibraryVectors(vectors, groups, list(range(len(groups))), encoder[0], encoder[1])
    config = training_config(lib, modality)
    what = "frames" if modality == "video" else "ads with music"
    log.info("training a %s tokenizer on %d %s of the corpus", modality, len(vectors), what)
    try:
        train_tokenizer(vectors, groups, config, out, force=True, compare_baseline=False)
    except BadInputError as exc:
        raise BadInputError(
            f"cannot train a {modality} tokenizer on the corpus's {len(vectors)} {what}: {exc.message}",
            hint=f"pass --tokenizer with a {modality} tokenizer trained on a larger library "
                 f"(adcut tokenizer train --modality {modality})") from None
    return Tokenizer.load(out)


def tokenizers_for(request: BuildRequest, folder: DatasetFolder, keys: list[str], recorded: dict) -> dict:
    """modality -> (Tokenizer, id). Given ones are checked against the encoders the ads were
    embedded with; a missing one is trained on the corpus (or the one trained by an earlier
    build of this folder is reused). A folder whose token strings came from other tokenizers
    (`recorded`, from its manifest) is refused without --force: its files would mix two
    vocabularies' worth of meaning."""
    from adcut.tokens.library import tokenizer_id
    from adcut.tokens.tokenizer import Tokenizer

    given = _load_tokenizers(request.tokenizers)
    root = folder.root
    used = {key: folder.load_doc(key).get("encoders", {}) for key in keys}
    out = {}
    for modality in ("video", "audio"):
        encoders = {tuple(enc[modality]) for enc in used.values() if modality in enc}
        if len(encoders) > 1:
            raise BadInputError(f"the stored ads' {modality} vectors come from different encoders: "
                                f"{sorted(encoders)}", hint="rebuild with --force")
        if not encoders:
            continue
        encoder = encoders.pop()
        tok, path = given.get(modality, (None, root / TOKENIZER_DIRS[modality]))
        exists = (path / "config.json").is_file()
        tok_id = tokenizer_id(path) if exists else None
        if modality in recorded and recorded[modality] != tok_id and not request.force:
            raise BadInputError(
                f"{root} was built with other tokenizers ({modality}: {recorded[modality]}, "
                f"not {tok_id or 'one trained now'})",
                hint="pass the same --tokenizer, build into a new folder, or pass --force")
        if tok is None:
            tok = Tokenizer.load(path) if exists else _train_on_corpus(modality, folder, keys, path, encoder)
        tok.check_encoder(*encoder)
        stored = root / TOKENIZER_DIRS[modality]
        if modality in given:
            _store_tokenizer(path, stored)
        out[modality] = (tok, tokenizer_id(path))
    return out


def _store_tokenizer(src: Path, dst: Path) -> None:
    """A copy of a given tokenizer in the data folder, so whoever trains on the data (and the
    model planner after it) decodes tokens with the tokenizer that made them."""
    from adcut.tokens.library import tokenizer_id

    if src.resolve() == dst.resolve() or ((dst / "config.json").is_file() and tokenizer_id(dst) == tokenizer_id(src)):
        return
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)


def _encode_blocks(tok, blocks: list[np.ndarray]) -> list[np.ndarray]:
    """The codes of each block of vectors, all encoded in one call: a row's codes do not depend
    on the rows that come with it (Tokenizer.encode), while every call pads its input to whole
    blocks of BLOCK_ROWS rows, so encoding an ad of a few seconds alone costs a full block."""
    codes = tok.encode(np.concatenate(blocks))
    return np.split(codes, np.cumsum([len(b) for b in blocks])[:-1])


def music_codes(tok, vectors: np.ndarray) -> np.ndarray:
    """The audio codes (N, levels) of ads' music vectors (N, dim): the codes whose decoding
    comes closest to each vector (Tokenizer.encode_searched), not the encoder's guess. A music
    vector averages the few seconds an ad leaves without speech, unlike the library windows an
    audio tokenizer learns from, and the guess decodes to another track of the same genre too
    often (benchmarks/NOTES.md, dataset.py)."""
    return tok.encode_searched(vectors)


def tokenise_many(ads: Sequence[StoredAd], toks: dict) -> list[TokenisedAd]:
    """`tokenise` of each ad, their frames (and music vectors) encoded together."""
    frame_codes: list[np.ndarray | None] = [None] * len(ads)
    tracks: list[np.ndarray | None] = [None] * len(ads)
    if "video" in toks:
        have = [i for i, ad in enumerate(ads) if len(ad.frames)]
        if have:
            for i, codes in zip(have, _encode_blocks(toks["video"][0], [ads[i].frames for i in have])):
                frame_codes[i] = codes
    if "audio" in toks:
        have = [i for i, ad in enumerate(ads) if ad.music is not None]
        if have:
            codes = music_codes(toks["audio"][0], np.stack([ads[i].music for i in have]))
            for i, row in zip(have, codes):
                tracks[i] = row.astype(np.int64)
    out = []
    for ad, frames, track in zip(ads, frame_codes, tracks):
        a = ad.analysis
        clips = []
        for c in a.clips:
            codes = frames[c.frame_seconds] if frames is not None and c.frame_seconds else None
            clips.append(TokenisedClip(c.text, None if codes is None else codes.astype(np.int64)))
        out.append(TokenisedAd(a.key, a.language, a.product, clips, track))
    return out


def tokenise(ad: StoredAd, toks: dict) -> TokenisedAd:
    """The ad with its frame and music vectors replaced by the tokenizers' codes."""
    return tokenise_many([ad], toks)[0]


# -- assembly -----------------------------------------------------------------------------------

def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def clip_rows(ad: StoredAd, tad: TokenisedAd, codebook_size: int) -> list[dict]:
    """The ad's rows of the clip table (the split is added when the corpus is split)."""
    from adcut.tokens.vocab import video_string

    rows = []
    for i, (c, tc) in enumerate(zip(ad.analysis.clips, tad.clips)):
        rows.append({
            "ad": ad.analysis.key, "clip": i, "start_s": c.start_s, "end_s": c.end_s,
            "text": c.text, "frame_seconds": c.frame_seconds, "shot_starts_s": c.shot_starts_s,
            "v_tok": None if tc.codes is None else video_string(tc.codes, codebook_size),
            "thumbnail": f"thumbs/{ad.analysis.key}/{i:03d}.jpg" if c.frame_seconds else None,
        })
    return rows


@dataclass(frozen=True)
class _Used:
    """What assembly keeps of one stored ad once its vectors are tokens."""

    tokens: TokenisedAd
    clips: list[dict]  # its clip-table rows, less the split
    duration_s: float
    spoken: bool
    notes: dict[str, str]


def _use_many(ads: list[StoredAd], toks: dict, codebook_size: int) -> list[_Used]:
    return [_Used(tad, clip_rows(ad, tad, codebook_size), ad.analysis.duration_s,
                  bool(ad.analysis.sentences), dict(ad.analysis.notes))
            for ad, tad in zip(ads, tokenise_many(ads, toks))]


def _tokenise_corpus(folder: DatasetFolder, keys: list[str], toks: dict, codebook_size: int) -> dict[str, _Used]:
    """Every stored ad tokenised, a few at a time (up to ENCODE_ROWS frames): only their codes
    are kept."""
    used: dict[str, _Used] = {}
    batch: list[StoredAd] = []
    rows = 0
    for i, key in enumerate(keys):
        ad = folder.load_ad(key)
        batch.append(ad)
        rows += len(ad.frames)
        if rows >= ENCODE_ROWS or i == len(keys) - 1:
            used.update((u.tokens.key, u) for u in _use_many(batch, toks, codebook_size))
            batch, rows = [], 0
    return used


def assemble(request: BuildRequest, jobs: list[AdJob], folder: DatasetFolder,
             problems: dict[str, str]) -> dict:
    """Tokenise every stored ad of the corpus (a few at a time: only their codes are kept), split
    by ad, and write the alignment and SFT files, the clip table, the report and the manifest."""
    finished = folder.finished()
    keys = [j.key for j in jobs if j.key in finished]
    skips = folder.skips()
    skipped = dict(problems)
    for j in jobs:
        if j.key not in finished:
            skipped[str(j.path)] = skips.get(j.key, {}).get("reason", "not analysed")
    if not keys:
        raise BadInputError("no ad of the corpus could be used: " +
                            "; ".join(f"{Path(k).name}: {v}" for k, v in list(skipped.items())[:3]),
                            hint="give finished ad videos with sound")
    recorded = (folder.manifest() or {}).get("tokenizers") or {}
    toks = tokenizers_for(request, folder, keys, recorded)
    ids = {m: t[1] for m, t in toks.items()}
    video_k = toks["video"][0].codebook_size if "video" in toks else 256
    # The vocabulary functions check codes against one upper bound for both kinds.
    bound = max([t[0].codebook_size for t in toks.values()] or [256])
    used = _tokenise_corpus(folder, keys, toks, video_k)
    eval_keys = sample_mod.split_ads(keys, request.eval_fraction)

    out: dict[str, dict[str, list]] = {s: {"align": [], "sft": [], "clips": []} for s in ("train", "eval")}
    task_counts: dict[str, dict[str, int]] = {s: {} for s in ("train", "eval")}
    left_out: dict[str, dict[str, str]] = {}
    for split in ("train", "eval"):
        members = [key for key in keys if (key in eval_keys) == (split == "eval")]
        pool = sample_mod.clip_pool([used[k].tokens for k in members], codebook_size=bound)
        for key in members:
            u = used[key]
            out[split]["align"].append({"text": sample_mod.align_text(u.tokens, codebook_size=bound)})
            # Eval keeps one row per task and ad, so its figures are per ad.
            rows, why = sample_mod.sft_samples(u.tokens, pool, one_task=request.one_task,
                                               draws=request.draws if split == "train" else 1,
                                               codebook_size=bound)
            out[split]["sft"] += rows
            for r in rows:
                task_counts[split][r["task"]] = task_counts[split].get(r["task"], 0) + 1
            if u.notes or why:
                left_out[key] = {**u.notes, **why}
            out[split]["clips"] += [{**row, "split": split} for row in u.clips]

    root = folder.root
    for split in ("train", "eval"):
        write_atomic(root / "align" / f"{split}.jsonl", _jsonl(out[split]["align"]))
        write_atomic(root / "sft" / f"{split}.jsonl",
                     _jsonl(sample_mod.with_sample_ids(out[split]["sft"])))
    write_atomic(root / CLIP_TABLE, _jsonl(out["train"]["clips"] + out["eval"]["clips"]))

    n_frames = sum(len(row["frame_seconds"]) for u in used.values() for row in u.clips)
    levels = {m: t[0].levels for m, t in toks.items()}
    languages = sorted({u.tokens.language for u in used.values()})
    report = {
        "ads": {"found": len(jobs) + len(problems), "used": len(keys), "train": len(keys) - len(eval_keys),
                "eval": len(eval_keys),
                "with_music": sum(u.tokens.track_codes is not None for u in used.values()),
                "with_speech": sum(u.spoken for u in used.values())},
        "skipped": skipped,
        "left_out": left_out,
        "hours": round(sum(u.duration_s for u in used.values()) / 3600, 4),
        "clips": sum(len(u.clips) for u in used.values()),
        "tokens": {"video_frames": n_frames, "video": n_frames * levels.get("video", 0),
                   "audio": sum(u.tokens.track_codes is not None for u in used.values())
                   * levels.get("audio", 0)},
        "tasks": task_counts,
        "tokenizers": ids,
        "languages": {lang: sum(u.tokens.language == lang for u in used.values()) for lang in languages},
    }
    write_atomic(root / REPORT, (json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True)
                                 + "\n").encode("utf-8"))
    folder.write_manifest({"analysis": request.options.fingerprint(), "tokenizers": ids,
                           "eval_fraction": request.eval_fraction, "one_task": request.one_task,
                           "draws": request.draws})
    return report


def build_dataset(request: BuildRequest, progress: Progress | None = None) -> BuildOutcome:
    """Check everything the user gave, analyse the ads not yet done, assemble the files."""
    t0 = time.perf_counter()
    progress = progress or Progress()
    if not request.corpus:
        raise BadInputError("no corpus given", hint="adcut dataset build VIDEOS_OR_FOLDERS... -o DATA")
    if not 0.0 <= request.eval_fraction < 1.0:
        raise BadInputError(f"--eval-fraction must be in [0, 1); got {request.eval_fraction}")
    if request.draws < 1:
        raise BadInputError(f"--draws must be at least 1; got {request.draws}")
    videos, problems = discover_videos(request.corpus)
    if not videos:
        why = "; ".join(f"{k}: {v}" for k, v in problems.items()) or "nothing found"
        raise BadInputError(f"the corpus holds no ad videos ({why})",
                            hint="give finished ad videos (.mp4, .mov, ...) or folders holding them")
    table = read_products_csv(request.products_csv) if request.products_csv else {}
    _load_tokenizers(request.tokenizers)  # refuse a bad tokenizer folder before any work
    folder = DatasetFolder(request.out)
    folder.prepare(request.options.fingerprint(), force=request.force)
    jobs = plan_jobs(videos, table)
    if len(jobs) == 1:
        log.warning("the corpus has one ad: no distractor clips are possible, so it gives no "
                    "clip-selection samples")
    t_analysis = time.perf_counter()
    analysed = run_analysis(jobs, folder, request, progress)
    analysis_s = time.perf_counter() - t_analysis
    progress.phase("assembling")
    report = assemble(request, jobs, folder, problems)
    return BuildOutcome(report, analysed, time.perf_counter() - t0, analysis_s)


def read_report(root: Path) -> dict:
    path = Path(root) / REPORT
    if not path.is_file():
        raise BadInputError(f"{root} holds no dataset report", hint="build one: adcut dataset build CORPUS -o DIR")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError(f"{path} cannot be read: {exc}", hint="rebuild the dataset") from exc

