"""Zero-shot script writing: one voice-over line per clip, from deterministic templates and the
product's own words (no language model).

The script follows the usual shape of a short ad: a hook, the selling points (each matched to
the clip it is spoken over, each said once), the price or offer, and the call to action. A line
says only what the brief says or what needs no proof: every template slot is filled from the
brief's fields, and `adcut.planner.claims.unsupported_claims` is the final gate. Shots left
over once everything is said are silent (or, where every shot must speak, invite a look):
a longer ad is never padded with filler. Each line is fitted to the time it has: about 4.5
Chinese characters or 3.0 English words per second of speech (the bundled hibari voice speaks
3.06 words per second over nine ad lines, measured). Lines are written in the product's
language: Chinese product information gives Chinese lines, anything else English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adcut.tasks.types import Product

CHARS_PER_S_ZH = 4.5
WORDS_PER_S_EN = 3.0
# A clip of unknown length is taken to be this long: a typical cut in a short ad (the released
# Chinese ads average ~10 characters per voice-over line, i.e. ~2.3 s at 4.5 chars/s).
DEFAULT_CLIP_S = 2.3

ROLE_HOOK, ROLE_BENEFIT, ROLE_DEAL, ROLE_CTA = "hook", "benefit", "deal", "cta"
ROLE_SILENT, ROLE_LOOK = "silent", "look"  # a shot without voice; an invitation to look

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ZH_PUNCT_END = "。！？!?，,、；;：:"
_NONE_VALUES = ("", "无", "none", "None", "-")

# Every template says only what its slots are filled with (the brief's product, brand,
# selling points, price, offer, call to action and URL; the caption's object) or what needs no
# proof (an invitation, a question). No template claims anything on its own: no social proof,
# superlative, promise or filler (see adcut.planner.claims, the writer's final gate).
# {tname}: the name as a noun phrase ("the Spark running shoe", but "Verde Cold Brew")
_HOOKS_EN = ("Meet {tname}.", "This is {tname}.", "Say hello to {tname}.", "Introducing {tname}.",
             "Take a look at {tname}.", "Have you met {tname}?")
_HOOKS_ZH = ("{name}来了！", "一起来看看{name}！", "今天给你介绍{name}。", "家人们，这款{name}一定要看！",
             "还在找{name}吗？")
_BENEFIT_EN = ("{P}.", "{Name}: {p}.")
_BENEFIT_ZH = ("{p}。", "这款{name}{p}。", "{name}，{p}。")
_PRICE_EN = ("{Price}.", "Yours for {price}.", "{Name}, {price}.", "All for {price}.")
_PRICE_ZH = ("到手价{price}。", "{name}，{price}。", "现在{price}就能带回家。", "{price}。")
_OFFER_EN = ("{Offer}.", "Right now: {offer}.")
_OFFER_ZH = ("{offer}！", "现在{offer}！")
_CTA_EN = ("Shop now.", "Get yours today.", "Tap the link to get yours.", "Get your {name} today.")
_CTA_URL_EN = ("Order at {url}.", "Visit {url}.", "Find {tname} at {url}.", "Get yours at {url}.")
_CTA_ZH = ("快来下单吧！", "赶紧点击链接下单！", "点击下方链接，把{name}带回家！")
_CTA_URL_ZH = ("上{url}下单吧！", "快去{url}看看吧！")
_LOOK_EN = ("Take a look.", "Have a look.", "See for yourself.", "Here it is.", "Look closer.")
_LOOK_OBJ_EN = ("See the {obj}?", "Look at the {obj}.")
_LOOK_NAME_EN = ("Have a closer look at {tname}.", "Take another look at {tname}.")
_LOOK_ZH = ("一起来看看吧！", "看这里！", "来看看细节。", "你看！")
_LOOK_NAME_ZH = ("来看看这款{name}的细节。", "再来看看这款{name}。")
_LOOK_OBJ_ZH = ("看这{obj}。", "你看这{obj}！")
_TEMPLATES = (_HOOKS_EN + _HOOKS_ZH + _BENEFIT_EN + _BENEFIT_ZH + _PRICE_EN
              + _PRICE_ZH + _OFFER_EN + _OFFER_ZH + _CTA_EN + _CTA_URL_EN + _CTA_ZH + _CTA_URL_ZH
              + _LOOK_EN + _LOOK_OBJ_EN + _LOOK_ZH + _LOOK_OBJ_ZH + _LOOK_NAME_EN + _LOOK_NAME_ZH)

# Caption nouns that say who is on screen rather than what is shown.
_PEOPLE_ZH = frozenset("人 女士 男士 男子 男人 女人 女性 男性 女孩 男孩 女子 模特 手 双手 手指 人们 一群 年轻人 孩子 顾客 背景 画面 镜头 场景 室内 户外 图片 旁边".split())
_PEOPLE_EN = frozenset("person people man men woman women girl boy hand hands someone model background image picture scene closeup close-up view".split())
_EN_STOP = frozenset("a an the and or of to in on at for with by from is are its it this that his her their some two three".split())


@dataclass(frozen=True)
class ScriptFacts:
    """Everything a line may state: the brief's own words."""

    product: str
    brand: str = ""
    points: tuple[str, ...] = ()
    price: str | None = None
    offer: str | None = None
    cta: str | None = None
    url: str | None = None
    description: str = ""

    @classmethod
    def of(cls, product: Product, *, price: str | None = None, offer: str | None = None,
           cta: str | None = None, url: str | None = None, description: str | None = None
           ) -> ScriptFacts:
        def clean(v: str | None) -> str | None:
            v = " ".join((v or "").split())
            return None if v in _NONE_VALUES else v

        points = tuple(p for p in (clean(x) for x in product.selling_points) if p)
        return cls(product=" ".join((product.name or "").split()), brand=clean(product.brand) or "",
                   points=points, price=clean(price), offer=clean(offer), cta=clean(cta),
                   url=clean(url), description=description or "")

    @classmethod
    def from_brief(cls, brief) -> ScriptFacts:
        return cls.of(Product(brief.product, brief.brand, list(brief.selling_points)),
                      price=brief.price, offer=brief.offer, cta=brief.call_to_action,
                      url=brief.url, description=brief.description)


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
    return len(re.findall(r"[A-Za-z0-9$€£][A-Za-z0-9'’.,$€£%-]*", text))


