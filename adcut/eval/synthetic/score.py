"""Scoring planners on the synthetic world's held-out ads.

The eval split's SFT rows (`sft/eval.jsonl`, one task of one ad per row) are what a planner
is scored on, exactly as on AutoCut-364's token track: each row's English prompt is parsed
back into its task object and only that object reaches the planner (adcut.eval.bench's
`predict_rows`: never the gold answer, never two tasks of one ad together). Answers are
written in the release format under `predictions/` and scored by the same code as
`adcut eval` (adcut.eval.files), with bootstrap 95% intervals over the ads:

    CSA          vid_select: every true clip chosen
    CRA          vid_sort: the exact order
    kendall_tau  vid_sort: rank agreement of the order
    music_R@10   vid2aud: the answer's 8 audio tokens are decoded by the world's audio
                 RQ-VAE into a music vector, the world's music library is ranked by cosine
                 to it (FAISS inner product on unit vectors), and the ad's own track must be
                 in the first 10 (the paper's vid2aud -> library ranking; the rankings are
                 written as an `F2___audrank_*` file)
    WCD          vid2text: per-line length deviation (reported, not a headline here)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adcut.core.files import write_atomic
from adcut.eval.bench import planner_for_track, predict_rows
from adcut.eval.compare import N_BOOT, bootstrap_ci, paired_bootstrap, row_values
from adcut.eval.files import load_result_file, score_file
from adcut.tasks.release import ReleaseRow, dump_release_row
from adcut.tasks.types import (
    TASK_MUSIC,
    TASK_SCRIPT,
    TASK_SELECT,
    TASK_SORT,
    TRACK_TOKENS,
    AudioCandidate,
)

KIND_OF_TASK = {TASK_SELECT: "select", TASK_SORT: "sort", TASK_MUSIC: "music", TASK_SCRIPT: "script"}
KINDS = tuple(KIND_OF_TASK.values())
STEMS = {"select": "vidselect", "sort": "vidsort", "script": "vid2text", "music": "vid2aud"}
MUSIC_K = 10
# headline name -> (kind, name in that kind's per-row values / file results)
HEADLINE = {"CSA": ("select", "CSA"), "CRA": ("sort", "CRA"), "kendall_tau": ("sort", "kendall_tau"),
            f"music_R@{MUSIC_K}": ("music", f"R@{MUSIC_K}")}
EXTRAS = {"WCD": ("script", "WCD"), "set_f1": ("select", "set_f1_macro"),
          "pairwise_acc": ("sort", "pairwise_acc"), "music_R@1": ("music", "R@1"), "music_MRR": ("music", "MRR")}

Progress = Callable[[str, int, int], None]


def rows_by_kind(rows: list[ReleaseRow]) -> dict[str, list[ReleaseRow]]:
    """The rows of each task kind (select, sort, music, script), in file order."""
    out: dict[str, list[ReleaseRow]] = {k: [] for k in KINDS}
    for row in rows:
        kind = KIND_OF_TASK.get(row.task)
        if kind is not None:
            out[kind].append(row)
    return out


# -- music: tokens -> a library ranking ---------------------------------------------------------

def rank_library(library: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """(n_queries, n_tracks) track indices, best first, by cosine (FAISS IndexFlatIP on L2-
    normalised vectors)."""
    import faiss

    lib = np.ascontiguousarray(library, dtype=np.float32)
    lib = lib / np.maximum(np.linalg.norm(lib, axis=1, keepdims=True), 1e-12)
    q = np.ascontiguousarray(queries, dtype=np.float32)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    index = faiss.IndexFlatIP(lib.shape[1])
    index.add(lib)
    _, order = index.search(q, len(lib))
    return order


@dataclass(frozen=True)
class MusicLibrary:
    """The world's music library and the audio tokenizer its tokens come from."""

    vectors: np.ndarray  # (n_tracks, d) unit rows
    tokenizer: object  # adcut.tokens.tokenizer.Tokenizer (audio)
    tokens: list[str]  # each track's `<|audio_start|>...<|audio_end|>` text

    @classmethod
    def of(cls, vectors: np.ndarray, tokenizer) -> MusicLibrary:
        from adcut.tokens.vocab import track_string

        codes = tokenizer.encode(vectors)
        return cls(np.asarray(vectors, np.float32), tokenizer,
                   [track_string(c, tokenizer.codebook_size) for c in codes])

    def candidates(self) -> list[AudioCandidate]:
        """Every track as a music candidate (1-based), with its tokens and no description."""
        return [AudioCandidate(number=i, description=None, tokens=t) for i, t in enumerate(self.tokens, 1)]

    def rankings(self, predictions: list[str]) -> tuple[list[list[int]], int]:
        """Each prediction's library ranking (track indices, best first; empty, a miss, when it
        holds no audio tokens), and how many predictions lacked some levels (read as code 0)."""
        from adcut.core.errors import BadInputError
        from adcut.tokens.vocab import MISSING_CODE, parse_track

        tok = self.tokenizer
        parsed: list[tuple[int, np.ndarray]] = []
        padded = 0
        for i, text in enumerate(predictions):
            try:
                codes = parse_track(text or "", levels=tok.levels, codebook_size=tok.codebook_size, strict=False)
            except BadInputError:  # TokenFormatError: no audio tokens at all
                continue
            if (codes == MISSING_CODE).any():
                padded += 1
                codes = np.where(codes == MISSING_CODE, 0, codes)
            parsed.append((i, codes))
        out: list[list[int]] = [[] for _ in predictions]
        if parsed:
            order = rank_library(self.vectors, tok.decode(np.stack([c for _, c in parsed])))
            for (i, _), row in zip(parsed, order):
                out[i] = row.tolist()
        return out, padded


