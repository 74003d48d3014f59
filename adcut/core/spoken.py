"""What the voice says for a line that is shown on screen: the brief's pronunciation lexicon,
then English text normalisation (URLs, prices, percentages, numbers, units and symbols read
out as words), with a map from every shown word to the spoken words that say it.

Why here and not in the TTS engine: an engine's own normaliser reads "verde.coffee" as
"verdcoffee", "18h" as "eighteen H", "2x" as "two ex", "12.50 dollars" as "twelve point five
dollars" and a full URL letter by letter (hibari 0.2.1, measured); and the captions show the
line as written while the voice must say it properly. Everything here is pure: text in, text
and spans out, so the caption timing can put each shown word where its spoken words are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                  "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
               "£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "", ""),
               "₹": ("rupee", "rupees", "paisa", "paise")}
_UNITS = {  # unit written after a number -> (singular, plural)
    "h": ("hour", "hours"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"),
    "min": ("minute", "minutes"), "mins": ("minute", "minutes"), "sec": ("second", "seconds"),
    "ms": ("millisecond", "milliseconds"), "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"), "kg": ("kilogram", "kilograms"), "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"), "ml": ("milliliter", "milliliters"),
    "l": ("liter", "liters"), "cl": ("centiliter", "centiliters"), "mm": ("millimeter", "millimeters"),
    "cm": ("centimeter", "centimeters"), "m": ("meter", "meters"), "km": ("kilometer", "kilometers"),
    "mi": ("mile", "miles"), "ft": ("foot", "feet"), "kcal": ("calorie", "calories"),
    "cal": ("calorie", "calories"), "mah": ("milliamp hour", "milliamp hours"),
    "w": ("watt", "watts"), "kw": ("kilowatt", "kilowatts"), "v": ("volt", "volts"),
    "gb": ("gigabyte", "gigabytes"), "tb": ("terabyte", "terabytes"), "mb": ("megabyte", "megabytes"),
    "mph": ("mile per hour", "miles per hour"), "kmh": ("kilometer per hour", "kilometers per hour"),
    "x": ("times", "times"), "×": ("times", "times"), "am": ("a m", "a m"), "pm": ("p m", "p m"),
    "k": ("thousand", "thousand"),
}
_SYMBOLS = {"&": "and", "+": "plus", "@": "at", "%": "percent", "=": "equals", "#": "number",
            "/": "slash", "×": "times"}
_TLDS = ("com|net|org|io|co|coffee|shop|store|app|ai|dev|info|biz|me|tv|us|uk|de|fr|cn|jp|ca|au|"
         "eu|nl|es|it|ch|se|no|fi|dk|be|at|nz|in|sg|hk|tw|kr|br|mx|ly|gg|xyz|online|site|tech|"
         "club|life|world|cafe|bike|fit|bio|eco|green|health|beauty|fashion|art|design|studio|"
         "news|blog|email|link|live|page|pro|space|today|top|travel|work")
_URL_RE = re.compile(rf"^(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)*\.(?:{_TLDS})(?:/\S*)?$|"
                     r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_EMAIL_RE = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MONEY_RE = re.compile(rf"^([$€£¥₹])({_NUM})([kKmM]?)$|^({_NUM})([$€£¥₹])$")
_PERCENT_RE = re.compile(rf"^({_NUM})%$")
_UNIT_RE = re.compile(rf"^({_NUM})([A-Za-zµ×]+)$")
_ORDINAL_RE = re.compile(r"^(\d+)(st|nd|rd|th)$", re.IGNORECASE)
_SLASHED_RE = re.compile(r"^(\d+)/(\d+)$")
_RANGE_RE = re.compile(rf"^({_NUM})[-–]({_NUM})$")
_HASH_NUM_RE = re.compile(r"^#(\d+)$")
_LEAD = "\"'“‘([{«"
_TRAIL = "\"'”’)]}».,!?;:…"


def number_words(n: int) -> str:
    """A whole number in English words: 18 -> 'eighteen', 1299 -> 'one thousand two hundred
    ninety-nine'."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return _TENS[t] + ("-" + _ONES[o] if o else "")
    if n < 1000:
        h, r = divmod(n, 100)
        return _ONES[h] + " hundred" + (" " + number_words(r) if r else "")
    for scale, name in _SCALES:
        if n >= scale:
            q, r = divmod(n, scale)
            return number_words(q) + " " + name + (" " + number_words(r) if r else "")
    return str(n)  # unreachable


