"""Zero-shot script writing: one voice-over line per clip, from deterministic templates and the
product's own words (no language model).

The script follows the usual shape of a short ad: a hook, benefits drawn from the selling
points (each matched to the clip it is spoken over), a line of proof, and a call to action. Each
line is fitted to the time its clip is on screen: about 4.5 Chinese characters or 2.6 English
words per second of speech. Lines are written in the product's language: Chinese product
information gives Chinese lines, anything else English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adcut.tasks.types import Product

CHARS_PER_S_ZH = 4.5
WORDS_PER_S_EN = 2.6
# A clip of unknown length is taken to be this long: a typical cut in a short ad (the released
# Chinese ads average ~10 characters per voice-over line, i.e. ~2.3 s at 4.5 chars/s).
DEFAULT_CLIP_S = 2.3

ROLE_HOOK, ROLE_BENEFIT, ROLE_PROOF, ROLE_CTA = "hook", "benefit", "proof", "cta"

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ZH_PUNCT_END = "。！？!?，,、；;：:"

_HOOKS_ZH = (
    "{product}来了！",
    "还在找好用的{product}吗？",
    "家人们，这款{product}一定要看！",
    "{brand}{product}，今天必须推荐给你！",
    "这款{product}，真的让我惊喜！",
)
_BENEFITS_ZH = (
    "{point}。",
    "而且{point}，",
    "它{point}，",
    "{point}，真的很省心。",
    "这款{product}{point}。",
    "最关键的是{point}，",
    "{point}，你一定会喜欢。",
)
_SHOW_ZH = (
    "看这{obj}，{point}。",
    "你看{obj}，{point}，",
)
_PROOFS_ZH = (
    "好评不断。",
    "用过的人都说好。",
    "{brand}品质，值得信赖。",
    "口碑爆棚，回购率超高。",
    "这么多人选择{brand}，一定有道理。",
)
_CTAS_ZH = (
    "快来抢购吧！",
    "赶紧点击链接下单！",
    "赶紧点击下方链接下单吧！",
    "喜欢的朋友赶紧点击下方链接抢购吧！",
)
# Benefits to speak when the brief lists no selling points.
_GENERIC_POINTS_ZH = ("品质看得见", "细节满满", "用着超安心", "颜值和实力都在线")
_GENERIC_POINTS_EN = ("quality you can see", "made to last", "designed with care", "ready when you are")
_GENERIC_HOOKS_ZH = ("看过来！", "家人们看过来！", "这个真的要推荐给你！")
_GENERIC_HOOKS_EN = ("Check this out.", "You need to see this.", "Here is something you will love.")
_FILLERS_ZH = ("真的很值得", "你一定会喜欢", "闭眼入都不亏", "用过就知道有多好")

_HOOKS_EN = (
    "Meet {product}.",
    "Meet {brand} {product}.",
    "Looking for a better {product}?",
    "This {product} changes everything.",
    "You need to see this {product} from {brand}.",
)
_BENEFITS_EN = (
    "{Point}.",
    "{Point}, every time.",
    "It's all about {point}.",
    "With {product}: {point}.",
    "{Point}, exactly when you need it.",
)
_SHOW_EN = (
    "See the {obj}? {Point}.",
    "Look at that {obj}: {point}.",
)
_PROOFS_EN = (
    "Customers love it.",
    "Trusted quality from {brand}.",
    "Thousands of happy customers agree.",
    "Loved by people who care about the details.",
)
_CTAS_EN = (
    "Shop now.",
    "Get yours today.",
    "Tap the link and get yours today.",
    "Tap the link below and get your {product} today.",
)
_FILLERS_EN = ("every single day", "and you will feel the difference", "without compromise")

# Caption nouns that say who is on screen rather than what is shown.
_PEOPLE_ZH = frozenset("人 女士 男士 男子 男人 女人 女性 男性 女孩 男孩 女子 模特 手 双手 手指 人们 一群 年轻人 孩子 顾客 背景 画面 镜头 场景 室内 户外 图片 旁边".split())
_PEOPLE_EN = frozenset("person people man men woman women girl boy hand hands someone model background image picture scene closeup close-up view".split())
_EN_STOP = frozenset("a an the and or of to in on at for with by from is are its it this that his her their some two three".split())


def script_language(product: Product, fallback: str = "en") -> str:
    """'zh' when the product information is Chinese, 'en' when it has Latin letters, else the
    fallback (the brief's language)."""
    text = " ".join([product.name, product.brand, *product.selling_points])
    cjk = len(_CJK_RE.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    if cjk + latin == 0:
        return "zh" if fallback.lower().startswith("zh") else "en"
    return "zh" if cjk / (cjk + latin) >= 0.3 else "en"


def line_length(text: str, language: str) -> int:
    """Spoken length: characters without whitespace and punctuation (zh), or words (en)."""
    if language == "zh":
        return len(re.sub(r"[\s\W_]+", "", text, flags=re.UNICODE))
    return len(re.findall(r"[A-Za-z0-9][A-Za-z0-9'’-]*", text))


def target_length(duration_s: float | None, language: str) -> int:
    """How long a line spoken over a clip of `duration_s` should be (chars for zh, words for en)."""
    d = DEFAULT_CLIP_S if duration_s is None or duration_s <= 0 else float(duration_s)
    rate = CHARS_PER_S_ZH if language == "zh" else WORDS_PER_S_EN
    return max(2 if language == "zh" else 1, round(d * rate))


def plan_roles(n: int, n_points: int) -> list[str]:
    """The ad's shape for n lines: hook first, call to action last, benefits between, and one
    line of proof before the call when there is room for it beyond the selling points."""
    if n <= 0:
        return []
    if n == 1:
        return [ROLE_CTA]
    if n == 2:
        return [ROLE_HOOK, ROLE_CTA]
    middle = n - 2
    proof = 1 if (middle >= 3 or (middle == 2 and n_points < 2)) else 0
    return [ROLE_HOOK] + [ROLE_BENEFIT] * (middle - proof) + [ROLE_PROOF] * proof + [ROLE_CTA]


def caption_object(caption: str | None, language: str) -> str | None:
    """The thing a clip shows, as a short noun from its caption (None when only people are)."""
    if not caption:
        return None
    if language == "zh":
        if not _CJK_RE.search(caption):
            return None
        from adcut.planner.relevance import _jieba

        _jieba()  # initialise quietly
        import jieba.posseg as pseg

        nouns = [w for w, flag in pseg.lcut(caption) if flag in ("n", "nz", "vn") and w not in _PEOPLE_ZH and len(w) >= 2]
        if not nouns:
            return None
        return max(nouns, key=len)[:6]
    words = [w for w in re.findall(r"[a-z][a-z-]*", caption.lower()) if w not in _EN_STOP]
    nouns = [w for w in words if w not in _PEOPLE_EN and not w.endswith("ing") and len(w) > 2]
    return nouns[-1] if nouns else None


@dataclass(frozen=True)
class ScriptSlot:
    role: str
    target: int
    point: str | None
    obj: str | None


def _clean_product(name: str) -> str:
    # "旧车置换/新车（六八果肉）" reads badly aloud: keep the part before brackets and slashes
    base = re.split(r"[（(【\[]", name, maxsplit=1)[0]
    base = base.split("/")[-1].strip() or name.strip()
    return base


def _short_name(name: str, language: str) -> str:
    """A shorter way to say the product: its head noun (手机壳 for 华为nova13皮革手机壳; shoes for
    TrailBlaze running shoes). The full name when it is already short."""
    if language == "zh":
        if line_length(name, "zh") <= 4:
            return name
        from adcut.planner.relevance import _jieba

        words = _jieba().lcut(name)
        head = ""
        for w in reversed(words):  # the trailing Chinese words, at least two characters (手机+壳)
            if not _CJK_RE.fullmatch(w[0]) or len(head) >= 2:
                break
            head = w + head
        return head if len(head) >= 2 else name
    words = name.split()
    return words[-1] if len(words) > 1 else name


def _first_clause(text: str, language: str, limit: int) -> str | None:
    """The leading clauses of `text` that fit in `limit` (chars or words), cut only at a
    clause boundary; None when even the first clause is too long."""
    parts = [p for p in re.split(r"(?<=[，,、；;。！!？?:：])", text) if p.strip()]
    out = ""
    for p in parts:
        if line_length(out + p, language) > limit:
            break
        out += p
    return out or None


def _fill(template: str, *, product: str, brand: str, point: str = "", obj: str = "") -> str:
    cap = point[:1].upper() + point[1:] if point else point
    return template.format(product=product, brand=brand, point=point, Point=cap, obj=obj)


def _rotate(seq: tuple[str, ...], k: int) -> list[str]:
    k = k % len(seq) if seq else 0
    return list(seq[k:] + seq[:k])


def _best_fit(cands: list[str], target: int, language: str) -> str:
    """The candidate closest to the target length; ties keep list order (the seed's rotation)."""
    return min(cands, key=lambda c: abs(line_length(c, language) - target))


def _fit(line: str, target: int, language: str, fillers: list[str]) -> str:
    """Trim a line that is far too long (at a clause boundary only: a line that runs long is
    better than a broken one), extend one that is far too short with a filler clause."""
    n = line_length(line, language)
    end = "。" if language == "zh" else "."
    if n > target * 1.5 + 1:
        short = _first_clause(line, language, round(target * 1.2))
        if short:
            line = short.rstrip(_ZH_PUNCT_END + ". ") + end
    elif n < target * 0.6 and fillers:
        stem = line.rstrip(_ZH_PUNCT_END + ". ")
        sep = "，" if language == "zh" else ", "
        options = [line] + [stem + sep + f + end for f in fillers]
        line = _best_fit(options, target, language)
    return line


def build_slots(product: Product, captions: list[str | None], durations_s: list[float | None],
                language: str, point_scores: list[list[float]] | None = None) -> list[ScriptSlot]:
    """The role, target length, selling point and shown object of each line. `point_scores[i][k]`
    (optional) says how well clip i shows selling point k; benefits take the best unused point
    for their clip, in clip order, starting over once all were used."""
    points = [p.strip() for p in product.selling_points if p and p.strip() and p.strip() != "无"]
    n_real = len(points)
    if not points:
        points = list(_GENERIC_POINTS_ZH if language == "zh" else _GENERIC_POINTS_EN)
        point_scores = None
    roles = plan_roles(len(captions), n_real)
    slots: list[ScriptSlot] = []
    unused = list(range(len(points)))
    for i, role in enumerate(roles):
        point = None
        if role == ROLE_BENEFIT and points:
            if not unused:
                unused = list(range(len(points)))
            if point_scores is not None:
                k = max(unused, key=lambda j: (point_scores[i][j], -j))
            else:
                k = unused[0]
            unused.remove(k)
            point = points[k]
        elif role == ROLE_CTA and len(roles) == 1 and points:
            point = points[0]
        slots.append(ScriptSlot(role=role, target=target_length(durations_s[i], language), point=point,
                                obj=caption_object(captions[i], language) if role == ROLE_BENEFIT else None))
    return slots


def write_lines(product: Product, slots: list[ScriptSlot], language: str,
                call_to_action: str | None = None, seed: int = 0) -> list[str]:
    """The text of each slot: the template variant closest to the slot's target length, from
    rotations chosen by the seed (so variants differ), made to fit by trimming or extending."""
    zh = language == "zh"
    has_name = bool(_clean_product(product.name))
    name = _clean_product(product.name) or ("这款产品" if zh else "this product")
    names = list(dict.fromkeys([name, _short_name(name, language)]))
    brand = product.brand.strip() if product.brand and product.brand.strip() not in ("无", "none") else name
    fillers = list(_FILLERS_ZH if zh else _FILLERS_EN)
    lines: list[str] = []
    used: set[str] = set()
    for i, slot in enumerate(slots):
        if slot.role == ROLE_HOOK:
            if has_name:
                tpls = _rotate(_HOOKS_ZH if zh else _HOOKS_EN, seed)
            else:
                tpls = _rotate(_GENERIC_HOOKS_ZH if zh else _GENERIC_HOOKS_EN, seed)
            cands = [_fill(t, product=nm, brand=brand) for nm in names for t in tpls]
        elif slot.role == ROLE_PROOF:
            tpls = _rotate(_PROOFS_ZH if zh else _PROOFS_EN, seed)
            cands = [_fill(t, product=nm, brand=brand) for nm in names for t in tpls]
        elif slot.role == ROLE_CTA:
            if call_to_action and call_to_action.strip():
                cands = [call_to_action.strip()]
            else:
                tpls = _rotate(_CTAS_ZH if zh else _CTAS_EN, seed)
                cands = [_fill(t, product=nm, brand=brand) for nm in names for t in tpls]
            if slot.point and len(slots) == 1:  # a one-line ad says what and why, then asks
                sep = "，" if zh else ". "
                cands = [_fill("{product}" + ("，{point}" if zh else ": {point}"), product=name, brand=brand,
                               point=slot.point) + sep + c for c in cands] + cands
        else:
            point = slot.point or (name if zh else f"the {name}")
            tpls = list(_rotate(_BENEFITS_ZH if zh else _BENEFITS_EN, seed + i))
            if slot.obj:
                tpls += _rotate(_SHOW_ZH if zh else _SHOW_EN, seed + i)
            cands = [_fill(t, product=nm, brand=brand, point=point, obj=slot.obj or "") for nm in names for t in tpls]
        # avoid repeating a line word for word when another candidate fits as well
        fresh = [c for c in cands if c not in used] or cands
        line = _best_fit(fresh, slot.target, language)
        if not (slot.role == ROLE_CTA and call_to_action and call_to_action.strip() and len(slots) > 1):
            line = _fit(line, slot.target, language, fillers)  # the user's own call is never cut
        used.add(line)
        lines.append(line)
    return lines


def load_script(path) -> list[str]:
    """`--script FILE`: one voice-over line per shot, blank lines skipped. The file must be
    UTF-8 text; a line too long to be spoken over one shot, or more lines than an ad has
    shots, is refused naming the line."""
    from pathlib import Path

    from adcut.core.errors import BadInputError
    from adcut.core.plan import MAX_LINE_CHARS, MAX_SHOTS
    from adcut.core.validation import read_text_file

    path = Path(path)
    text = read_text_file(path, "script file")
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = " ".join(raw.split())
        if not line:
            continue
        if len(line) > MAX_LINE_CHARS:
            raise BadInputError(f"script file {path} line {number}: {len(line)} characters is "
                                f"too long for one shot (at most {MAX_LINE_CHARS})",
                                hint="split it over several lines")
        lines.append(line)
    if not lines:
        raise BadInputError(f"script file {path} has no lines",
                            hint="write one voice-over line per shot")
    if len(lines) > MAX_SHOTS:
        raise BadInputError(f"script file {path} has {len(lines)} lines; an ad has at most "
                            f"{MAX_SHOTS} shots", hint="one line per shot")
    return lines
