"""Brief + library -> EditPlan, through the four tasks (the paper's cascade).

1. write: a script skeleton from the brief (hook, benefits, call to action), one line per shot;
2. select: the clips of the library that fit those lines;
3. order: which clip goes with which line;
4. write again: the final lines, now that each line knows the clip it is spoken over;
5. music: a track by mood and energy, then its best window.

Any Planner (zero-shot, LLM, the trained model) runs the same cascade. The library is read
here (the edge); everything else is the planner's pure work.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adcut.core.brief import Brief
from adcut.core.errors import BadInputError
from adcut.core.plan import MAX_TEXT_BOXES, EditPlan, PlanMusic, PlanShot
from adcut.planner.base import ClipHints, Hints, Planner, TrackHints
from adcut.planner.product import (ProductLooks, footage_for_length, open_and_close_on_product,
                                   product_looks, related_clips, shows_another_price, terms_of,
                                   with_product)
from adcut.tasks.types import (AudioCandidate, ClipRef, MusicTask, Product, ScriptTask,
                               SelectTask, SortTask)

log = logging.getLogger(__name__)

SECONDS_PER_SHOT = 3.2  # a typical short-ad shot, voice line included
MAX_POOL = 80  # beyond this many clips, retrieve candidates by text before selecting
CALM_TONES = ("calm", "warm", "premium", "tender")  # soft cuts, quieter music
MIN_SHOTS = 3
SPEECH_RATE = {"zh": 4.5}  # characters per second; others in words per second below
WORDS_PER_S = 3.0  # the bundled hibari voice: 3.06 words per second over nine ad lines
VOICE_GAP_S = 0.5  # the render's lead-in (0.15 s) and breath (0.35 s) around each line


@dataclass(frozen=True)
class LibraryClip:
    id: str
    source: str
    start_s: float
    end_s: float
    text: str  # what a text planner sees: caption, else transcript, else labels; text on screen
    has_speech: bool
    vision: np.ndarray | None
    on_screen: str = ""  # the text read on screen (OCR of the clip's middle frame)
    said: str = ""  # what people wrote or said about it: its caption, else its transcript
    # Where that text is, [x0, y0, x1, y1] as fractions of the source frame: keep-clear boxes
    # for reframing and caption placement (carried into PlanShot/TimelineClip.text_boxes).
    text_boxes: tuple[tuple[float, float, float, float], ...] = ()
    still: bool = False  # a still image (rendered with a slow pan/zoom)
    vision_encoder: str = ""  # the spec of the encoder `vision` came from ("efficientnet-lite0")
    vision_version: str = ""  # its version, as the catalog records it
    # The clip as a token-reading planner sees it: `<|clip_start|>...<|clip_end|>` of its
    # frames' RQ-VAE codes under that planner's video tokenizer (library_tokens); else None.
    tokens: str | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class LibraryTrack:
    id: str
    path: str
    title: str
    duration_s: float
    tempo_bpm: float
    lufs: float | None
    tags: list[tuple[str, float]]
    beats_s: list[float]
    windows: list[tuple[float, float, float]]  # start_s, end_s, rms_db
    # `<|audio_start|>` + 8 audio tokens + `<|audio_end|>` under a token-reading planner's
    # audio tokenizer (library_tokens); else None.
    tokens: str | None = None


@dataclass
class Explanation:
    clips: list[dict] = field(default_factory=list)  # every candidate: id, score, chosen, why
    music: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_library(folder: Path) -> tuple[list[LibraryClip], list[LibraryTrack]]:
    """Every clip and track of a library, as the planner needs them (read-only).

    A damaged catalog, or an array that is missing or not the shape the catalog records, is a
    LibraryError naming it (with the `adcut library check` command that repairs it)."""
    from adcut.core.errors import LibraryError
    from adcut.library.catalog import Catalog, ocr_text, row_ocr
    from adcut.library.ingest import clip_text
    from adcut.library.store import load_embeddings, repair_hint

    def load(emb) -> np.ndarray:
        return load_embeddings(folder, emb["path"], emb["rows"], emb["dim"])

    with Catalog(folder, readonly=True) as catalog:
        clips: list[LibraryClip] = []
        vectors: dict[str, np.ndarray] = {}
        vision_versions: dict[str, str] = {}
        vision_spec = _vision_spec(catalog)
        stills = {r["id"] for r in catalog.sources("footage")
                  if "still" in r.keys() and r["still"]}
        text_vectors: dict[str, tuple[str, np.ndarray]] = {}
        for row in catalog.clips():
            if row["source_id"] not in vectors:
                emb = catalog.embedding(row["source_id"], "clips")
                vectors[row["source_id"]] = load(emb) if emb is not None else None
                vision_versions[row["source_id"]] = emb["encoder_version"] if emb else ""
            vec = vectors[row["source_id"]]
            if row["source_id"] not in text_vectors:
                emb = catalog.embedding(row["source_id"], "texts")
                text_vectors[row["source_id"]] = (
                    (emb["encoder"], load(emb)) if emb is not None else ("", None))
            arrays = [a for a in (vec, text_vectors[row["source_id"]][1]) if a is not None]
            if any(not 0 <= row["emb_row"] < len(a) for a in arrays):
                raise LibraryError(f"clip {row['id']} of library {folder} points at row "
                                   f"{row['emb_row']}, past the end of its arrays",
                                   hint=repair_hint(folder))
            labels = [name for name, _ in json.loads(row["labels"])][:3]
            ocr, _ = row_ocr(row)
            text = clip_text(row["caption"], row["transcript"], labels, ocr_text(ocr))
            encoder, texts = text_vectors[row["source_id"]]
            if texts is not None:  # the planner reuses what ingest embedded
                from adcut.planner.relevance import prime_dense_cache

                prime_dense_cache(encoder, [text], texts[row["emb_row"]:row["emb_row"] + 1])
            clips.append(LibraryClip(
                id=row["id"], source=row["path"], start_s=row["start_s"], end_s=row["end_s"],
                text=text, has_speech=bool(row["has_speech"]),
                vision=None if vec is None else vec[row["emb_row"]],
                on_screen=ocr_text(ocr), text_boxes=tuple(_boxes(ocr)),
                said=(row["caption"] or row["transcript"] or "").strip(),
                still=row["source_id"] in stills, vision_encoder=vision_spec,
                vision_version=vision_versions.get(row["source_id"], "")))
        tracks = []
        for t in catalog.tracks():
            windows = [(w["start_s"], w["end_s"], w["rms_db"]) for w in catalog.windows(t["source_id"])]
            tracks.append(LibraryTrack(
                id=t["source_id"], path=t["path"], title=t["title"], duration_s=t["duration_s"],
                tempo_bpm=t["tempo_bpm"], lufs=t["integrated_lufs"],
                tags=[(n, s) for n, s in json.loads(t["tags"])],
                beats_s=json.loads(t["beat_times_s"]), windows=windows))
    return clips, tracks


def _vision_spec(catalog) -> str:
    """The vision encoder spec a library's footage was ingested with (its recorded options,
    else the encoder name of its arrays)."""
    try:
        spec = json.loads(catalog.get_meta("footage_ingest_options") or "{}").get("vision")
    except (ValueError, AttributeError):
        spec = None
    if spec:
        return str(spec)
    used = sorted(catalog.encoders_in_use("clips"))
    return used[0][0] if used else ""


def _boxes(ocr: list[dict]) -> list[tuple[float, float, float, float]]:
    """Valid [x0, y0, x1, y1] boxes (fractions of the frame) of OCR items."""
    out = []
    for item in ocr:
        box = item.get("box") if isinstance(item, dict) else None
        if isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float))
                                                           for v in box):
            x0, y0, x1, y1 = (min(1.0, max(0.0, float(v))) for v in box)
            if x1 > x0 and y1 > y0:
                out.append((x0, y0, x1, y1))
    return out


def library_tokens(folder: Path, clips: list[LibraryClip], tracks: list[LibraryTrack],
                   planner: object) -> tuple[list[LibraryClip], list[LibraryTrack]]:
    """The library's clips and tracks as `planner` reads them (read-only).

    A planner that exposes no RQ-VAE tokenizer (`video_tokenizer` / `audio_tokenizer`, see
    adcut.planner.base) gets them back unchanged: the zero-shot and chat-model planners see
    exactly the caption-only tasks. A token-reading planner (the trained adcut model) gets

    - each clip with `tokens`: the clip token text (adcut.tokens.vocab.clip_string, the form
      of the prompts it was fine-tuned on) of the 1 fps frames the catalog gives the clip,
      in time order, under the planner's own video tokenizer. The codes come from the
      catalog when `adcut tokenizer encode` stored them for that tokenizer (its id in
      `planner.tokenizer_ids`) over the whole source, else the stored frame embeddings are
      encoded now (an RQ-VAE encode: milliseconds for hundreds of frames);
    - each track with `tokens`: `<|audio_start|>` + 8 audio tokens + `<|audio_end|>` of the
      track's vector under the planner's audio tokenizer. That vector is what an ad's music
      vector is in the training data (adcut.dataset.music.mean_vector: the L2-normalised
      mean of L2-normalised audio-encoder embeddings), taken over the track's music windows.
      The library stores codes per window, not per track, so this is always encoded now.

    A clip without frames (or a source without a frame array) keeps `tokens` None and is
    shown by its caption. A tokenizer trained on another encoder, or another version of it,
    than the library's arrays is refused with one line (BadInputError): its codes of these
    vectors would be meaningless."""
    video = getattr(planner, "video_tokenizer", None)
    audio = getattr(planner, "audio_tokenizer", None)
    if video is None and audio is None:
        return clips, tracks
    from dataclasses import replace

    from adcut.library.catalog import Catalog

    ids = dict(getattr(planner, "tokenizer_ids", None) or {})
    name = getattr(planner, "name", type(planner).__name__)
    with Catalog(folder, readonly=True) as catalog:
        if video is not None and clips:
            shown = _clip_tokens(catalog, clips, video, ids.get("video"), name)
            clips = [replace(c, tokens=shown[c.id]) if c.id in shown else c for c in clips]
        if audio is not None and tracks:
            shown = _track_tokens(catalog, tracks, audio, name)
            tracks = [replace(t, tokens=shown[t.id]) if t.id in shown else t for t in tracks]
    log.info("%s: %d of %d clips and %d of %d tracks shown as tokens", name,
             sum(c.tokens is not None for c in clips), len(clips),
             sum(t.tokens is not None for t in tracks), len(tracks))
    return clips, tracks


def _same_encoder(tokenizer, record, what: str, option: str, planner_name: str, folder: Path) -> None:
    """Refuse a tokenizer trained on another encoder than the one of a library array."""
    try:
        tokenizer.check_encoder(record["encoder"], record["encoder_version"])
    except BadInputError:
        config = tokenizer.config
        raise BadInputError(
            f"{planner_name}: its {config.modality} tokenizer was trained on "
            f"{config.describe_encoder()} vectors, but library {folder} holds "
            f"{record['encoder']} {record['encoder_version']} {what} embeddings",
            hint=f"use a model trained on this library's encoder, or re-ingest the library "
                 f"with {option} {config.encoder}") from None


def _clip_tokens(catalog, clips: list[LibraryClip], tokenizer, tok_id: str | None,
                 planner_name: str) -> dict[str, str]:
    """clip id -> clip token text, for the clips that have frames (see library_tokens)."""
    from adcut.library.store import load_embeddings
    from adcut.tokens.library import stored_codes
    from adcut.tokens.vocab import clip_string

    wanted = {c.id for c in clips}
    frames: dict[str, dict[str, list[int]]] = {}  # source id -> clip id -> rows in time order
    for row in catalog.con.execute("SELECT source_id, row, clip_id FROM frames "
                                   "ORDER BY source_id, t_s, row"):
        if row["clip_id"] in wanted:
            frames.setdefault(row["source_id"], {}).setdefault(row["clip_id"], []).append(row["row"])
    codes: dict[str, np.ndarray] = {}  # source id -> codes of its needed rows (by row)
    pending: list[tuple[str, list[int], np.ndarray]] = []  # (source, rows, vectors) to encode
    for source_id, by_clip in frames.items():
        record = catalog.embedding(source_id, "frames")
        if record is None:
            continue
        _same_encoder(tokenizer, record, "frame", "--vision", planner_name, catalog.folder)
        rows = sorted({r for rs in by_clip.values() for r in rs})
        if rows[-1] >= record["rows"]:
            from adcut.core.errors import LibraryError
            from adcut.library.store import repair_hint

            raise LibraryError(f"the frames of {source_id} in library {catalog.folder} point past "
                               "the end of its frame array", hint=repair_hint(catalog.folder))
        stored = stored_codes(catalog, tok_id, source_id, "frames") if tok_id else None
        if stored is not None and stored.shape == (record["rows"], tokenizer.levels):
            codes[source_id] = stored
            continue
        array = load_embeddings(catalog.folder, record["path"], record["rows"], record["dim"])
        pending.append((source_id, rows, array[rows]))
    if pending:
        encoded = tokenizer.encode(np.concatenate([v for _, _, v in pending]))
        start = 0
        for source_id, rows, vectors in pending:
            full = np.zeros((max(rows) + 1, tokenizer.levels), dtype=np.int64)
            full[rows] = encoded[start:start + len(rows)]
            codes[source_id] = full
            start += len(rows)
    out: dict[str, str] = {}
    for source_id, by_clip in frames.items():
        if source_id not in codes:
            continue
        for clip_id, rows in by_clip.items():
            out[clip_id] = clip_string(codes[source_id][rows].astype(np.int64), None,
                                       tokenizer.codebook_size)
    return out


def _track_tokens(catalog, tracks: list[LibraryTrack], tokenizer,
                  planner_name: str) -> dict[str, str]:
    """track id -> its audio token text, for the tracks with music windows (see library_tokens)."""
    from adcut.encoders.base import l2_normalize
    from adcut.library.store import load_embeddings
    from adcut.tokens.vocab import track_string

    ids: list[str] = []
    vectors: list[np.ndarray] = []
    for t in tracks:
        record = catalog.embedding(t.id, "windows")
        if record is None or not record["rows"]:
            continue
        _same_encoder(tokenizer, record, "music", "--audio", planner_name, catalog.folder)
        windows = load_embeddings(catalog.folder, record["path"], record["rows"], record["dim"])
        vectors.append(l2_normalize(l2_normalize(windows).mean(axis=0)))
        ids.append(t.id)
    if not ids:
        return {}
    codes = tokenizer.encode(np.stack(vectors))
    return {i: track_string(c.astype(np.int64), tokenizer.codebook_size) for i, c in zip(ids, codes)}


def brief_hints(brief: Brief, language: str, seed: int, *,
                clips: dict[int, ClipHints] | None = None,
                tracks: dict[int, TrackHints] | None = None) -> Hints:
    """What the brief tells every planner call, plus the candidates' hints."""
    return Hints(clips=clips or {}, tracks=tracks or {}, target_duration_s=brief.duration_s,
                 tone=brief.tone, description=brief.description,
                 call_to_action=brief.call_to_action, language=language, seed=seed,
                 price=brief.price, offer=brief.offer, url=brief.url, silent_shots=True)