def ordinal_words(n: int) -> str:
    words = number_words(n)
    head, _, last = words.rpartition(" ")
    stem_head, dash, tail = last.rpartition("-")
    if tail in _ORDINAL_WORDS:
        tail = _ORDINAL_WORDS[tail]
    elif tail.endswith("y"):
        tail = tail[:-1] + "ieth"
    else:
        tail += "th"
    last = stem_head + dash + tail
    return (head + " " + last) if head else last


def year_words(n: int) -> str:
    """2024 -> 'twenty twenty-four', 1999 -> 'nineteen ninety-nine', 2005 -> 'two thousand five'."""
    hi, lo = divmod(n, 100)
    if lo == 0:
        return number_words(hi) + " hundred" if hi % 10 else number_words(n)
    if hi == 20 and lo < 10:
        return number_words(n)
    return number_words(hi) + " " + ("oh " + number_words(lo) if lo < 10 else number_words(lo))


def decimal_words(text: str) -> str:
    """'3.5' -> 'three point five', '1,000' -> 'one thousand'."""
    whole, _, frac = text.replace(",", "").partition(".")
    out = number_words(int(whole))
    if frac:
        out += " point " + " ".join(_ONES[int(d)] for d in frac)
    return out


def money_words(symbol: str, amount: str, scale: str = "") -> str:
    """'$', '4.99' -> 'four dollars ninety-nine'; '$', '5' -> 'five dollars'; '$', '0.99' ->
    'ninety-nine cents'; '$', '2', 'M' -> 'two million dollars'. How a voice-over reads a price."""
    one, many, sub_one, sub_many = _CURRENCIES[symbol]
    whole_txt, _, frac = amount.replace(",", "").partition(".")
    whole = int(whole_txt)
    if scale:
        big = {"k": "thousand", "m": "million"}[scale.lower()]
        return f"{decimal_words(amount)} {big} {many}"
    cents = int((frac + "00")[:2]) if frac and len(frac) <= 2 else None
    if frac and cents is None:  # more than two decimals: read it as a decimal number
        return f"{decimal_words(amount)} {many}"
    unit = one if whole == 1 else many
    if not cents:
        return f"{number_words(whole)} {unit}"
    if whole == 0:
        return f"{number_words(cents)} " + (sub_one if cents == 1 else sub_many or many)
    return f"{number_words(whole)} {unit} {number_words(cents)}"


def _number_or_year(text: str) -> str:
    if re.fullmatch(r"(1[89]|20)\d\d", text):
        return year_words(int(text))
    return decimal_words(text)


def _plural(count_text: str) -> bool:
    return count_text.replace(",", "") not in ("1", "1.0")


def _url_words(text: str) -> str:
    """'https://www.verde.coffee/shop' -> 'w w w dot verde dot coffee slash shop'."""
    body = re.sub(r"^https?://", "", text, flags=re.IGNORECASE).rstrip("/")
    out: list[str] = []
    for piece in re.split(r"([./@_-])", body):
        if not piece:
            continue
        if piece in "./@_-":
            out.append({".": "dot", "/": "slash", "@": "at", "_": "underscore", "-": "dash"}[piece])
        elif piece.lower() == "www":
            out.append("w w w")
        elif piece.isdigit():
            out.append(number_words(int(piece)) if len(piece) < 5 else " ".join(_ONES[int(d)] for d in piece))
        else:
            out.append(piece.lower())
    return " ".join(out)


