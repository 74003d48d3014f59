"""What an ad line may claim: only what the brief states, or what needs no proof.

`unsupported_claims(line, brief)` lists what a line asserts that its brief does not: social
proof ("customers love it", 好评不断), superlatives and rankings ("best", "#1", 最, 第一),
health, safety and guarantee claims, evaluative filler ("you will love it", 闭眼入) and numbers
the brief never gives. A phrase is supported when the brief's own text contains it (a brief
that says "award-winning" may say so). It works on any writer's lines (templates, an LLM):
the template writer uses it as its final gate, the tests scan generated scripts with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# English phrases (whole words, any case). Grouped by what they claim, for the message.
_EN = {
    "social proof": r"customers?|clients?|reviews?|reviewers?|rated|ratings?|stars?|thousands|"
                    r"millions|hundreds|everyone|everybody|people (?:love|agree|say|choose|trust)|"
                    r"loved|love it|favou?rites?|trusted|popular|best-?sell(?:er|ers|ing)|"
                    r"sold out|viral|awards?|award-winning|recommended|testimonials?|fans|agree|"
                    r"join (?:the )?(?:thousands|millions)|bestseller|cult",
    "superlative": r"best|#\s?1|number one|no\.\s?1|fastest|greatest|finest|ultimate|unbeatable|"
                   r"unmatched|unrivall?ed|world'?s|leading|top-rated|perfect|most|cheapest|"
                   r"lowest|highest|better than|revolutionary|changes everything|"
                   r"like no other|second to none|one of a kind|only one",
    "health or guarantee": r"guarantee[ds]?|proven|clinically|doctors?|cures?|heals?|healthy|"
                           r"healthier|healthiest|risk-free|miracle|detox|immunity|"
                           r"100\s?%|safe|safest|certified",
    "evaluative filler": r"every time|every single day|without compromise|you(?:'ll| will) love|"
                         r"feel the difference|made to last|quality you can see|designed with care|"
                         r"you need to see|must-have|game.?changer|life.?changing|amazing|"
                         r"incredible|unbelievable|trust(?:ed)? quality",
}
# Chinese substrings.
_ZH = {
    "social proof": "好评|口碑|回购|人选择|都说|都在用|销量|爆款|网红|热销|万人|千万|百万|无数|"
                    "大家都|这么多人|明星同款|断货|抢疯|排队",
    "superlative": "最|第一|顶级|冠军|唯一|绝对|天花板|无敌|史上|全网|独家|王者|极致|完美",
    "health or guarantee": "保证|治疗|治愈|根治|无副作用|百分百|100%|药|疗效|安全无害|认证|"
                           "医生|专家推荐|包退|零风险",
    "evaluative filler": "省心|安心|惊喜|一定会喜欢|闭眼入|不亏|值得信赖|品质看得见|细节满满|"
                         "颜值和实力|真的很值得|超值|划算|用过就知道|必备|必须买|神器|好用",
}
_EN_RE = {kind: re.compile(rf"(?<![\w#])(?:{rx})(?!\w)", re.IGNORECASE) for kind, rx in _EN.items()}
_ZH_RE = {kind: re.compile(rx) for kind, rx in _ZH.items()}
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER_WORDS_RE = re.compile(
    r"(?<!\w)(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|dozens?|"
    r"half|double|twice|triple)(?!\w)", re.IGNORECASE)
_ZH_NUMERALS_RE = re.compile(r"[一二两三四五六七八九十百千万亿]+(?:[倍成%]|小时|分钟|天|年|个月|种|款|次)")


def brief_text(brief: object) -> str:
    """Everything a brief states, as one text: product, brand, selling points, description,
    price, offer, call to action, URL (works on a Brief, a ScriptFacts or anything with those
    attributes, or a plain string)."""
    if isinstance(brief, str):
        return brief
    parts: list[str] = []
    for name in ("product", "name", "brand", "description", "price", "offer", "call_to_action",
                 "cta", "url"):
        value = getattr(brief, name, None)
        if isinstance(value, str):
            parts.append(value)
    for name in ("selling_points", "points"):
        value = getattr(brief, name, None)
        if value:
            parts.extend(str(v) for v in value)
    return "\n".join(parts)


def _digits(text: str) -> set[str]:
    return {m.group(0).replace(",", "") for m in _NUMBER_RE.finditer(text)}


def unsupported_claims(line: str, brief: object, *, shown: Iterable[str] = ()) -> list[str]:
    """What `line` claims that `brief` (and the on-screen descriptions `shown`, e.g. the
    captions of the clips the line is spoken over) does not state: one short reason per
    claim, [] when the line says only what the brief says. Numbers count as claims too: every
    number in the line must be in the brief."""
    support = (brief_text(brief) + "\n" + "\n".join(shown)).lower()
    reasons: list[str] = []
    for kind, rx in _EN_RE.items():
        for m in rx.finditer(line):
            if m.group(0).lower() not in support:
                reasons.append(f"{kind} {m.group(0)!r}")
    for kind, rx in _ZH_RE.items():
        for m in rx.finditer(line):
            if m.group(0) not in support:
                reasons.append(f"{kind} {m.group(0)!r}")
    known = _digits(support)
    for number in sorted(_digits(line) - known):
        reasons.append(f"number {number!r} not in the brief")
    for m in _NUMBER_WORDS_RE.finditer(line):
        if m.group(0).lower() not in support:
            reasons.append(f"number {m.group(0)!r} not in the brief")
    for m in _ZH_NUMERALS_RE.finditer(line):
        if m.group(0) not in support:
            reasons.append(f"number {m.group(0)!r} not in the brief")
    return list(dict.fromkeys(reasons))


def keep_supported(lines: list[str], brief: object,
                   fallback: Callable[[], list[str]]) -> tuple[list[str], list[str]]:
    """`lines` with every line that claims what the brief does not say replaced by the line
    `fallback()` writes for the same shot (the template writer's, which passes this gate by
    construction), or by silence when it has none; and one note per replaced line. For
    lines written by a language model, which no template constrains."""
    bad = {i: unsupported_claims(line, brief) for i, line in enumerate(lines) if line.strip()}
    bad = {i: reasons for i, reasons in bad.items() if reasons}
    if not bad:
        return lines, []
    spare = fallback()
    out = list(lines)
    notes = []
    for i, reasons in bad.items():
        replacement = spare[i] if i < len(spare) and not unsupported_claims(spare[i], brief) else ""
        out[i] = replacement
        notes.append(f"line {i + 1} {lines[i]!r} claimed {', '.join(reasons)}, which the brief "
                     f"does not say: {'replaced by ' + repr(replacement) if replacement else 'left silent'}")
    return out, notes

