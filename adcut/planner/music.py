"""Music for the zero-shot planner: which track fits the ad, which stretch of it to use, and
where cut points may move to land on beats. All pure: data in, data out.

A track is described by its AudioSet tags (YAMNet class scores, including the mood classes
"Happy music", "Exciting music", "Tender music", "Sad music", ...), tempo and loudness. The ad
is described by its brief (tone, free text, selling points) and its script. Both are mapped to
a few mood axes and an energy level, and the track whose profile fits the ad's wins.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Sequence

MOODS = ("energetic", "happy", "calm", "tender", "premium", "sad")

# AudioSet class -> contribution to each mood axis (class scores are sigmoid outputs in [0, 1]).
_TAG_MOODS: dict[str, dict[str, float]] = {
    "exciting music": {"energetic": 1.0, "happy": 0.2},
    "happy music": {"happy": 1.0, "energetic": 0.3},
    "funny music": {"happy": 0.7, "energetic": 0.2},
    "tender music": {"tender": 1.0, "calm": 0.5},
    "sad music": {"sad": 1.0, "tender": 0.2},
    "angry music": {"energetic": 0.6, "sad": 0.2},
    "scary music": {"sad": 0.5},
    "electronic music": {"energetic": 0.5},
    "dance music": {"energetic": 0.7, "happy": 0.3},
    "electronic dance music": {"energetic": 0.8, "happy": 0.2},
    "house music": {"energetic": 0.6},
    "techno": {"energetic": 0.6},
    "drum and bass": {"energetic": 0.8},
    "dubstep": {"energetic": 0.8},
    "trance music": {"energetic": 0.6},
    "rock music": {"energetic": 0.6},
    "heavy metal": {"energetic": 0.7},
    "punk rock": {"energetic": 0.7},
    "hip hop music": {"energetic": 0.5, "premium": 0.1},
    "funk": {"energetic": 0.4, "happy": 0.4},
    "disco": {"energetic": 0.5, "happy": 0.5},
    "pop music": {"happy": 0.4, "energetic": 0.2},
    "reggae": {"happy": 0.4, "calm": 0.2},
    "ska": {"happy": 0.5, "energetic": 0.3},
    "music for children": {"happy": 0.6},
    "ukulele": {"happy": 0.5, "tender": 0.2},
    "whistling": {"happy": 0.3},
    "ambient music": {"calm": 0.8, "premium": 0.3},
    "new-age music": {"calm": 0.8},
    "lullaby": {"calm": 0.6, "tender": 0.6},
    "classical music": {"premium": 0.6, "calm": 0.4},
    "orchestra": {"premium": 0.5},
    "jazz": {"premium": 0.6, "calm": 0.2},
    "swing music": {"happy": 0.4, "premium": 0.3},
    "piano": {"tender": 0.4, "calm": 0.3, "premium": 0.3},
    "acoustic guitar": {"tender": 0.4, "calm": 0.3},
    "folk music": {"tender": 0.3, "calm": 0.3},
    "bowed string instrument": {"premium": 0.4, "tender": 0.3},
    "string section": {"premium": 0.4, "tender": 0.3},
    "soul music": {"tender": 0.3, "premium": 0.3},
    "rhythm and blues": {"premium": 0.3, "tender": 0.2},
    "drum": {"energetic": 0.3},
    "drum kit": {"energetic": 0.3},
}

# Words in a brief or script -> mood axes. English stems and Chinese words.
_BRIEF_MOODS: dict[str, tuple[str, ...]] = {
    "energetic": ("energ", "exciting", "excite", "dynamic", "bold", "sport", "fast", "power", "intense",
                  "upbeat", "hype", "action", "adventur", "extreme", "fitness", "workout", "game", "gaming",
                  "活力", "动感", "激情", "燃", "炫酷", "酷炫", "运动", "速度", "劲爆", "爆款", "秒杀", "抢购",
                  "限时", "冲", "游戏", "电竞", "嗨", "狂欢", "火爆", "热销"),
    "happy": ("happy", "playful", "fun", "joy", "cheer", "bright", "cute", "kid", "summer", "party", "sunny",
              "快乐", "开心", "欢乐", "可爱", "好玩", "有趣", "趣味", "阳光", "夏天", "派对", "福利", "优惠", "红包"),
    "calm": ("calm", "relax", "gentle", "soft", "peace", "quiet", "sleep", "spa", "mindful", "natural",
             "cozy", "comfort", "放松", "舒适", "安静", "平静", "柔和", "睡眠", "自然", "舒服", "轻柔", "治愈"),
    "tender": ("warm", "tender", "family", "love", "care", "baby", "mother", "home", "heart", "together",
               "温暖", "温馨", "家人", "家庭", "爱", "宝宝", "妈妈", "陪伴", "呵护", "关爱", "孩子"),
    "premium": ("premium", "luxur", "elegan", "sophisticat", "classic", "refined", "exclusive", "quality",
                "高级", "奢华", "优雅", "高端", "品质", "精致", "尊贵", "大气", "经典", "质感"),
    "sad": ("sad", "melanchol", "nostalg", "emotional", "touching", "memory", "伤感", "感动", "回忆", "思念",
            "怀念", "相思", "愁", "人生"),
}
_URGENT_RE = re.compile(r"[!！]|now|today|hurry|limited|only|立即|马上|赶紧|快来|抢|限时|秒杀|立减|仅需|只要")

ENERGY_LEVELS = ("low", "medium", "high")
_TONE_ENERGY = {
    "energetic": "high", "exciting": "high", "playful": "high", "bold": "high", "sporty": "high",
    "upbeat": "high", "fun": "high", "calm": "low", "relaxed": "low", "gentle": "low", "soft": "low",
    "premium": "medium", "luxury": "medium", "elegant": "medium", "warm": "medium", "emotional": "low",
    "sad": "low", "tender": "low",
}

SILENCE_DB = -45.0  # below this a stretch is (near) silence: never start the ad there


def _known_energy(energy: str | None) -> str | None:
    e = (energy or "").strip().lower()
    if not e:
        return None
    if e in ENERGY_LEVELS:
        return e
    if e in _TONE_ENERGY:
        return _TONE_ENERGY[e]
    for word, level in _TONE_ENERGY.items():
        if word in e:
            return level
    return None


def energy_level(energy: str | None) -> str:
    """'high' | 'medium' | 'low' from an energy word or a tone ('energetic', 'calm', ...);
    'medium' when the word is unknown."""
    return _known_energy(energy) or "medium"


def score_brief_moods(texts: Iterable[str], tone: str | None = None) -> dict[str, float]:
    """How much the ad asks for each mood, normalised to sum 1. The tone counts triple: the user
    said it. With no cue at all an ad is mildly happy and energetic (most ads are)."""
    weights = dict.fromkeys(MOODS, 0.0)
    joined = " ".join(t for t in texts if t).lower()
    tone_l = (tone or "").lower()
    for mood, words in _BRIEF_MOODS.items():
        for w in words:
            if w in joined:
                weights[mood] += 1.0
            if tone_l and w in tone_l:
                weights[mood] += 3.0
    urgent = len(_URGENT_RE.findall(joined))
    weights["energetic"] += min(urgent, 6) * 0.25
    total = sum(weights.values())
    if total <= 0:
        return {**dict.fromkeys(MOODS, 0.0), "happy": 0.5, "energetic": 0.5}
    return {m: w / total for m, w in weights.items()}


def brief_energy(texts: Iterable[str], tone: str | None = None) -> str:
    """The ad's energy level for picking a music window: from the tone if it names one, else
    from the mood the brief and script ask for."""
    named = _known_energy(tone)
    if named is not None:
        return named
    m = score_brief_moods(texts, tone)
    high = m["energetic"] + 0.5 * m["happy"]
    low = m["calm"] + m["tender"] + m["sad"]
    if high >= low + 0.2:
        return "high"
    if low >= high + 0.2:
        return "low"
    return "medium"


def score_track_moods(tags: Sequence[tuple[str, float]], description: str | None = None) -> dict[str, float]:
    """A track's mood profile in [0, 1] per axis, from its AudioSet tags (and, without tags, from
    the words of its text description)."""
    prof = dict.fromkeys(MOODS, 0.0)
    for name, score in tags:
        for mood, w in _TAG_MOODS.get(name.strip().lower(), {}).items():
            prof[mood] += w * float(score)
    if not tags and description:
        desc = description.lower()
        for name, moods in _TAG_MOODS.items():
            if name in desc:
                for mood, w in moods.items():
                    prof[mood] += 0.5 * w
        for mood, words in _BRIEF_MOODS.items():
            if any(w in desc for w in words):
                prof[mood] += 0.5
    return {m: min(1.0, v) for m, v in prof.items()}


def _tempo_fit(tempo_bpm: float, energy: str) -> float:
    """1 inside the tempo band that suits the energy, falling off outside; 0.5 when unknown."""
    if not tempo_bpm or tempo_bpm <= 0:
        return 0.5
    lo, hi = {"high": (110.0, 150.0), "medium": (90.0, 125.0), "low": (60.0, 100.0)}[energy]
    if lo <= tempo_bpm <= hi:
        return 1.0
    off = (lo - tempo_bpm) if tempo_bpm < lo else (tempo_bpm - hi)
    return max(0.0, 1.0 - off / 40.0)


def _loudness_fit(lufs: float | None, energy: str) -> float:
    if lufs is None or not math.isfinite(lufs):
        return 0.5
    target = {"high": -10.0, "medium": -14.0, "low": -18.0}[energy]
    return max(0.0, 1.0 - abs(lufs - target) / 12.0)


def score_track(moods_wanted: dict[str, float], energy: str, tags: Sequence[tuple[str, float]],
                tempo_bpm: float = 0.0, integrated_lufs: float | None = None,
                description: str | None = None) -> tuple[float, list[str]]:
    """(score, reasons) of one track for an ad. Score: mood fit (0-1) + 0.25 tempo fit + 0.15
    loudness fit - a penalty for speech or singing (they fight the voice-over)."""
    prof = score_track_moods(tags, description)
    mood_fit = sum(moods_wanted[m] * prof[m] for m in MOODS)
    # sad music under a non-sad ad hurts; happy/exciting under a sad one too
    if moods_wanted["sad"] < 0.2:
        mood_fit -= 0.5 * prof["sad"]
    t_fit = _tempo_fit(tempo_bpm, energy)
    l_fit = _loudness_fit(integrated_lufs, energy)
    tag_scores = {n.strip().lower(): float(s) for n, s in tags}
    vocal = max(tag_scores.get("speech", 0.0), 0.5 * tag_scores.get("singing", 0.0))
    score = mood_fit + 0.25 * t_fit + 0.15 * l_fit - 0.3 * vocal
    top = sorted(((prof[m], m) for m in MOODS), reverse=True)
    reasons = [f"mood fit {mood_fit:.2f} (track: " + ", ".join(f"{m} {v:.2f}" for v, m in top[:2] if v > 0) + ")"
               if any(v > 0 for v, _ in top) else f"mood fit {mood_fit:.2f} (no mood tags)"]
    if tempo_bpm:
        reasons.append(f"tempo {tempo_bpm:.0f} BPM fits {energy} energy {t_fit:.2f}")
    if integrated_lufs is not None:
        reasons.append(f"loudness {integrated_lufs:.1f} LUFS fit {l_fit:.2f}")
    if vocal > 0.2:
        reasons.append(f"vocals {vocal:.2f} would compete with the voice-over")
    return score, reasons


# --------------------------------------------------------------------------- windows and beats


def _stretch_stats(windows: Sequence[tuple[float, float, float]], start_s: float, end_s: float) -> tuple[float, float]:
    """Overlap-weighted mean and standard deviation of rms_db over [start_s, end_s]."""
    tot = acc = acc2 = 0.0
    for w0, w1, db in windows:
        ov = min(w1, end_s) - max(w0, start_s)
        if ov > 0:
            tot += ov
            acc += ov * db
            acc2 += ov * db * db
    if tot <= 0:
        return SILENCE_DB - 30.0, 0.0
    mean = acc / tot
    return mean, math.sqrt(max(0.0, acc2 / tot - mean * mean))


def _level_at(windows: Sequence[tuple[float, float, float]], t_s: float) -> float:
    for w0, w1, db in windows:
        if w0 <= t_s < w1:
            return db
    return SILENCE_DB - 30.0


def _nearest(sorted_vals: Sequence[float], x: float) -> float | None:
    if not sorted_vals:
        return None
    i = bisect.bisect_left(sorted_vals, x)
    cands = [sorted_vals[j] for j in (i - 1, i) if 0 <= j < len(sorted_vals)]
    return min(cands, key=lambda v: (abs(v - x), v))


def choose_window(duration_needed_s: float, track_duration_s: float,
                  windows: list[tuple[float, float, float]], beats_s: list[float],
                  energy: str) -> tuple[float, list[str]]:
    """The start second of the stretch of a track to play under an ad, and why.

    `windows`: (start_s, end_s, rms_db) loudness windows of the track; `beats_s`: beat times;
    `energy`: the ad's energy ('high'/'energetic', 'medium', 'low'/'calm'). Energetic ads want
    the loud, steady part; calm ads a quieter one (near the track's lower quartile, not silence);
    medium ones the typical level. Never start in silence. The start is snapped to a beat
    within half a second when that keeps the stretch inside the track. Ties go to the earliest.
    """
    level = energy_level(energy)
    need = max(0.0, float(duration_needed_s))
    total = max(0.0, float(track_duration_s))
    if total <= 0:
        return 0.0, ["track has no duration: start at 0"]
    latest = total - need
    if latest <= 0:
        return 0.0, [f"track ({total:.1f} s) is not longer than the ad ({need:.1f} s): start at 0"]
    wins = sorted((float(a), float(b), float(c)) for a, b, c in windows if b > a)
    beats = sorted(float(b) for b in beats_s if 0.0 <= b <= latest)
    if not wins:
        start = _nearest(beats, 0.0) if beats else 0.0
        start = 0.0 if start is None or start > 0.5 else start
        return start, ["no loudness data: start at the beginning" + (" (on a beat)" if start else "")]

    levels = sorted(db for _, _, db in wins if db > SILENCE_DB)
    if not levels:
        return 0.0, ["the track is silent throughout: start at 0"]
    q = lambda p: levels[min(len(levels) - 1, int(p * (len(levels) - 1) + 0.5))]  # noqa: E731
    target = {"high": q(1.0), "medium": q(0.5), "low": q(0.25)}[level]

    def score_at(s: float) -> float:
        mean, std = _stretch_stats(wins, s, s + need)
        score = -abs(mean - target) - 0.5 * std
        if _level_at(wins, s) <= SILENCE_DB:
            score -= 100.0  # starting in silence: only if nothing else exists
        return score

    # candidate starts: every window start and every beat that leaves room for the ad
    cands = sorted({0.0, *(w0 for w0, _, _ in wins if w0 <= latest), *beats})
    best_s = max(cands, key=lambda s: (score_at(s), -s))  # ties: the earliest
    start = best_s
    # on a beat: the best-scoring beat within half a second (ties: the nearest, then earliest)
    near = [b for b in beats if abs(b - best_s) <= 0.5 and _level_at(wins, b) > SILENCE_DB]
    beat_note = None
    if near and best_s not in near:
        start = max(near, key=lambda b: (score_at(b), -abs(b - best_s), -b))
        beat_note = f"snapped start {best_s:.2f} s to the beat at {start:.2f} s"
    elif best_s in near:
        beat_note = "starts on a beat"
    mean, std = _stretch_stats(wins, start, start + need)
    reasons = [f"{level} energy ad: stretch {start:.2f}-{start + need:.2f} s at {mean:.1f} dB "
               f"(target {target:.1f} dB, spread {std:.1f} dB)"]
    if beat_note:
        reasons.append(beat_note)
    return start, reasons


def snap_cuts_to_beats(cut_times_s: Sequence[float], beats_s: Sequence[float], max_shift_s: float) -> list[float]:
    """Each cut moved to its nearest beat when that beat is at most `max_shift_s` away (the caller
    picks the shift that keeps voice lines whole), keeping the cuts strictly increasing: a cut
    whose snap would reach or pass the previous cut, or land on a beat already used, stays put."""
    beats = sorted(float(b) for b in beats_s)
    out: list[float] = []
    used: set[float] = set()
    for t in cut_times_s:
        t = float(t)
        new = t
        b = _nearest(beats, t)
        if b is not None and abs(b - t) <= max_shift_s and b not in used:
            new = b
        if out and new <= out[-1]:
            new = t  # snapping would reorder or merge cuts
        if new != t:
            used.add(new)
        out.append(new)
    return out
