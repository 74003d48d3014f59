"""VSC and SQ judges through any OpenAI-compatible endpoint, with the paper's rubrics, and an
embedding-based VSC proxy for when there is no endpoint.

- VSC (visual-script consistency, sort task): GT script line i is paired with the
  representative frame of the i-th *predicted* clip of a well-formed prediction
  (`^\\d+(,\\d+)*$`, N ids); a vision model scores each pair 0 / 1 / 2 (temperature 0, at most
  10 tokens, the first digit 0-2 counts); failed calls are dropped; VSC_ad = mean over pairs.
  Frames come from a folder of `{frame_id}.jpg` (image-track prompts name the frame ids).
- SQ (script quality, script task): the judge sees the product information, the reference
  script, the model script (line prefixes stripped) and the per-ad WCD (`avg_diff`), and
  returns JSON with three parts (30/40/30) and the total (temperature 0, 700 tokens).

Outputs are written in the upstream judge-file formats, so `adcut eval` scores them exactly
like the released ones. Every answer is cached on disk under a hash of the model name and
the full request, so a re-run sends nothing (and needs no server).

Without an endpoint, `vsc_proxy` scores the same pairs by cosine similarity of line and clip
in one embedding space (a text encoder on captions, or CLIP on frames). It is reported under
its own name and is never VSC.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adcut.core.errors import BadInputError, DependencyError
from adcut.core.files import cache_dir, write_atomic
from adcut.eval import metrics as M
from adcut.eval.files import Item, ResultFile

RUBRIC_LANGUAGES = ("zh", "en")

# --------------------------------------------------------------------------- rubrics

# The paper's VSC rubric (Chinese, as the released evaluation sent it) and adcut's English one.
VSC_PROMPT = {
    "zh": (
        "\n你是一名广告创意评估专家。现在请你评估一张图片与一行广告台词的语义匹配程度。\n"
        "图片代表广告视频中的一个画面，台词是该广告中的一句文案。\n\n"
        "请判断这张图片与这行台词的内容是否相符、是否传达了相同的语义或情境。\n\n"
        "评分标准（只输出数字）：\n"
        "0 = 完全不匹配（画面与台词无关或矛盾）\n"
        "1 = 部分相关（画面与台词有一定联系，但不完全对应）\n"
        "2 = 高度匹配（画面清晰体现台词内容，语义一致）\n\n"
        "台词如下：\n{line}\n"
    ),
    "en": (
        "\nYou are an expert in evaluating advertising creative. Rate how well one image matches "
        "one line of ad copy in meaning.\n"
        "The image is a frame of the ad video; the line is one sentence of the ad's voice-over.\n\n"
        "Judge whether the image and the line agree in content and convey the same meaning or situation.\n\n"
        "Scoring (output the digit only):\n"
        "0 = no match (the frame is unrelated to the line or contradicts it)\n"
        "1 = partly related (some connection, but not a full correspondence)\n"
        "2 = highly matched (the frame clearly shows what the line says)\n\n"
        "The line:\n{line}\n"
    ),
}
VSC_MAX_TOKENS = 10

SQ_SYSTEM = {"zh": "你是专业广告脚本质量评估助手。", "en": "You are a professional evaluator of ad script quality."}
SQ_MAX_TOKENS = 700

SQ_PROMPT = {
    "zh": (
        "\n你是一名专业的广告台词评估员。你将收到：\n1) 产品信息；\n2) 参考脚本（人工台词，逐行对应视频片段）；\n"
        "3) 待评估脚本（模型生成，逐行）；\n4) 已预计算的“逐行字数统计与差值表”和“平均字数差 avg_diff”。\n\n"
        "请你按“三个大类、总分100”的标准打分，并严格遵守下述定义与配分：\n"
        "----------------------------------------\n类别 1：基础质量 —— 共 30 分\n"
        "----------------------------------------\n"
        "- 准确性（Accuracy）[10 分]：脚本内容必须与提供的商品与品牌信息一致；不得出现错误品牌、虚假功能或事实错误；拼写语法正确。\n"
        "- 可理解性（Understandability）[10 分]：语言连贯、逻辑清晰；即使不看画面也能理解。\n"
        "- 内容安全（Content Safety）[10 分]：不包含冒犯或危险表述；不涉政治、宗教、性别、种族、暴力、毒品等敏感内容。\n\n"
        "----------------------------------------\n类别 2：表达与沟通 ——共 40 分\n"
        "----------------------------------------\n"
        "- 语言与语气自然（Language & Tone）[10 分]：口语化、亲切自然、不生硬，贴近受众真实说话方式。\n"
        "- 吸引力（Engagement）[10 分]：能吸引注意力，愿意听下去；可通过提问、悬念、幽默等方式增强兴趣。\n"
        "- 卖点呈现清晰（Selling Points Clarity）[20 分]：准确且有说服力地传达产品核心卖点或优势；表达自然、有感染力；若能融入创意/情感并形成记忆点，给高分。\n\n"
        "----------------------------------------\n类别 3：长度与节奏 ——共 30 分\n"
        "----------------------------------------\n"
        "- 字数匹配度（Length Matching）[20 分]\n"
        "  规则：每句台词长度应与参考台词接近。使用已提供的 avg_diff（基于逐行 |model_len - ref_len| 的平均值，已去行内空白并处理缺/多行）计分：\n"
        "  分数 = max(0, 20 - avg_diff)。\n"
        "- 断句与节奏（Rhythm & Pausing）[10 分]\n  规则：断句自然、语义完整；避免一句过长或过碎。\n\n"
        "----------------------------------------\n输出格式（必须为 JSON）：\n{\n"
        "  \"基础质量\": <0-30>,\n  \"表达与沟通\": <0-40>,\n  \"长度与节奏\": <0-30>,\n"
        "  \"总分\": <0-100>,\n  \"理由\": \"用 2–4 句简要说明主要优点与不足。\"\n}\n\n"
        "注意：\n- 总分 = 三个大类分数之和；\n"
        "- “字数匹配度（20分）”务必基于 avg_diff 使用：20 - avg_diff，低于 0 则取 0；\n"
        "- 其他分项依据上面的定义独立评估，不要把长度因素重复计入非长度类目。\n\n"
        "----------------------------------------\n参考信息（供评分使用）：\n产品信息：[[PRODUCT_INFO]]\n\n"
        "参考脚本（人工台词，逐行）：\n[[REF_SCRIPT]]\n\n"
        "待评估脚本（模型生成，逐行，已清理行首编号/项目符号）：\n[[MODEL_SCRIPT]]\n\n"
        "平均字数差 avg_diff：[[AVG_DIFF]]\n"
    ),
    "en": (
        "\nYou are a professional evaluator of ad copy. You receive:\n1) product information;\n"
        "2) a reference script (human lines, one per video clip);\n3) the script to evaluate (model output, one line per clip);\n"
        "4) the precomputed mean per-line length difference avg_diff.\n\n"
        "Score on three categories, 100 points in total, with exactly these definitions:\n"
        "----------------------------------------\nCategory 1: Basic quality — 30 points\n"
        "----------------------------------------\n"
        "- Accuracy [10]: consistent with the given product and brand; no wrong brand, invented features or factual errors; correct spelling and grammar.\n"
        "- Understandability [10]: coherent and logical; understandable without the pictures.\n"
        "- Content safety [10]: nothing offensive or dangerous; no political, religious, gender, racial, violent or drug-related content.\n\n"
        "----------------------------------------\nCategory 2: Expression & communication — 40 points\n"
        "----------------------------------------\n"
        "- Language & tone [10]: conversational, warm and natural, like the audience really talks.\n"
        "- Engagement [10]: catches attention and makes one keep listening (questions, suspense, humour).\n"
        "- Selling-point clarity [20]: conveys the product's core selling points accurately and persuasively; high marks for creative or emotional, memorable delivery.\n\n"
        "----------------------------------------\nCategory 3: Length & rhythm — 30 points\n"
        "----------------------------------------\n"
        "- Length matching [20]: each line should be about as long as the reference line. Use the given avg_diff "
        "(mean per-line |model_len - ref_len|, whitespace removed, missing or extra lines counted): score = max(0, 20 - avg_diff).\n"
        "- Rhythm & pausing [10]: natural phrasing, complete meaning; no line too long or too fragmented.\n\n"
        "----------------------------------------\nOutput format (must be JSON; keep these keys):\n{\n"
        "  \"基础质量\": <0-30>,\n  \"表达与沟通\": <0-40>,\n  \"长度与节奏\": <0-30>,\n"
        "  \"总分\": <0-100>,\n  \"理由\": \"2-4 sentences on the main strengths and weaknesses.\"\n}\n\n"
        "Notes:\n- 总分 (total) = the sum of the three categories;\n"
        "- length matching (20 points) must use avg_diff: 20 - avg_diff, at least 0;\n"
        "- score the other items on their own definitions; do not count length again elsewhere.\n\n"
        "----------------------------------------\nReference information:\nProduct: [[PRODUCT_INFO]]\n\n"
        "Reference script (human, one line per clip):\n[[REF_SCRIPT]]\n\n"
        "Script to evaluate (model output, line numbers and bullets removed):\n[[MODEL_SCRIPT]]\n\n"
        "avg_diff: [[AVG_DIFF]]\n"
    ),
}

_WELL_FORMED_RE = re.compile(r"^\d+(,\d+)*$")
_SCORE_RE = re.compile(r"[0-2]")


def _check_language(language: str) -> str:
    if language not in RUBRIC_LANGUAGES:
        raise BadInputError(f"unknown rubric language {language!r}", hint="use zh (the paper's) or en")
    return language


# --------------------------------------------------------------------------- pure builders


def build_vsc_messages(line: str, image_url: str, language: str = "zh") -> list[dict]:
    """One user turn: the rubric with the line, then the frame as an image part."""
    return [{"role": "user", "content": [
        {"type": "text", "text": VSC_PROMPT[_check_language(language)].replace("{line}", line)},
        {"type": "image_url", "image_url": {"url": image_url}},
    ]}]


def parse_vsc_score(answer: str | None) -> int | None:
    """The first digit 0-2 of the judge's answer; None when there is none (pair dropped)."""
    m = _SCORE_RE.search(answer or "")
    return int(m.group()) if m else None