def target_length(duration_s: float | None, language: str) -> int:
    """How long a line spoken over `duration_s` of voice should be (chars for zh, words for en)."""
    d = DEFAULT_CLIP_S if duration_s is None or duration_s <= 0 else float(duration_s)
    rate = CHARS_PER_S_ZH if language == "zh" else WORDS_PER_S_EN
    return max(2 if language == "zh" else 1, round(d * rate))


def plan_roles(n: int, n_points: int, has_deal: bool = False, silent: bool = False) -> list[str]:
    """The ad's shape for n lines: hook first, call to action last, the selling points between
    (spread out), the price or offer just before the call (folded into it when there is no
    room), and what is left over silent shots (`silent`) or invitations to look. Nothing is
    said twice and nothing is said that the brief does not give."""
    if n <= 0:
        return []
    if n == 1:
        return [ROLE_CTA]
    if n == 2:
        return [ROLE_HOOK, ROLE_CTA]
    middle = n - 2
    deal = 1 if has_deal and (middle >= 2 or n_points == 0) else 0
    b = middle - deal
    k = min(n_points, b)
    spare = ROLE_SILENT if silent else ROLE_LOOK
    body = [spare] * b
    for j in range(k):  # benefits spread over the middle, the first right after the hook
        body[j * b // k] = ROLE_BENEFIT
    return [ROLE_HOOK] + body + [ROLE_DEAL] * deal + [ROLE_CTA]


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
    points: tuple[str, ...] = ()
    obj: str | None = None

    @property
    def point(self) -> str | None:
        return self.points[0] if self.points else None


def _clean_product(name: str) -> str:
    # "旧车置换/新车（六八果肉）" reads badly aloud: keep the part before brackets and slashes
    base = re.split(r"[（(【\[]", name, maxsplit=1)[0]
    base = base.split("/")[-1].strip() or name.strip()
    return base


def _short_name(name: str) -> str:
    """A shorter way to say a Chinese product: its head noun (手机壳 for 华为nova13皮革手机壳).
    The full name when it is already short. (English names are always said whole: a head
    noun cut from a name reads as a fragment, "Meet CityHop share.")"""
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


def product_names(facts: ScriptFacts, language: str) -> list[str]:
    """The ways a line may name the product: its name, and the brand with it when the name
    does not already hold the brand ("Verde Cold Brew", never "Verde Verde Cold Brew")."""
    zh = language == "zh"
    name = _clean_product(facts.product)
    if not name:
        return []
    names = [name]
    brand = facts.brand
    if brand and brand.lower() not in name.lower() and name.lower() not in brand.lower():
        names.append(brand + name if zh else f"{brand} {name}")
    if zh:
        names.append(_short_name(name))
    return list(dict.fromkeys(names))


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


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str, keep: str) -> str:
    """`text` with its first letter lowered when its first word is an ordinary word
    ("Steeped for 18 hours" -> "steeped for 18 hours"), not a name or an acronym that the
    brief writes capitalised (`keep`)."""
    first = text.split(" ", 1)[0]
    if not first[:1].isupper() or first[1:2].isupper() or re.search(rf"\b{re.escape(first)}\b", keep):
        return text
    return text[:1].lower() + text[1:]