# -- one planner --------------------------------------------------------------------------------

@dataclass
class PlannerRun:
    """What scoring one planner gave: the report entry and the per-row values (by kind, then
    sample id) that paired comparisons need."""

    report: dict
    values: dict[str, dict[str, dict[str, float | None]]]


def _write_rows(path: Path, rows: list[ReleaseRow], preds: list[str]) -> None:
    write_atomic(path, "".join(dump_release_row(r, p) + "\n" for r, p in zip(rows, preds)).encode("utf-8"))


def _ranking_rows(rows: list[ReleaseRow], rankings: list[list[int]], truth_tracks: dict[str, int]) -> bytes:
    """The music rankings in the release's audrank form: sample, ranking, the original track."""
    lines = []
    for row, ranking in zip(rows, rankings):
        key = row.ad_key.get("key")
        lines.append(json.dumps({"sample_id": row.sample_id, "ad_key": row.ad_key, "predict_aud_id": ranking,
                                 "photo_id": truth_tracks[key]}, ensure_ascii=False))
    return "".join(line + "\n" for line in lines).encode("utf-8")


def score_planner(name: str, planner, rows: dict[str, list[ReleaseRow]], out_dir: Path, *,
                  truth_tracks: dict[str, int], library: MusicLibrary, music_candidates: bool,
                  seed: int = 0, n_boot: int = N_BOOT, progress: Progress | None = None) -> PlannerRun:
    """Run `planner` on every held-out row, write its answers under out_dir (release files
    named after `name`) and score them. `music_candidates`: give the music tasks the whole
    library as candidates (planners that choose rather than generate), else ask the paper's
    vid2aud. Returns the planner's report (headline metrics, 95% intervals, extras, counts)
    and its per-row values."""
    planner = planner_for_track(planner, TRACK_TOKENS)
    tag = "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in name)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    values: dict[str, dict[str, dict[str, float | None]]] = {}
    counts: dict[str, dict] = {}
    problems: list[str] = []
    seconds: dict[str, float] = {}
    candidates = library.candidates() if music_candidates else None
    for kind in KINDS:
        kind_rows = rows.get(kind) or []
        if not kind_rows:
            continue
        t0 = time.perf_counter()
        report_progress = None if progress is None else (lambda k, d, t, _n=name: progress(f"{_n}: {k}", d, t))
        preds, n, probs = predict_rows(kind_rows, kind, planner, f"sft/eval.jsonl ({kind})", seed,
                                       report_progress, TRACK_TOKENS, language="en",
                                       audio_candidates=candidates if kind == "music" else None)
        problems += probs
        if kind == "music":
            _write_rows(out_dir / "generated" / f"F___{STEMS[kind]}_{tag}.jsonl", kind_rows, preds)
            rankings, padded = library.rankings(preds)
            n["n_audio_levels_padded"] = padded
            path = out_dir / f"F2___audrank_{tag}.jsonl"
            write_atomic(path, _ranking_rows(kind_rows, rankings, truth_tracks))
        else:
            path = out_dir / f"F___{STEMS[kind]}_{tag}.jsonl"
            _write_rows(path, kind_rows, preds)
        seconds[kind] = round(time.perf_counter() - t0, 3)
        rf = load_result_file(path)
        res = score_file(rf)
        res.pop("problems", None)
        results[kind] = res
        counts[kind] = {"rows": len(kind_rows), **{k: v for k, v in n.items() if v}}
        per_row = row_values(rf)
        values[kind] = {metric: {key: v.get(metric) for key, v in per_row.items()}
                        for metric in next(iter(per_row.values()), {})}

    def value_and_ci(kind: str, metric: str) -> tuple[float | None, list[float] | None]:
        if kind not in results:
            return None, None
        rows_values = values[kind].get(metric, {})
        return results[kind].get(metric), bootstrap_ci(list(rows_values.values()), n_boot, seed)

    report: dict = {}
    ci95: dict[str, list[float] | None] = {}
    for headline, (kind, metric) in {**HEADLINE, **EXTRAS}.items():
        report[headline], ci95[headline] = value_and_ci(kind, metric)
    report["ci95"] = ci95
    report["n_ads"] = {kind: len(rows.get(kind) or []) for kind in KINDS}
    report["counts"] = counts
    report["seconds"] = seconds
    report["problems"] = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
    report["music"] = "library candidates" if music_candidates else "generated tokens (paper vid2aud)"
    return PlannerRun(report, values)


def paired_differences(a: PlannerRun, b: PlannerRun, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """B - A on the same held-out rows for each headline metric, with a paired bootstrap 95%
    interval (adcut.eval.compare): an interval above 0 means B beats A beyond the noise."""
    out = {}
    for headline, (kind, metric) in HEADLINE.items():
        va = a.values.get(kind, {}).get(metric, {})
        vb = b.values.get(kind, {}).get(metric, {})
        keys = [k for k in va if k in vb]
        if not keys:
            out[headline] = None
            continue
        res = paired_bootstrap([va[k] for k in keys], [vb[k] for k in keys], n_boot, seed)
        out[headline] = {"diff": res["diff"], "ci95": res.get("ci95"), "n": len(keys)}
    return out