def sq_stats(ref_lines: list[str], model_lines: list[str]) -> dict:
    """Per-line lengths (whitespace removed; model line prefixes stripped), their absolute
    differences with the shorter side padded by 0, and their mean avg_diff (= per-ad WCD)."""
    ref = [len(re.sub(r"\s+", "", x)) for x in ref_lines]
    hyp = [len(re.sub(r"\s+", "", M.strip_line_prefix(x).strip())) for x in model_lines]
    n = max(len(ref), len(hyp))
    ref += [0] * (n - len(ref))
    hyp += [0] * (n - len(hyp))
    diffs = [abs(a - b) for a, b in zip(hyp, ref)]
    return {"ref_lengths": ref, "model_lengths": hyp, "diffs": diffs,
            "avg_diff": float(sum(diffs)) / max(1, len(diffs))}


def build_sq_messages(product_info: str, ref_lines: list[str], model_lines: list[str], avg_diff: float,
                      language: str = "zh") -> list[dict]:
    prompt = (SQ_PROMPT[_check_language(language)]
              .replace("[[PRODUCT_INFO]]", product_info)
              .replace("[[REF_SCRIPT]]", "\n".join(ref_lines))
              .replace("[[MODEL_SCRIPT]]", "\n".join(model_lines))
              .replace("[[AVG_DIFF]]", f"{avg_diff:.4f}"))
    return [{"role": "system", "content": SQ_SYSTEM[language]}, {"role": "user", "content": prompt}]