def normalize_token(core: str) -> str | None:
    """The spoken words for one written token without its surrounding punctuation, or None
    when it reads as written."""
    if _EMAIL_RE.match(core) or _URL_RE.match(core):
        return _url_words(core)
    m = _MONEY_RE.match(core)
    if m:
        if m.group(1):
            return money_words(m.group(1), m.group(2), m.group(3))
        return money_words(m.group(5), m.group(4))
    m = _PERCENT_RE.match(core)
    if m:
        return decimal_words(m.group(1)) + " percent"
    m = _ORDINAL_RE.match(core)
    if m:
        return ordinal_words(int(m.group(1)))
    m = _HASH_NUM_RE.match(core)
    if m:
        return "number " + number_words(int(m.group(1)))
    if core == "24/7":
        return "twenty-four seven"
    m = _SLASHED_RE.match(core)
    if m:  # 1/2, 3/4: a fraction; other pairs read as "A slash B"
        a, b = int(m.group(1)), int(m.group(2))
        if (a, b) == (1, 2):
            return "one half"
        if 1 <= a < b <= 10:
            return number_words(a) + " " + ordinal_words(b) + ("s" if a > 1 else "")
        return number_words(a) + " slash " + number_words(b)
    m = _RANGE_RE.match(core)
    if m:
        return _number_or_year(m.group(1)) + " to " + _number_or_year(m.group(2))
    m = _UNIT_RE.match(core)
    if m and m.group(2).lower() in _UNITS:
        one, many = _UNITS[m.group(2).lower()]
        return decimal_words(m.group(1)) + " " + (many if _plural(m.group(1)) else one)
    if re.fullmatch(_NUM, core):
        return _number_or_year(core)
    if core in _SYMBOLS:
        return _SYMBOLS[core]
    if re.fullmatch(r"[A-Za-z]+&[A-Za-z]+", core):  # R&D, M&M
        return core.replace("&", " and ")
    return None


@dataclass(frozen=True)
class SpokenLine:
    """The text to synthesise and, for each shown word (whitespace token of the line), the
    half-open range of spoken words (whitespace tokens of `text`) that say it."""

    text: str
    spans: tuple[tuple[int, int], ...]

    def shown_word_times(self, shown: list[str], spoken_words: list[tuple[str, float, float]]
                         ) -> list[tuple[str, float, float]]:
        """Times of the shown words from the spoken words' times (one per spoken token);
        [] when the spoken words do not match this line's spoken text."""
        if len(spoken_words) != len(self.text.split()) or len(shown) != len(self.spans):
            return []
        out = []
        for word, (a, b) in zip(shown, self.spans):
            out.append((word, spoken_words[a][1], spoken_words[b - 1][2]))
        return out


def _split_punct(token: str) -> tuple[str, str, str]:
    i, j = 0, len(token)
    while i < j and token[i] in _LEAD:
        i += 1
    while j > i and token[j - 1] in _TRAIL:
        j -= 1
    # a sentence-final period belongs to the sentence, not to a URL or a number
    return token[:i], token[i:j], token[j:]


def _lexicon_index(lexicon: dict[str, str]) -> list[tuple[list[str], str]]:
    """Lexicon entries as (shown tokens, spoken), longest first (multi-word names first)."""
    entries = [(k.split(), v) for k, v in lexicon.items() if k.split() and v.strip()]
    return sorted(entries, key=lambda e: -len(e[0]))


def _match_entry(tokens: list[str], i: int, entry: list[str]) -> tuple[str, str] | None:
    """(lead, trail) punctuation when the entry's words stand at tokens[i:] (exact case first,
    then any case), else None."""
    n = len(entry)
    if i + n > len(tokens):
        return None
    parts = [_split_punct(t) for t in tokens[i:i + n]]
    cores = [p[1] for p in parts]
    # inner tokens may not carry punctuation, except the words' own
    if any(parts[k][0] for k in range(1, n)) or any(parts[k][2] for k in range(n - 1)):
        return None
    possessive = ""
    last = cores[-1]
    if last.lower().endswith(("'s", "’s")) and last[:-2].lower() == entry[-1].lower():
        cores[-1], possessive = last[:-2], "'s"
    if cores == entry or [c.lower() for c in cores] == [e.lower() for e in entry]:
        return parts[0][0], possessive + parts[-1][2]
    return None