def shots_time_s(brief: Brief) -> float:
    """The part of the ad's length its shots fill: all of it but the end card."""
    from adcut.planner.finish import end_card_for

    return max(1.0, brief.duration_s - end_card_for(brief).duration_s)


def line_budget_s(brief: Brief, n_shots: int) -> float:
    """Voice time for one line: the shots' time shared by the shots, less the picture's
    lead-in and breath around each line (the render's LEAD_IN_S + BREATH_S)."""
    return max(1.0, shots_time_s(brief) / max(1, n_shots) - VOICE_GAP_S)


def spoken_s(line: str, language: str) -> float:
    """Rough voice length of a line, to budget shots before the voice is synthesised."""
    if language in SPEECH_RATE:
        return len(line.replace(" ", "")) / SPEECH_RATE[language]
    return len(line.split()) / WORDS_PER_S


def _without_other_prices(pool: list[LibraryClip], brief: Brief,
                          explanation: Explanation) -> list[LibraryClip]:
    """The pool without clips whose text on screen states a price the brief does not (kept
    when too few clips would be left to make an ad)."""
    wrong = [c for c in pool if shows_another_price(c.on_screen, brief.price, brief.offer)]
    if not wrong or len(pool) - len(wrong) < MIN_SHOTS:
        return pool
    shown = ", ".join(repr(c.on_screen) for c in wrong[:3])
    clips = "1 clip shows" if len(wrong) == 1 else f"{len(wrong)} clips show"
    explanation.notes.append(f"{clips} a price the brief does not state ({shown}; the brief: "
                             f"{brief.price or 'no price'}): left out")
    left_out = {c.id for c in wrong}
    return [c for c in pool if c.id not in left_out]