def _product_of(prompt: str) -> tuple[str, str, list[str]]:
    """Product, brand and selling points of a released prompt (无 where absent)."""
    from adcut.tasks.prompts_zh import parse_selling_points

    def field_of(label: str) -> str:
        m = re.search(label + r"：([^\n]*)", prompt)
        return m.group(1).strip() if m and m.group(1).strip() else "无"

    points, _ = parse_selling_points(field_of("【卖点】"))
    return field_of("【商品】"), field_of("【品牌】"), [p for p in points if p and p != "无"]


# --------------------------------------------------------------------------- the client


def _cache_key(model: str, messages: list[dict], max_tokens: int) -> str:
    blob = json.dumps({"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0},
                      ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class JudgeClient:
    """Chat completions at temperature 0 on an OpenAI-compatible server (`url`: the base URL,
    e.g. http://localhost:8000/v1), every answer cached under `cache` by request hash. The
    key comes from $ADCUT_JUDGE_API_KEY, else $OPENAI_API_KEY, and is never stored."""

    def __init__(self, url: str, model: str, cache: Path | None = None, timeout_s: float = 120.0):
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise BadInputError(f"judge URL {url!r} is not an http(s) URL",
                                hint="give the server's base URL, e.g. --judge http://localhost:8000/v1")
        if not model or not model.strip():
            raise BadInputError("the judge needs a model name", hint="add --judge-model NAME (e.g. gpt-4o)")
        self.url = url.rstrip("/")
        self.model = model.strip()
        self.cache = Path(cache) if cache else cache_dir() / "judge"
        self.timeout_s = timeout_s
        self.n_requests = 0
        self.n_cached = 0

    def _path(self, key: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model)[:80]
        return self.cache / safe / key[:2] / f"{key}.json"

    def complete(self, messages: list[dict], max_tokens: int) -> str:
        key = _cache_key(self.model, messages, max_tokens)
        path = self._path(key)
        if path.is_file():
            try:
                answer = json.loads(path.read_text(encoding="utf-8"))["answer"]
                if isinstance(answer, str):
                    self.n_cached += 1
                    return answer
            except (ValueError, KeyError, TypeError, OSError):
                pass  # a damaged cache entry is asked again
        answer = self._post(messages, max_tokens)
        self.n_requests += 1
        write_atomic(path, json.dumps({"model": self.model, "answer": answer}, ensure_ascii=False).encode())
        return answer

    def _post(self, messages: list[dict], max_tokens: int) -> str:
        from adcut.planner.backends import parse_chat_response

        endpoint = f"{self.url}/chat/completions"
        body = json.dumps({"model": self.model, "messages": messages, "temperature": 0,
                           "max_tokens": max_tokens, "stream": False}).encode()
        key = os.environ.get("ADCUT_JUDGE_API_KEY") or os.environ.get("OPENAI_API_KEY", "")
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
        request = urllib.request.Request(endpoint, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            hint = ("set $ADCUT_JUDGE_API_KEY (or $OPENAI_API_KEY)" if exc.code in (401, 403)
                    else "check --judge (the base URL, usually ending in /v1) and --judge-model")
            raise DependencyError(f"judge {endpoint} answered HTTP {exc.code}", hint=hint) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DependencyError(f"judge {endpoint} is unreachable ({getattr(exc, 'reason', exc)})",
                                  hint="start the server or check --judge") from None
        except ValueError:
            raise DependencyError(f"judge {endpoint} did not answer JSON",
                                  hint="is this an OpenAI-compatible chat endpoint?") from None
        try:
            return parse_chat_response(payload)
        except ValueError as exc:
            raise DependencyError(f"judge {endpoint}: {exc}") from None


# --------------------------------------------------------------------------- judging files


@dataclass
class JudgeRun:
    """What a judge pass produced: the judge file content and what it skipped."""

    output: dict | list[dict]
    problems: list[str] = field(default_factory=list)
    n_skipped: int = 0


def sort_pairs(item: Item) -> tuple[list[str], list, list] | None:
    """(GT lines in order, the predicted clips in order, the gold-order clips) of a sort row
    with a well-formed prediction, else None. Clips are adcut.tasks ClipRefs."""
    from adcut.tasks.prompts_zh import PromptFormatError, parse_prompt_zh

    pred = (item.pred or "").strip()
    if not _WELL_FORMED_RE.match(pred):
        return None
    prompt = item.obj.get("prompt") if item.obj else None
    if not isinstance(prompt, str):
        return None
    try:
        _, task, _ = parse_prompt_zh(prompt)
    except PromptFormatError:
        return None
    by_number = {c.number: c for c in task.clips}
    order = [int(x) for x in pred.split(",")]
    gold = [int(x) for x in M.parse_ids(item.gold)]
    lines = list(getattr(task, "script_lines", []))
    if len(order) != len(gold) or len(lines) != len(gold) or any(n not in by_number for n in order + gold):
        return None
    return lines, [by_number[n] for n in order], [by_number[n] for n in gold]


def judge_vsc(rf: ResultFile, client: JudgeClient, frames: Path, language: str = "zh") -> JudgeRun:
    """Judge a sort file's predictions pair by pair; the upstream VSC file structure."""
    frames = Path(frames)
    if not frames.is_dir():
        raise BadInputError(f"frames folder {frames} does not exist", hint="give --frames DIR holding {frame_id}.jpg")
    run = JudgeRun(output={})
    ads: list[dict] = []
    for it in rf.items:
        got = sort_pairs(it)
        where = f"{rf.name} line {it.line_no}"
        if got is None:
            run.n_skipped += 1
            run.problems.append(f"{where}: prediction not well-formed (N comma-separated ids) or prompt unreadable; ad skipped")
            continue
        lines, clips, _ = got
        pairs = []
        for line, clip in zip(lines, clips):
            fid = clip.frame_ids[0] if clip.frame_ids else None
            img = frames / f"{fid}.jpg" if fid else None
            if img is None or not img.is_file():
                continue  # upstream drops a pair whose frame is missing
            url = "data:image/jpeg;base64," + base64.b64encode(img.read_bytes()).decode("ascii")
            score = parse_vsc_score(client.complete(build_vsc_messages(line, url, language), VSC_MAX_TOKENS))
            if score is not None:
                pairs.append({"frame_id": int(fid) if fid.isdigit() else fid, "text": line, "score": score})
        if not pairs:
            run.n_skipped += 1
            run.problems.append(f"{where}: no pair could be judged (frames missing?); ad skipped")
            continue
        product, brand, points = _product_of(it.obj["prompt"])
        ads.append({"meta": {"product": product, "brand": brand, "features": repr(points), "num_clips": len(lines)},
                    "vsc_ad": sum(p["score"] for p in pairs) / len(pairs), "pairs": pairs})
    run.output = {"model_VSC": sum(a["vsc_ad"] for a in ads) / len(ads) if ads else 0.0,
                  "ads_evaluated": len(ads), "ads_skipped": run.n_skipped, "ads": ads}
    return run


def judge_sq(rf: ResultFile, client: JudgeClient, language: str = "zh") -> JudgeRun:
    """Judge a script file's predictions; upstream SQ JSONL rows (with parsed_scores)."""
    run = JudgeRun(output=[])
    rows: list[dict] = []
    for it in rf.items:
        ref_lines = [ln.strip() for ln in (it.gold or "").strip().splitlines() if ln.strip()]
        raw_lines = [ln.strip() for ln in (it.pred or "").strip().splitlines() if ln.strip()]
        if not ref_lines and not raw_lines:
            run.n_skipped += 1
            run.problems.append(f"{rf.name} line {it.line_no}: both scripts empty; skipped")
            continue
        model_lines = [M.strip_line_prefix(x).strip() for x in raw_lines]
        stats = sq_stats(ref_lines, raw_lines)
        product, brand, points = _product_of(it.obj.get("prompt", "") if it.obj else "")
        info = f"商品：{product}；品牌：{brand}；卖点：{points}" if language == "zh" else \
            f"product: {product}; brand: {brand}; selling points: {points}"
        answer = client.complete(build_sq_messages(info, ref_lines, model_lines, stats["avg_diff"], language),
                                 SQ_MAX_TOKENS)
        row = {"product": product, "brand": brand, "features": points, "ref_script": "\n".join(ref_lines),
               "script": "\n".join(model_lines), "stats": stats, "model_output": answer}
        parsed = M.parse_judge_json(answer)
        if parsed is not None:
            row["parsed_scores"] = parsed
        rows.append(row)
    run.output = rows
    return run


# --------------------------------------------------------------------------- the proxy


def vsc_proxy(rf: ResultFile, encode_texts: Callable[[Sequence[str]], np.ndarray],
              encode_clips: Callable[[list], np.ndarray | None] | None = None, encoder: str = "") -> dict:
    """Mean over ads of the mean cosine between GT line i and the i-th predicted clip in one
    embedding space (range -1..1), on the ads VSC would judge. `encode_clips` maps ClipRefs to
    vectors in the lines' space (None: embed their captions as text). `vsc_proxy_gold` is the
    same score for the gold order: the ceiling this file's ads allow."""
    ads: list[tuple[list[str], list, list]] = []
    skipped = 0
    for it in rf.items:
        got = sort_pairs(it)
        if got is None or (encode_clips is None and any(c.caption is None for c in got[1])):
            skipped += 1
            continue
        ads.append(got)
    # One encoder call for every distinct text: per-ad calls cost ~10x on a CPU.
    texts = sorted({t for lines, clips, gold in ads for t in lines + (
        [c.caption for c in clips + gold] if encode_clips is None else [])})
    E = _unit(encode_texts(texts)) if texts else np.zeros((0, 1))
    row = {t: i for i, t in enumerate(texts)}
    per_ad: list[float] = []
    per_ad_gold: list[float] = []
    for lines, clips, gold in ads:
        if encode_clips is None:
            C, G = E[[row[c.caption] for c in clips]], E[[row[c.caption] for c in gold]]
        else:
            C, G = encode_clips(clips), encode_clips(gold)
            if C is None or G is None:
                skipped += 1
                continue
        L = E[[row[t] for t in lines]]
        per_ad.append(float(np.mean(np.sum(L * _unit(C), axis=1))))
        per_ad_gold.append(float(np.mean(np.sum(L * _unit(G), axis=1))))
    return {
        "kind": "vsc_proxy",
        "encoder": encoder,
        "n_ads": len(per_ad),
        "n_ads_skipped": skipped,
        "vsc_proxy": sum(per_ad) / len(per_ad) if per_ad else None,
        "vsc_proxy_gold": sum(per_ad_gold) / len(per_ad_gold) if per_ad_gold else None,
        "note": "cosine of line and clip embeddings; a proxy, not the paper's GPT-4o-judged VSC",
    }


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def frame_encoder(frames: Path, vision_spec: str) -> Callable[[list], np.ndarray | None]:
    """ClipRefs -> CLIP image embeddings of their first frame ({frame_id}.jpg under
    `frames`); None when a frame is missing."""
    from PIL import Image

    from adcut.encoders.registry import load_vision_encoder

    enc = load_vision_encoder(vision_spec)

    def encode(clips: list) -> np.ndarray | None:
        images = []
        for c in clips:
            path = Path(frames) / f"{c.frame_ids[0]}.jpg" if c.frame_ids else None
            if path is None or not path.is_file():
                return None
            images.append(np.asarray(Image.open(path).convert("RGB")))
        return enc.encode_images(images).embeddings

    return encode