def spoken_line(line: str, lexicon: dict[str, str] | None = None, language: str = "en") -> SpokenLine:
    """What the voice says for `line` (PURE): the lexicon's spoken forms ({shown: spoken}, whole
    words, exact case preferred), then, for English, URLs, e-mail addresses, prices, percentages,
    ordinals, numbers with units, plain numbers and symbols in words. Each shown word keeps its
    surrounding punctuation on its spoken words, so the voice pauses where the line does."""
    tokens = line.split()
    entries = _lexicon_index(lexicon or {})
    english = language.lower().split("-")[0].split("_")[0] == "en"
    single = {k[0].lower(): v.strip() for k, v in entries if len(k) == 1}
    spoken: list[str] = []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        said: str | None = None
        width = 1
        lead = trail = ""
        for entry, value in entries:
            hit = _match_entry(tokens, i, entry)
            if hit is not None:
                lead, trail = hit
                said, width = value.strip(), len(entry)
                break
        if said is None:
            lead, core, trail = _split_punct(tokens[i])
            if english and core:
                said = normalize_token(core)
                if said is not None and single:  # "verde.coffee" -> "Vair-day dot coffee"
                    said = " ".join(single.get(w.lower(), w) for w in said.split())
            if said is None:
                said, lead, trail = tokens[i], "", ""
        words = (lead + said + trail).split()
        start = len(spoken)
        spoken.extend(words)
        end = len(spoken)
        for _ in range(width):  # a multi-word entry: every shown word is said by all of it
            spans.append((start, end))
        i += width
    return SpokenLine(text=" ".join(spoken), spans=tuple(spans))


def align_spoken(line: str, spoken: str, lexicon: dict[str, str] | None = None,
                 language: str = "en") -> SpokenLine:
    """The spans of a given spoken form of `line`: exact when it is what spoken_line makes of
    it (with or without the lexicon), else a monotone share of the spoken words over the
    shown words by letters (a hand-written spoken form)."""
    for lex in (lexicon or {}, {}):
        auto = spoken_line(line, lex, language)
        if auto.text == " ".join(spoken.split()):
            return auto
    shown = line.split()
    said = spoken.split()
    if not shown or not said:
        return SpokenLine(text=" ".join(said), spans=tuple((0, 0) for _ in shown))
    if len(shown) == len(said):
        return SpokenLine(text=" ".join(said), spans=tuple((k, k + 1) for k in range(len(said))))
    weights = [max(1, sum(c.isalnum() for c in w)) for w in shown]
    total = sum(weights)
    spans = []
    acc = 0
    for w in weights:
        a = round(acc / total * len(said))
        acc += w
        b = max(a + 1, round(acc / total * len(said)))
        spans.append((min(a, len(said) - 1), min(b, len(said))))
    return SpokenLine(text=" ".join(said), spans=tuple(spans))


def lexicon_of(brief_json: str | None) -> dict[str, str]:
    """The pronunciation lexicon of the brief a plan records (EditPlan.brief); {} when there
    is none or it does not read."""
    import json

    try:
        data = json.loads(brief_json) if brief_json else {}
    except ValueError:
        return {}
    lex = data.get("pronounce") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in lex.items()} if isinstance(lex, dict) else {}


def voice_line(line: str, spoken: str | None, language: str,
               lexicon: dict[str, str] | None = None) -> SpokenLine:
    """What to synthesise for a shot, with its word spans: the shot's own spoken form when it
    has one, else the line read through the lexicon and the normaliser."""
    if spoken and spoken.strip():
        return align_spoken(line, spoken, lexicon, language)
    return spoken_line(line, lexicon, language)