def _named(template: str, name: str) -> str:
    """A template with the product's name: {name} as written, {tname} as a noun phrase, with
    "the" before a name that ends in a common noun ("the Spark running shoe", "Verde Cold
    Brew")."""
    last = name.split()[-1] if name.split() else ""
    tname = f"the {name}" if last.isalpha() and last.islower() and last.isascii() else name
    return template.replace("{tname}", tname).replace("{name}", name)


def _strip_end(text: str) -> str:
    return text.rstrip(_ZH_PUNCT_END + ". ")


def _rotate(seq: tuple[str, ...] | list[str], k: int) -> list[str]:
    seq = tuple(seq)
    k = k % len(seq) if seq else 0
    return list(seq[k:] + seq[:k])


def _join_points(points: tuple[str, ...], zh: bool, keep: str) -> tuple[str, str]:
    """Several selling points as one clause list: (as it starts a sentence, inside one)."""
    sep = "，" if zh else ", "
    stripped = [_strip_end(p) for p in points]
    inner = sep.join(stripped[:1] + [p if zh else _lower_first(p, keep) for p in stripped[1:]])
    return (_upper_first(inner) if not zh else inner,
            inner if zh else _lower_first(inner, keep))


def _content_words(text: str, names: list[str]) -> set[str]:
    """What a line says beyond the product's name (to find near-duplicate lines): English
    words, Chinese character pairs."""
    low = text.lower()
    for n in sorted(names, key=len, reverse=True):
        low = low.replace(n.lower(), " ")
    words = {w for w in re.findall(r"[a-z0-9]+", low) if w not in _EN_STOP}
    cjk = "".join(_CJK_RE.findall(low))
    words |= {cjk[i:i + 2] for i in range(len(cjk) - 1)}
    return words


def near_duplicate(a: str, b: str, names: list[str] = ()) -> bool:
    """Whether two lines say the same thing: equal once punctuation and case are gone, or
    most of what either says beyond the product's name is in the other (Jaccard >= 0.6, or
    one holding all of the other's words)."""
    norm = lambda t: re.sub(r"[\W_]+", "", t.lower())  # noqa: E731
    if norm(a) == norm(b):
        return True
    wa, wb = _content_words(a, list(names)), _content_words(b, list(names))
    if not wa or not wb:
        return False
    inter = len(wa & wb)
    small = min(len(wa), len(wb))
    return inter / len(wa | wb) >= 0.6 or (small >= 2 and inter == small)


def template_vocabulary() -> frozenset[str]:
    """The words (English, lower case) and Chinese characters the templates add to a line."""
    text = re.sub(r"\{\w+\}", " ", " ".join(_TEMPLATES)).lower()
    return frozenset(re.findall(r"[a-z0-9']+", text)) | frozenset(_CJK_RE.findall(text))