def _related(clips: list[LibraryClip], looks: ProductLooks, brief: Brief) -> set[str]:
    """Ids of the clips with a sign of the product (adcut.planner.product.related_clips)."""
    words = [brief.product, brief.brand, *brief.selling_points, brief.price or "",
             brief.offer or "", brief.url or ""]
    return related_clips(clips, looks, terms_of(" ".join(words)))


def _with_sign_of_product(pool: list[LibraryClip], related: set[str], looks: ProductLooks,
                          brief: Brief, explanation: Explanation) -> list[LibraryClip]:
    """The pool without the clips that show no sign of the product while the `related` ones
    can fill the ad (adcut.planner.product.footage_for_length), and a note naming how many
    left."""
    from adcut.render.compile import MIN_SPEED

    related = related & {c.id for c in pool}
    need_s = shots_time_s(brief)
    kept = footage_for_length(pool, related, need_s, MIN_SPEED, looks, min_clips=MIN_SHOTS)
    if len(kept) < len(pool):
        left = len(pool) - len(kept)
        clips = "1 clip shows" if left == 1 else f"{left} clips show"
        explanation.notes.append(
            f"{clips} no sign of the product (not like its images or logo, no word of the brief "
            "in a caption, speech or text on screen): left out, since the other "
            f"{len(kept)} fill the {need_s:.1f} s of shots (slowed to at most {MIN_SPEED:g}x "
            "where needed)")
    return kept


