"""The AutoCut paper's metrics, exactly as its released scripts computed them, plus the ones a
rigorous evaluation needs. Pure functions: texts and numbers in, numbers out.

Definitions: ../shared/autocut364/README.md and ../shared/reference/METRICS.md section 1.2.
Each task has a per-row scorer (`score_*_row`, None where the row does not count) and a
summary over rows (`summarize_*`), so paired comparisons and bootstrap intervals reuse the
per-row values. Malformed outputs are scored, never skipped, wherever the paper counts them
as wrong (CSA, CRA); the order metrics keep the upstream rule of skipping rows whose token
count differs from the gold's, and report how many rows they kept.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# --------------------------------------------------------------------------- ids

_ID_RE = re.compile(r"\d+")


def parse_ids(text: str | None) -> list[str]:
    """Every maximal run of digits, in order (the paper's ID parser; prose is ignored)."""
    return _ID_RE.findall(text) if isinstance(text, str) else []


def sort_tokens(text: str | None) -> list[str]:
    """eval_sort_metrics tokenisation: full-width comma to ',', strip, split on ',' when there
    is one (empty pieces dropped), else on whitespace."""
    if not isinstance(text, str):
        return []
    t = text.replace("，", ",").strip()
    if "," in t:
        return [p.strip() for p in t.split(",") if p.strip()]
    return t.split()


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _rate(count: int, total: int) -> float | None:
    return count / total if total else None


# --------------------------------------------------------------------------- select


@dataclass(frozen=True)
class SelectRow:
    hit: bool  # every gold id was predicted (CSA)
    precision: float
    recall: float
    f1: float
    jaccard: float
    exact_set: bool  # predicted set == gold set (no extra ids either)
    count_match: bool  # as many ids written as gold ids (the prompt asks for exactly N)


def score_select_row(gold: str, pred: str | None) -> SelectRow | None:
    """None when the gold list is empty: such a row is not counted (upstream rule)."""
    g = parse_ids(gold)
    if not g:
        return None
    p = parse_ids(pred)
    gs, ps = set(g), set(p)
    inter = len(gs & ps)
    recall = inter / len(g)
    precision = inter / len(ps) if ps else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SelectRow(
        hit=inter == len(g),
        precision=precision,
        recall=recall,
        f1=f1,
        jaccard=inter / len(gs | ps),
        exact_set=ps == gs,
        count_match=len(p) == len(g),
    )


def summarize_select(golds: Sequence[str], preds: Sequence[str | None]) -> dict:
    """CSA (all gold clips hit; extra ids free, as in the paper) and the set metrics, macro
    averaged over rows with a non-empty gold (`n_eval`, the rows used)."""
    rows = [score_select_row(g, p) for g, p in zip(golds, preds)]
    used = [r for r in rows if r is not None]
    n_hit = sum(r.hit for r in used)
    return {
        "n_rows": len(rows),
        "n_eval": len(used),
        "n_hit": n_hit,
        "CSA": _rate(n_hit, len(used)),
        "set_precision_macro": _mean([r.precision for r in used]),
        "recall_macro": _mean([r.recall for r in used]),
        "set_f1_macro": _mean([r.f1 for r in used]),
        "jaccard_macro": _mean([r.jaccard for r in used]),
        "exact_set_rate": _rate(sum(r.exact_set for r in used), len(used)),
        "count_match_rate": _rate(sum(r.count_match for r in used), len(used)),
        "n_pred_empty": sum(1 for p in preds if not (p or "").strip()),
    }


# --------------------------------------------------------------------------- sort


def inversions(ranks: Sequence[int]) -> int:
    """Pairs i < j with ranks[i] > ranks[j] (n is at most a few dozen clips)."""
    n = len(ranks)
    return sum(1 for i in range(n) for j in range(i + 1, n) if ranks[i] > ranks[j])


def lis_length(values: Sequence[int]) -> int:
    """Longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []
    for x in values:
        k = bisect.bisect_left(tails, x)
        if k == len(tails):
            tails.append(x)
        else:
            tails[k] = x
    return len(tails)


def mapped_ranks(gold_tokens: Sequence[str], pred_tokens: Sequence[str]) -> list[int]:
    """Each predicted token's gold rank; unknown and repeated tokens dropped."""
    rank = {t: i for i, t in enumerate(gold_tokens)}
    seen: set[str] = set()
    out: list[int] = []
    for t in pred_tokens:
        if t in rank and t not in seen:
            seen.add(t)
            out.append(rank[t])
    return out


def order_scores(ranks: Sequence[int]) -> tuple[float, float, float]:
    """(Kendall tau, pairwise accuracy, LIS ratio) of a list of gold ranks."""
    n = len(ranks)
    lis = lis_length(ranks) / n if n else 0.0
    if n <= 1:
        return 1.0, 1.0, lis
    pairs = n * (n - 1) / 2
    inv = inversions(ranks)
    return 1.0 - 2.0 * inv / pairs, 1.0 - inv / pairs, lis


@dataclass(frozen=True)
class SortRow:
    exact: bool  # predicted id list == gold id list (CRA)
    len_matched: bool  # as many ids predicted as gold ids
    malformed: bool  # the ids are not a permutation of the gold ids
    position_acc: float  # share of gold positions holding the right clip (malformed: as read)
    # eval_sort_metrics values; None when the token counts differ (row not kept)
    kendall_tau: float | None
    pairwise_acc: float | None
    lis_ratio: float | None


def score_sort_row(gold: str, pred: str | None) -> SortRow:
    g, p = parse_ids(gold), parse_ids(pred)
    malformed = len(p) != len(g) or sorted(p) != sorted(g) or len(set(p)) != len(p)
    pos = sum(1 for i, x in enumerate(g) if i < len(p) and p[i] == x) / len(g) if g else float(p == g)
    gt, pt = sort_tokens(gold), sort_tokens(pred)
    tau = pacc = lis = None
    if len(gt) == len(pt):
        tau, pacc, lis = order_scores(mapped_ranks(gt, pt))
    return SortRow(exact=p == g, len_matched=len(p) == len(g), malformed=malformed,
                   position_acc=pos, kendall_tau=tau, pairwise_acc=pacc, lis_ratio=lis)


def summarize_sort(golds: Sequence[str], preds: Sequence[str | None]) -> dict:
    """CRA = exact matches / all rows (malformed outputs count as wrong); the order metrics
    over the rows whose token count equals the gold's (`n_order_rows`)."""
    rows = [score_sort_row(g, p) for g, p in zip(golds, preds)]
    n = len(rows)
    n_exact = sum(r.exact for r in rows)
    n_len = sum(r.len_matched for r in rows)
    kept = [r for r in rows if r.kendall_tau is not None]
    n_bad = sum(r.malformed for r in rows)
    return {
        "n_rows": n,
        "n_exact": n_exact,
        "CRA": _rate(n_exact, n),
        "n_len_matched": n_len,
        "exact_rate_len_matched": _rate(n_exact, n_len),
        "n_order_rows": len(kept),
        "kendall_tau": _mean([r.kendall_tau for r in kept]),  # type: ignore[misc]
        "pairwise_acc": _mean([r.pairwise_acc for r in kept]),  # type: ignore[misc]
        "lis_ratio": _mean([r.lis_ratio for r in kept]),  # type: ignore[misc]
        "position_acc": _mean([r.position_acc for r in rows]),
        "n_malformed": n_bad,
        "malformed_rate": _rate(n_bad, n),
    }


# --------------------------------------------------------------------------- script

# One leading prefix of each kind, in this order (the upstream WCD cleaning of model lines).
_PREFIX_RES = (
    re.compile(r"^\s*\d+\s*[.)）、:：-]\s*"),
    re.compile(r"^\s*[(（]\d+[)）]\s*"),
    re.compile(r"^\s*[•\-·]\s*"),
    re.compile(r"^第[一二三四五六七八九十百零0-9]+[句条行段][:：]\s*"),
)
_WS_RE = re.compile(r"\s+")


def strip_line_prefix(line: str) -> str:
    for rx in _PREFIX_RES:
        line = rx.sub("", line, count=1)
    return line


def script_line_lengths(text: str | None, model: bool) -> list[int]:
    """Character counts of a script's lines as WCD counts them: splitlines, empty lines
    dropped, numbering stripped (model lines only), whitespace deleted, lines left empty
    dropped."""
    if not isinstance(text, str):
        return []
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if model:
        lines = [strip_line_prefix(ln) for ln in lines]
    return [len(x) for x in (_WS_RE.sub("", ln) for ln in lines) if x]


@dataclass(frozen=True)
class ScriptRow:
    wcd: float  # mean per-line |len(pred_i) - len(ref_i)|, shorter side padded with 0s
    wcd_script: float  # |total pred length - total ref length|
    linecount_match: bool


def score_script_row(gold: str, pred: str | None) -> ScriptRow | None:
    """None when both scripts are empty (the ad is skipped)."""
    ref = script_line_lengths(gold, model=False)
    hyp = script_line_lengths(pred, model=True)
    if not ref and not hyp:
        return None
    n = max(len(ref), len(hyp))
    ref_p = ref + [0] * (n - len(ref))
    hyp_p = hyp + [0] * (n - len(hyp))
    return ScriptRow(
        wcd=sum(abs(a - b) for a, b in zip(hyp_p, ref_p)) / n,
        wcd_script=float(abs(sum(hyp) - sum(ref))),
        linecount_match=len(ref) == len(hyp),
    )


def summarize_script(golds: Sequence[str], preds: Sequence[str | None]) -> dict:
    rows = [score_script_row(g, p) for g, p in zip(golds, preds)]
    used = [r for r in rows if r is not None]
    match = _rate(sum(r.linecount_match for r in used), len(used))
    return {
        "n_rows": len(rows),
        "n_eval": len(used),
        "n_skipped": len(rows) - len(used),
        "WCD": _mean([r.wcd for r in used]),
        "WCD_script": _mean([r.wcd_script for r in used]),
        "linecount_match_rate": match,
        "linecount_mismatch_rate": None if match is None else 1.0 - match,
    }


# --------------------------------------------------------------------------- VSC


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class VSCAd:
    vsc_ad: float | None  # the ad's score: stored vsc_ad, else the mean of its pair scores
    n_pairs: int
    pair_mean: float | None  # mean of the stored pair scores
    stored_differs: bool  # stored vsc_ad is not the mean of its pairs


def score_vsc_ad(ad: dict) -> VSCAd:
    """One judged ad of a VSC file ({vsc_ad, pairs: [{score}]}): 0-2 per pair."""
    scores = []
    for pair in ad.get("pairs") or []:
        s = _number(pair.get("score")) if isinstance(pair, dict) else None
        if s is not None and s >= 0:  # failed judge calls (-1) are dropped upstream
            scores.append(s)
    pair_mean = _mean(scores)
    stored = _number(ad.get("vsc_ad"))
    value = stored if stored is not None else pair_mean
    differs = stored is not None and pair_mean is not None and abs(stored - pair_mean) > 1e-9
    return VSCAd(vsc_ad=value, n_pairs=len(scores), pair_mean=pair_mean, stored_differs=differs)


def summarize_vsc(ads: Sequence[dict], header: dict | None = None) -> dict:
    """VSC = mean over ads of the ad's mean pair score (range 0-2)."""
    rows = [score_vsc_ad(a) for a in ads]
    used = [r for r in rows if r.vsc_ad is not None]
    out = {
        "n_ads": len(used),
        "n_pairs": sum(r.n_pairs for r in used),
        "VSC": _mean([r.vsc_ad for r in used]),  # type: ignore[misc]
        "n_ads_vsc_ad_not_pair_mean": sum(r.stored_differs for r in used),
        "n_ads_unscored": len(rows) - len(used),
    }
    header = header or {}
    for key in ("model_VSC", "ads_evaluated", "ads_skipped"):
        if key in header:
            out[f"stored_{key}"] = header[key]
    return out


# --------------------------------------------------------------------------- SQ

SQ_TOTAL = "总分"
SQ_PARTS = ("基础质量", "表达与沟通", "长度与节奏")  # basic quality /30, expression /40, length & rhythm /30
_SQ_TOTAL_RE = re.compile(r"总分[\"」】]?\s*[:：]\s*([0-9]+(?:\.[0-9]+)?)")


def _part_re(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(name) + r"[\"」】]?\s*[:：]\s*([0-9]+(?:\.[0-9]+)?)")


_SQ_PART_RES = {name: _part_re(name) for name in SQ_PARTS}


def parse_judge_json(text: str | None) -> dict | None:
    """The JSON object of a judge answer: the second-to-last block of a ``` fence if any,
    a leading 'json' dropped, must start with '{'."""
    if not isinstance(text, str) or not text:
        return None
    t = text
    if "```" in t:
        parts = t.split("```")
        if len(parts) >= 3:
            t = parts[-2]
    t = t.replace("\r", "").replace("\t", "").strip()
    if t.lower().startswith("json"):
        t = t[4:].strip()
    if not t.startswith("{"):
        return None
    try:
        obj = json.loads(t)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


@dataclass(frozen=True)
class SQRow:
    total: float | None  # 总分, out of 100
    parts: tuple[float, float, float] | None  # basic /30, expression /40, length & rhythm /30


def score_sq_row(row: dict) -> SQRow:
    """Total and parts of one judged script: `parsed_scores` when present, else the JSON in
    `model_output`, else a regex on its text."""
    parsed = row.get("parsed_scores")
    obj = parsed if isinstance(parsed, dict) and parsed.get(SQ_TOTAL) is not None else None
    text = row.get("model_output") if isinstance(row.get("model_output"), str) else ""
    if obj is None:
        obj = parse_judge_json(text)

    def value(name: str, rx: re.Pattern[str]) -> float | None:
        if obj is not None:
            v = obj.get(name)
            if isinstance(v, str):
                try:
                    v = float(v.strip())
                except ValueError:
                    v = None
            num = _number(v)
            if num is not None:
                return num
        m = rx.search(text)
        return float(m.group(1)) if m else None

    total = value(SQ_TOTAL, _SQ_TOTAL_RE)
    parts = [value(n, _SQ_PART_RES[n]) for n in SQ_PARTS]
    return SQRow(total=total, parts=None if any(p is None for p in parts) else tuple(parts))  # type: ignore[arg-type]


def summarize_sq(rows: Sequence[dict]) -> dict:
    """SQ = mean total over rows with a total; the parts and the length-free score
    (basic + expression, out of 70) over rows with all three parts."""
    scored = [score_sq_row(r) for r in rows]
    totals = [s.total for s in scored if s.total is not None]
    parts = [s.parts for s in scored if s.parts is not None]
    return {
        "n_rows": len(scored),
        "n_parsed": len(totals),
        "SQ": _mean(totals),  # type: ignore[arg-type]
        "n_subscores": len(parts),
        "basic_quality_mean": _mean([p[0] for p in parts]),
        "expression_mean": _mean([p[1] for p in parts]),
        "length_rhythm_mean": _mean([p[2] for p in parts]),
        "SQ_without_length": _mean([p[0] + p[1] for p in parts]),
    }


# --------------------------------------------------------------------------- music

MUSIC_KS = (1, 5, 10, 50)


def music_rank(gt: object, ranking: Sequence[object]) -> int | None:
    """1-based rank of the original track in a ranking (ids compared as text; padding such
    as -1 never matches a real id), or None when it is not listed."""
    key = str(gt)
    for i, cand in enumerate(ranking, 1):
        if str(cand) == key:
            return i
    return None


def summarize_music(ranks: Sequence[int | None], list_lengths: Sequence[int] | None = None) -> dict:
    """R@K and MRR (a miss scores 0); median rank with a miss ranked just below its list
    (upstream: 51 for a top-50 list)."""
    n = len(ranks)
    out: dict = {"n_queries": n}
    for k in MUSIC_KS:
        out[f"R@{k}"] = _rate(sum(1 for r in ranks if r is not None and r <= k), n)
    out["MRR"] = _mean([1.0 / r if r else 0.0 for r in ranks])
    lengths = list(list_lengths) if list_lengths is not None else [0] * n
    filled = [r if r is not None else (lengths[i] + 1) for i, r in enumerate(ranks)]
    out["median_rank"] = float(statistics.median(filled)) if filled else None
    out["n_missing"] = sum(1 for r in ranks if r is None)
    return out


# --------------------------------------------------------------------------- systems

HEADLINE = ("CSA", "CRA", "VSC", "SQ", "WCD")
PAPER_DECIMALS = {"CSA": 3, "CRA": 3, "VSC": 3, "SQ": 1, "WCD": 2}


def summarize_system(files: Iterable[dict]) -> dict:
    """A system's headline (the paper's five numbers, None where its file is absent) and its
    counts and extras, from the per-file results of its select/sort/script/vsc/sq files
    (the first file of each kind counts)."""
    by_kind: dict[str, dict] = {}
    for f in files:
        by_kind.setdefault(f.get("kind", ""), f)
    headline: dict[str, float | None] = {k: None for k in HEADLINE}
    extras: dict = {}
    if (s := by_kind.get("select")) is not None:
        headline["CSA"] = s["CSA"]
        extras.update(CSA_n_eval=s["n_eval"], CSA_n_hit=s["n_hit"])
    if (s := by_kind.get("sort")) is not None:
        headline["CRA"] = s["CRA"]
        extras.update(CRA_n_rows=s["n_rows"], CRA_n_exact=s["n_exact"], kendall_tau=s["kendall_tau"],
                      pairwise_acc=s["pairwise_acc"], lis_ratio=s["lis_ratio"], order_n_rows=s["n_order_rows"])
    if (s := by_kind.get("script")) is not None:
        headline["WCD"] = s["WCD"]
        extras.update(WCD_n_eval=s["n_eval"], WCD_script=s["WCD_script"])
    if (s := by_kind.get("vsc")) is not None:
        headline["VSC"] = s["VSC"]
        extras.update(VSC_n_ads=s["n_ads"])
    if (s := by_kind.get("sq")) is not None:
        headline["SQ"] = s["SQ"]
        extras.update(SQ_n_parsed=s["n_parsed"], SQ_without_length=s["SQ_without_length"])
    rounded = {k: (None if v is None else round(v, PAPER_DECIMALS[k])) for k, v in headline.items()}
    return {"headline": headline, "headline_rounded": rounded, "counts_and_extras": extras}