def foreign_words(line: str, facts: object, *, shown: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The words of `line` that neither the brief, the shown objects nor the templates hold:
    what the template writer would have made up. [] for every line it writes, by construction."""
    from adcut.planner.claims import brief_text

    support = (brief_text(facts) + " " + " ".join(shown)).lower()
    known = set(re.findall(r"[a-z0-9']+", support)) | set(_CJK_RE.findall(support)) \
        | template_vocabulary()
    low = line.lower()
    found = re.findall(r"[a-z0-9']+", low) + _CJK_RE.findall(low)
    return list(dict.fromkeys(w for w in found if w not in known and w.strip("'") not in known))


def build_slots(product: Product, captions: list[str | None], durations_s: list[float | None],
                language: str, point_scores: list[list[float]] | None = None, *,
                has_deal: bool = False, silent: bool = False) -> list[ScriptSlot]:
    """The role, target length, selling points and shown object of each line.

    Each selling point is said once. With more points than benefit lines, neighbouring points
    share a line; with fewer, the rest of the shots are silent (`silent`) or invite a look.
    `point_scores[i][k]` (optional) says how well clip i shows point k: when every point has
    a line of its own, each benefit line takes the best unused point for its clip."""
    facts = ScriptFacts.of(product)
    points = list(facts.points)
    n = len(captions)
    if not silent:  # every shot speaks: points with several clauses may fill spare lines
        spare = n - 2 - (1 if has_deal else 0) - len(points)
        while spare > 0:
            k = next((i for i, p in enumerate(points)
                      if len(re.split(r"[，,；;]\s*", p.strip("，,；; "))) > 1), None)
            if k is None:
                break
            head, tail = re.split(r"[，,；;]\s*", points[k].strip("，,；; "), maxsplit=1)
            points[k:k + 1] = [head, tail]
            spare -= 1
    roles = plan_roles(n, len(points), has_deal, silent)
    benefit_at = [i for i, r in enumerate(roles) if r == ROLE_BENEFIT]
    groups: list[tuple[int, ...]] = []
    if benefit_at:
        b, k = len(benefit_at), len(points)
        base, extra = divmod(k, b)
        start = 0
        for j in range(b):
            take = base + (1 if j < extra else 0)
            groups.append(tuple(range(start, start + take)))
            start += take
        if point_scores is not None and k <= b:  # one point per line: match points to clips
            unused = list(range(k))
            groups = []
            for i in benefit_at:
                best = max(unused, key=lambda j: (point_scores[i][j], -j))
                unused.remove(best)
                groups.append((best,))
    slots: list[ScriptSlot] = []
    g = iter(groups)
    for i, role in enumerate(roles):
        pts: tuple[str, ...] = ()
        if role == ROLE_BENEFIT:
            pts = tuple(points[j] for j in next(g))
        elif role == ROLE_CTA and n == 1 and points:
            pts = (points[0],)
        obj = caption_object(captions[i], language) if role in (ROLE_BENEFIT, ROLE_LOOK) else None
        slots.append(ScriptSlot(role=role, target=target_length(durations_s[i], language),
                                points=pts, obj=obj))
    return slots


def _candidates(slot: ScriptSlot, facts: ScriptFacts, names: list[str], language: str,
                seed: int, i: int, merged_deal: bool, one_line: bool, limit: bool) -> list[str]:
    zh = language == "zh"
    keep = facts.product + " " + facts.brand
    nm = names
    out: list[str] = []
    if slot.role == ROLE_HOOK:
        if nm:
            # an ad opens on the product's fullest name, brand included ("Verde Cold Brew",
            # not "Cold Brew"; never a head noun alone, 咖啡)
            full = [max(nm, key=len)] if limit else nm
            out = [_named(t, n) for t in _rotate(_HOOKS_ZH if zh else _HOOKS_EN, seed) for n in full]
        else:
            out = _rotate(_LOOK_ZH if zh else _LOOK_EN, seed)
    elif slot.role == ROLE_BENEFIT:
        P, p = _join_points(slot.points, zh, keep)
        # (a point is never tied to what the clip shows: "Look at the track: steeped for 18
        # hours" paired a coffee's selling point with an unrelated caption)
        tpls = _rotate(_BENEFIT_ZH if zh else _BENEFIT_EN, seed + i)
        for t in tpls:
            if "{name}" in t.lower() and not nm:
                continue
            for n in (nm or [""]):
                if zh and "{name}" in t and n and _CJK_RE.fullmatch(n[-1]) and n[-1] in p:
                    continue  # the point names the thing itself: "这款单车几秒解锁一辆自行车"
                out.append(t.replace("{P}", _strip_end(P)).replace("{p}", _strip_end(p))
                           .replace("{Name}", _upper_first(n)).replace("{name}", n)
                           .replace("{obj}", slot.obj or ""))
    elif slot.role == ROLE_LOOK:
        tpls = list(_rotate(_LOOK_ZH if zh else _LOOK_EN, seed + i))
        if slot.obj:
            tpls = _rotate(_LOOK_OBJ_ZH if zh else _LOOK_OBJ_EN, seed + i) + tpls
        out = [t.replace("{obj}", slot.obj or "") for t in tpls]
        out += [_named(t, n) for t in _rotate(_LOOK_NAME_ZH if zh else _LOOK_NAME_EN, seed + i)
                for n in nm]
    elif slot.role == ROLE_DEAL:
        out = _deal_lines(facts, nm, zh, seed)
    elif slot.role == ROLE_CTA:
        ctas = _cta_lines(facts, nm, zh, seed)
        prefixes = [""]
        if merged_deal:
            prefixes = [d + ("" if zh else " ") for d in _deal_lines(facts, nm, zh, seed)]
        if one_line and nm:
            what = [nm[-1] if len(nm) > 1 and not zh else nm[0]]
            if slot.points:
                P, p = _join_points(slot.points, zh, keep)
                what = [f"{w}{'，' if zh else ': '}{_strip_end(p)}" for w in what] + what
            stem = [w + ("。" if zh else ".") for w in what]
            if merged_deal:
                stem = [f"{w}{'，' if zh else ', '}{_strip_end(d) if zh else facts.price or d}" for w in what
                        for d in _deal_lines(facts, nm, zh, seed)[:1]]
                stem = [s if s.endswith(("。", ".", "！", "!")) else s + ("。" if zh else ".") for s in stem]
            prefixes = [s + ("" if zh else " ") for s in stem]
        out = [pre + c for pre in prefixes for c in ctas]
    return [" ".join(c.split()) for c in out if c.strip()]


def _deal_lines(facts: ScriptFacts, nm: list[str], zh: bool, seed: int) -> list[str]:
    price, offer = facts.price, facts.offer
    prices: list[str] = []
    if price:
        for t in _rotate(_PRICE_ZH if zh else _PRICE_EN, seed):
            if "{name}" in t.lower() and not nm:
                continue
            for n in (nm[:1] or [""]):
                prices.append(t.replace("{Price}", _upper_first(price)).replace("{price}", price)
                              .replace("{Name}", _upper_first(n)).replace("{name}", n))
    inner = "" if not offer else _strip_end(offer) if zh else _lower_first(
        _strip_end(offer), facts.product + " " + facts.brand)
    offers = [t.replace("{Offer}", _upper_first(_strip_end(offer))).replace("{offer}", inner)
              for t in _rotate(_OFFER_ZH if zh else _OFFER_EN, seed)] if offer else []
    if prices and offers:
        sep = "" if zh else " "
        return [a + sep + b for a in prices for b in offers]
    return prices or offers


def _cta_lines(facts: ScriptFacts, nm: list[str], zh: bool, seed: int) -> list[str]:
    url = facts.url
    if facts.cta:
        cta = facts.cta
        if url and url.lower() not in cta.lower():
            body = _strip_end(cta)
            return [f"{body}，{url}" if zh else f"{body}: {url}."]
        return [cta]
    tpls = _rotate((_CTA_URL_ZH if zh else _CTA_URL_EN) if url else (_CTA_ZH if zh else _CTA_EN), seed)
    out = []
    for t in tpls:
        if "name}" in t.lower() and not nm:
            continue
        for n in (nm or [""]):
            out.append(_named(t.replace("{url}", url or ""), n))
    return out


def _fits(c: str, target: int, language: str, limit: bool = False) -> float:
    """How far a line is from its target length; running over counts double (the render
    can add a pause after a short line, but never take back voice from a long one). With
    `limit` (an ad, whose spare time becomes pauses) the target is a ceiling: every line
    within it fits, and the seed's rotation of the templates chooses among them (variants
    differ); in a benchmark's script the target is the length to match."""
    d = line_length(c, language) - target
    return 2 * d if d > 0 else (0 if limit else -d)