def plan_edit(clips: list[LibraryClip], tracks: list[LibraryTrack], brief: Brief,
              planner: Planner, *, seed: int = 0, avoid: frozenset[str] = frozenset(),
              avoid_tracks: frozenset[str] = frozenset(),
              script: list[str] | None = None,
              retrieve: Callable[[list[str], int], list[str]] | None = None,
              looks: ProductLooks | None = None, variant: int = 0,
              ) -> tuple[EditPlan, Explanation]:
    """One ad. `avoid`: clip ids to leave out (other variants' shots); `avoid_tracks`: music
    already used by other variants, when there is another track to choose; `retrieve`:
    candidate retrieval by text for large libraries (queries, k) -> clip ids; `looks`: which
    clips look like the brief's product images (computed here when the brief has some);
    `variant`: this ad's number among variants (which product clip opens it).
    When the library has clips that show the product, the ad opens and ends on them."""
    language = brief.resolved_language
    explanation = Explanation()
    usable = [c for c in clips if c.duration_s >= 0.5]
    if not usable:
        raise BadInputError("the library has no usable footage",
                            hint="ingest footage first: adcut ingest FOOTAGE... --library DIR")
    if looks is None:
        looks = product_looks(usable, brief.product_images, brief.logo)
    shows = set(looks.shows)
    # Clips with a sign of the product are the ad's own footage: other variants' use of them
    # is no reason to leave them out (that would bring in footage with no sign of it).
    related = _related(usable, looks, brief) if shows and script is None else set()
    own = shows | related
    pool = [c for c in usable if c.id not in avoid or c.id in own] or usable
    pool = _without_other_prices(pool, brief, explanation)
    if related:
        pool = _with_sign_of_product(pool, related, looks, brief, explanation)
    footage_s = sum(c.duration_s for c in usable)
    if footage_s < brief.duration_s:
        explanation.notes.append(
            f"the library holds {footage_s:.1f} s of usable footage, less than the "
            f"{brief.duration_s:.0f} s asked for: shots are held or slowed to cover the voice")
    n_shots = len(script) if script else max(MIN_SHOTS, round(shots_time_s(brief) / SECONDS_PER_SHOT))
    n_shots = min(n_shots, len(pool))
    if script and len(script) > len(pool):
        raise BadInputError(f"the script has {len(script)} lines but the library has only "
                            f"{len(pool)} usable clips", hint="ingest more footage or shorten the script")
    product = Product(brief.product, brief.brand, list(brief.selling_points))
    skeleton = _skeleton(brief, product, planner, n_shots, language, seed) if script is None \
        else list(script)
    if retrieve is not None and len(pool) > MAX_POOL and language != "zh":
        queries = skeleton + [brief.product, brief.description, *brief.selling_points]
        queries = [q for q in queries if q.strip()]
        wanted = set(retrieve(queries, max(8, 2 * MAX_POOL // len(queries)))[:MAX_POOL])
        explanation.notes.append(f"{len(pool)} clips: {len(wanted)} candidates retrieved by "
                                 "text (FAISS) before selection")
        pool = [c for c in pool if c.id in wanted or c.id in shows] or pool
        n_shots = min(n_shots, len(pool))
    hints = brief_hints(brief, language, seed, clips={
        i + 1: ClipHints(duration_s=c.duration_s, vision=c.vision, has_speech=c.has_speech,
                         language=language, product=looks.likeness(c.id) or None)
        for i, c in enumerate(pool)})

    # 2. select
    refs = clip_refs(pool)
    chosen = planner.select(SelectTask(product, skeleton, refs, n_select=n_shots), hints)
    numbers = [int(n) for n in chosen.value][:n_shots]
    if len(numbers) < n_shots:  # a planner that picked too few: fill by its own scores
        rest = sorted((n for n in range(1, len(pool) + 1) if n not in numbers),
                      key=lambda n: -chosen.scores.get(n, 0.0))
        numbers += rest[:n_shots - len(numbers)]
    numbers = with_product(numbers, [c.id for c in pool], looks, chosen.scores)
    picked = [pool[n - 1] for n in numbers]

    # 3. order: the i-th clip goes with line i
    sub_refs = clip_refs(picked)
    sub_hints = brief_hints(brief, language, seed,
                            clips={i + 1: hints.clips[numbers[i]] for i in range(len(picked))})
    order = planner.order(SortTask(product, skeleton, sub_refs), sub_hints)
    ordered = [picked[int(n) - 1] for n in order.value]
    ordered = open_and_close_on_product(ordered, looks, turn=variant)

    # 4. final lines over the clips they are spoken on
    if script is None:
        final_refs = clip_refs(ordered)
        # each line gets its share of the ad (the render fits the clip to the line, so a
        # long clip is no reason for a long line)
        final_hints = brief_hints(brief, language, seed, clips={
            i + 1: ClipHints(duration_s=line_budget_s(brief, len(ordered)), language=language)
            for i, c in enumerate(ordered)})
        task = ScriptTask(product, final_refs)
        lines = [str(x) for x in planner.write(task, final_hints).value]
        if planner.name != "zero-shot":  # a model's lines pass the gate the templates pass
            from adcut.planner.claims import keep_supported
            from adcut.planner.zero_shot import ZeroShotPlanner

            lines, gated = keep_supported(
                lines, brief, lambda: [str(x) for x in
                                       ZeroShotPlanner().write(task, final_hints).value])
            explanation.notes.extend(gated)
    else:
        lines = list(script)
    lines = (lines + [""] * len(ordered))[:len(ordered)]

    # explanation of every candidate
    chosen_ids = {c.id for c in ordered}
    for i, c in enumerate(pool):
        score = chosen.scores.get(i + 1)
        if c.id in chosen_ids:
            why = f"chosen for line {next(k for k, o in enumerate(ordered) if o.id == c.id) + 1}"
        else:
            why = "less relevant than the chosen clips"
        explanation.clips.append({"id": c.id, "source": c.source, "start_s": c.start_s,
                                  "end_s": c.end_s, "text": c.text, "score": score,
                                  "chosen": c.id in chosen_ids, "why": why})
    for c in usable:
        if c.id in avoid and c.id not in chosen_ids:
            explanation.clips.append({"id": c.id, "source": c.source, "start_s": c.start_s,
                                      "end_s": c.end_s, "text": c.text, "score": None,
                                      "chosen": False, "why": "used by another variant"})
    for entry in explanation.clips:
        seen = looks.describe(entry["id"])
        if seen:
            entry["why"] += f"; {seen}"
            entry["product_similarity"] = looks.similarity.get(entry["id"])
    explanation.notes.extend(looks.notes)
    explanation.notes.extend(chosen.explanation + order.explanation)

    shots = []
    transition = "fade" if brief.tone.lower() in CALM_TONES else "cut"
    from adcut.core.spoken import spoken_line  # pure text: what the voice will say

    for c, line in zip(ordered, lines):
        said = spoken_line(line, brief.pronounce, language).text if line.strip() else ""
        shots.append(PlanShot(clip_id=c.id, source=c.source, in_s=round(c.start_s, 3),
                              out_s=round(c.end_s, 3), line=line.strip() or None,
                              spoken=said if said and said != " ".join(line.split()) else None,
                              transition=transition,
                              text_boxes=[list(b) for b in c.text_boxes][:MAX_TEXT_BOXES]))
    est_s = sum(max(c.duration_s if not ln else 0.0, spoken_s(ln, language) + 0.5)
                for c, ln in zip(ordered, lines))
    # line i is spoken over ordered[i]: the music task pairs them so
    music = choose_music(tracks, brief, lines, clip_refs(ordered), planner, est_s, seed,
                         explanation, avoid=avoid_tracks)
    from adcut.planner.finish import end_card_for

    plan = EditPlan(aspect=brief.aspect, language=language, shots=shots, music=music,
                    planner=planner.name, brief=brief.model_dump_json(), seed=seed,
                    end_card=end_card_for(brief))
    return plan, explanation


def clip_refs(clips: list[LibraryClip]) -> list[ClipRef]:
    """The clips as a task shows them, numbered 1..n: each with its text (caption, else
    transcript, labels, text on screen) and, for a token-reading planner, its tokens
    (library_tokens; None otherwise, which leaves the caption-only task of other planners)."""
    return [ClipRef(number=i + 1, caption=c.text or None, tokens=c.tokens)
            for i, c in enumerate(clips)]


def _skeleton(brief: Brief, product: Product, planner: Planner, n_shots: int, language: str,
              seed: int) -> list[str]:
    """Step 1: what each shot must say, from the brief alone (hook, benefits, call to action)."""
    blank = [ClipRef(number=i + 1, caption=None) for i in range(n_shots)]
    budget = brief_hints(brief, language, seed, clips={
        i + 1: ClipHints(duration_s=line_budget_s(brief, n_shots)) for i in range(n_shots)})
    return [str(x) for x in planner.write(ScriptTask(product, blank), budget).value]


def choose_music(tracks: list[LibraryTrack], brief: Brief, lines: list[str], refs: list[ClipRef],
                 planner: Planner, est_s: float, seed: int, explanation: Explanation,
                 avoid: frozenset[str] = frozenset()) -> PlanMusic | None:
    from adcut.planner.music import choose_window

    if not tracks:
        explanation.music.append("the library has no music: the ad is made without music "
                                 "(add some with: adcut ingest MUSIC... --music --library DIR)")
        return None
    # Leave room: voice lines are estimated before synthesis.
    need_s = est_s * 1.3 + 2.0
    fits = [t for t in tracks if t.duration_s >= need_s] or \
        sorted(tracks, key=lambda t: -t.duration_s)[:1]
    if fits[0].duration_s < need_s:  # the render loops it (see render.compile.choose_music_loop)
        explanation.music.append(
            f"the longest track ({fits[0].title}, {fits[0].duration_s:.0f} s) is shorter than "
            f"this ad (about {est_s:.0f} s): the render loops it on whole bars")
    candidates = [t for t in fits if t.id not in avoid] or fits
    product = Product(brief.product, brief.brand, list(brief.selling_points))
    audio = [AudioCandidate(number=i + 1, description=describe_track(t), tokens=t.tokens)
             for i, t in enumerate(candidates)]
    hints = brief_hints(brief, brief.resolved_language, seed, tracks={
        i + 1: TrackHints(duration_s=t.duration_s, tempo_bpm=t.tempo_bpm, integrated_lufs=t.lufs,
                          tags=t.tags) for i, t in enumerate(candidates)})
    decision = planner.music(MusicTask(product, lines, refs, audio), hints)
    number = int(decision.value) if not isinstance(decision.value, list) else int(decision.value[0])
    track = candidates[max(1, min(number, len(candidates))) - 1]
    energy = "calm" if brief.tone.lower() in CALM_TONES else "energetic"
    start_s, why = choose_window(min(need_s, track.duration_s), track.duration_s, track.windows,
                                 track.beats_s, energy)
    start_s = max(0.0, min(start_s, track.duration_s - need_s))
    explanation.music.extend([f"track {track.title} ({track.id}): " + "; ".join(decision.explanation)]
                             + why)
    return PlanMusic(source=track.path, track_id=track.id, start_s=round(start_s, 3))


def describe_track(t: LibraryTrack) -> str:
    tags = ", ".join(name for name, _ in t.tags[:6])
    tempo = f"{t.tempo_bpm:.0f} BPM" if t.tempo_bpm else "no steady beat"
    return f"{t.title}: {tags}; {tempo}; {t.duration_s:.0f} s"


def plan_variants(clips, tracks, brief: Brief, planner: Planner, *, count: int, seed: int = 0,
                  script: list[str] | None = None,
                  retrieve: Callable[[list[str], int], list[str]] | None = None,
                  ) -> list[tuple[EditPlan, Explanation]]:
    """`count` ads that differ in hook, order and music; no two share more than half their
    shots (each variant leaves out more than half of every earlier variant's clips), except
    the clips that show a sign of the product (plan_edit never leaves those out: when they
    are all the library has for the product, every variant is made of them, opens on another
    of its product clips where it has several, and differs by its hook line and music)."""
    rng = random.Random(seed)
    looks = product_looks(clips, brief.product_images, brief.logo)  # once for every variant
    out: list[tuple[EditPlan, Explanation]] = []
    avoid: set[str] = set()
    used_tracks: set[str] = set()
    for k in range(count):
        plan, why = plan_edit(clips, tracks, brief, planner, seed=seed + k,
                              avoid=frozenset(avoid), avoid_tracks=frozenset(used_tracks),
                              script=script, retrieve=retrieve, looks=looks, variant=k)
        ids = [s.clip_id for s in plan.shots if s.clip_id]
        keep = len(ids) // 2  # at most half may come back in a later variant
        rng.shuffle(ids)
        avoid.update(ids[keep:])
        if plan.music and plan.music.track_id:
            used_tracks.add(plan.music.track_id)
        out.append((plan, why))
    return out