def write_lines(product: Product, slots: list[ScriptSlot], language: str,
                call_to_action: str | None = None, seed: int = 0, *,
                facts: ScriptFacts | None = None, captions: list[str | None] | None = None,
                limit: bool = False) -> list[str]:
    """The text of each slot ("" for a silent shot): among the slot's candidates (templates
    filled with the brief's words, rotated by the seed so variants differ), the one closest to
    the slot's target length that repeats no earlier line and passes the gate: no claim the
    brief does not make (adcut.planner.claims) and no word the brief, the shown objects and the
    templates do not hold. The user's call to action is said as written."""
    from adcut.planner.claims import unsupported_claims

    zh = language == "zh"
    if facts is None:
        facts = ScriptFacts.of(product, cta=call_to_action)
    elif call_to_action and not facts.cta:
        facts = ScriptFacts(**{**facts.__dict__, "cta": " ".join(call_to_action.split())})
    names = product_names(facts, language)
    has_deal = bool(facts.price or facts.offer)
    merged_deal = has_deal and not any(s.role == ROLE_DEAL for s in slots)
    one_line = len(slots) == 1
    shown = tuple(s.obj for s in slots if s.obj)
    lines: list[str] = []
    for i, slot in enumerate(slots):
        if slot.role == ROLE_SILENT:
            lines.append("")
            continue
        cands = _candidates(slot, facts, names, language, seed, i, merged_deal, one_line, limit)
        if slot.role == ROLE_BENEFIT:  # a selling point far longer than its time: cut at a clause
            end = "。" if zh else "."
            cands = [(_first_clause(c, language, round(slot.target * 1.2)) or c)
                     if line_length(c, language) > slot.target * 1.5 + 1 else c for c in cands]
            cands = [c if c.endswith(tuple(_ZH_PUNCT_END + ".?!")) else _strip_end(c) + end for c in cands]
        ok = [c for c in cands if not unsupported_claims(c, facts, shown=shown)
              and not foreign_words(c, facts, shown=shown)]
        fresh = [c for c in ok if not any(near_duplicate(c, u, names) for u in lines if u)]
        pool = fresh or (ok if slot.role in (ROLE_CTA, ROLE_DEAL, ROLE_HOOK) else [])
        if not pool:  # nothing new to say here
            lines.append("" if slot.role == ROLE_LOOK and _silence_ok(slots) else
                         _fallback_look(lines, language, seed + i))
            continue
        # the closest fit; in an ad, a line shaped like an earlier one ("Verde: a." after
        # "Verde: b.") counts as three units further off, and naming the product again after
        # two lines that did as two more, so a script reads neither as a list nor as a chant
        named = sum(any(n in u for n in names) for u in lines if u)
        lines.append(min(pool, key=lambda c: _fits(c, slot.target, language, limit) + limit * (
            3 * any(_shape(c, names) == _shape(u, names) for u in lines if u)
            + 2 * (named >= 2 and any(n in c for n in names)))))
    return lines


def _shape(line: str, names: list[str]) -> str:
    """A line with the product's names and everything between its punctuation blanked: what
    is left is the template's frame ("N: x." for "Verde Cold Brew: no added sugar.")."""
    for n in sorted(names, key=len, reverse=True):
        line = line.replace(n, "N")
    return re.sub(r"[^\s\W]+(?:\s+[^\s\W]+)*", "x", line.replace("N", "\x00")).replace("\x00", "N")


def _silence_ok(slots: list[ScriptSlot]) -> bool:
    return any(s.role == ROLE_SILENT for s in slots)


def _fallback_look(lines: list[str], language: str, k: int) -> str:
    """An invitation to look that no earlier line says (every shot must speak: a benchmark's
    script task); the first one when all were said."""
    tpls = _rotate(_LOOK_ZH if language == "zh" else _LOOK_EN, k)
    return next((t for t in tpls if t not in lines), tpls[0])


def write_script(facts: ScriptFacts, captions: list[str | None], durations_s: list[float | None],
                 language: str, *, seed: int = 0, silent: bool = False,
                 point_scores: list[list[float]] | None = None) -> tuple[list[ScriptSlot], list[str]]:
    """Slots and lines for an ad (see build_slots and write_lines)."""
    product = Product(facts.product, facts.brand, list(facts.points))
    slots = build_slots(product, captions, durations_s, language, point_scores,
                        has_deal=bool(facts.price or facts.offer), silent=silent)
    return slots, write_lines(product, slots, language, seed=seed, facts=facts, captions=captions,
                              limit=silent)


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
