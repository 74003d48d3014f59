"""Reading result files for `adcut eval`: the AutoCut release files and adcut's own format.

Formats (the task is detected from the rows, else from the file name, else `--task`):

- release JSONL (`F___vidselect_*`, `F___vidsort_*`, `F___vid2text_*`): `{sample_id, task,
  ad_key, conversations, model_generate}`; gold = the last gpt turn, prediction =
  `model_generate`. Read with the release rules of adcut.tasks.release.
- VSC judge output (`VSC___vidsort_*`): one JSON object `{model_VSC, ads_evaluated,
  ads_skipped, ads: [{meta, vsc_ad, pairs: [{frame_id, text, score}]}]}`, despite its .jsonl
  name; JSONL with one ad object per line is read too.
- SQ judge output (`SQ*`): JSONL `{product, brand, features, ref_script, script, stats,
  model_output[, parsed_scores]}`.
- music ranking (`F2___audrank_*`): JSONL `{sample_id, predict_aud_id: [track ids, best first],
  photo_id: the original track}`; adcut's own names `ranking` and `gt` are read too.
- adcut's own format: JSONL `{id, task, gold, prediction}` with task select|sort|script (or
  the release task names), gold and prediction as text or as a list (clip numbers for
  select and sort, lines for script).

Messy files are read the way the paper's numbers need: a line with trailing characters after
its JSON object counts as that object, a repeated sample counts once (its first
occurrence), a missing final newline is fine. Lines that cannot be read and rows that cannot
be scored are counted and reported as 'FILE line N: ...'. A file with nothing usable raises
BadInputError naming the file.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from adcut.core.errors import BadInputError
from adcut.eval import metrics as M
from adcut.tasks.release import _row_from, decode_text

KINDS = ("select", "sort", "script", "vsc", "sq", "music")
TASK_KIND = {"vid_select": "select", "vid_sort": "sort", "vid2text": "script", "vid2aud": "music"}
KIND_TASK = {v: k for k, v in TASK_KIND.items()}
_OWN_TASK = {**{k: k for k in ("select", "sort", "script")}, **TASK_KIND}

# Upstream file names: prefix -> kind; what follows the prefix names the system.
_NAME_RULES = (
    (re.compile(r"^F2?___vidselect_(.+)$"), "select"),
    (re.compile(r"^F2?___vidsort_(.+)$"), "sort"),
    (re.compile(r"^F2?___vid2text_(.+)$"), "script"),
    (re.compile(r"^VSC_+vidsort_(.+)$"), "vsc"),
    (re.compile(r"^VSC_+(.+)$"), "vsc"),
    (re.compile(r"^SQ_+(.+)$"), "sq"),
    (re.compile(r"^F2?___(?:audrank|vid2aud)_(.+)$"), "music"),
)
_GT_KEYS = ("photo_id", "gt", "gt_track", "gold")
_RANKING_KEYS = ("predict_aud_id", "ranking", "prediction")
MAX_PROBLEMS = 100  # a broken file lists this many problems, then a count


def name_parts(path: Path) -> tuple[str | None, str]:
    """(kind implied by an upstream file name or None, system name)."""
    stem = path.name
    for suffix in (".jsonl", ".json"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for rx, kind in _NAME_RULES:
        m = rx.match(stem)
        if m:
            return kind, m.group(1)
    return None, stem


@dataclass
class Item:
    """One scorable unit: an ad of a task. `key` pairs it with the same ad in another file."""

    key: str
    line_no: int
    gold: str = ""
    pred: str | None = None
    obj: dict = field(default_factory=dict)  # vsc ad / sq row / music row as read


@dataclass
class ResultFile:
    path: Path
    kind: str
    system: str
    fmt: str  # release | own | vsc | sq | music
    items: list[Item]
    stats: dict
    problems: list[str]
    header: dict = field(default_factory=dict)  # a VSC file's stored summary

    @property
    def name(self) -> str:
        return self.path.name


# --------------------------------------------------------------------------- raw reading


@dataclass
class _Raw:
    objects: list[tuple[int, object]]  # (line number, decoded value)
    document: object | None  # the whole file, when it is one JSON document
    stats: dict
    problems: list[str]


def _read_raw(path: Path) -> _Raw:
    name = path.name
    if not path.exists():
        raise BadInputError(f"{path}: no such file")
    if path.is_dir():
        raise BadInputError(f"{path}: is a folder, not a result file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    text, problems = decode_text(data, name)
    if not text.strip():
        raise BadInputError(f"{name}: empty file", hint="nothing to score")
    stats = {"n_lines_repaired": 0, "n_lines_unreadable": 0}
    decoder = json.JSONDecoder()
    lines = text.split("\n")  # '\n' only: U+2028 may sit unescaped inside JSON strings
    first = next(ln.strip() for ln in lines if ln.strip())
    # A pretty-printed document (VSC files are such, despite .jsonl): its first line alone
    # is no JSON value, the whole text is.
    try:
        decoder.raw_decode(first)
        first_ok = True
    except json.JSONDecodeError:
        first_ok = False
    if not first_ok:
        body = text.strip()
        try:
            doc, end = decoder.raw_decode(body)
        except json.JSONDecodeError:
            pass
        else:
            if body[end:].strip():  # as for a line: the leading document counts
                stats["n_lines_repaired"] += 1
                problems.append(f"{name}: {len(body) - end} trailing characters after the JSON document ignored")
            return _Raw([], doc, stats, problems)
    objects: list[tuple[int, object]] = []
    for line_no, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        try:
            obj, end = decoder.raw_decode(s)
        except json.JSONDecodeError as exc:
            stats["n_lines_unreadable"] += 1
            problems.append(f"{name} line {line_no}: not JSON ({exc.msg} at column {exc.colno}); line skipped")
            continue
        if not isinstance(obj, dict):
            stats["n_lines_unreadable"] += 1
            problems.append(f"{name} line {line_no}: a JSON {type(obj).__name__}, not an object; line skipped")
            continue
        if s[end:].strip():
            stats["n_lines_repaired"] += 1
            problems.append(f"{name} line {line_no}: {len(s) - end} trailing characters after the JSON object ignored")
        objects.append((line_no, obj))
    if not objects:
        first = next((p for p in problems if p.startswith(f"{name} line ")), "")
        where = first[len(name) + 1:].split("; line skipped")[0]  # e.g. 'line 1: not JSON (...)'
        raise BadInputError(f"{name}: not JSONL: no line holds a JSON object" + (f" ({where})" if where else ""),
                            hint="a result file has one JSON object per line")
    return _Raw(objects, None, stats, problems)


# --------------------------------------------------------------------------- detection


def _detect(objs: list[dict], document: object, name_kind: str | None) -> tuple[str, str] | None:
    """(kind, format) from the content, else from the file name."""
    if isinstance(document, dict) and isinstance(document.get("ads"), list):
        return "vsc", "vsc"
    if not objs:
        return None
    tasks = Counter(o.get("task") if isinstance(o.get("task"), str) else None for o in objs)
    top, _ = tasks.most_common(1)[0]
    if any("conversations" in o for o in objs[:20]):
        if top in TASK_KIND:
            return TASK_KIND[top], "release"
        return (name_kind, "release") if name_kind in ("select", "sort", "script") else None
    if top in _OWN_TASK and any(("gold" in o or "prediction" in o) for o in objs[:20]):
        return _OWN_TASK[top], "own"
    keys = Counter(k for o in objs[:20] for k in o)
    if "pairs" in keys or "vsc_ad" in keys:
        return "vsc", "vsc"
    if "model_output" in keys or "parsed_scores" in keys or "ref_script" in keys:
        return "sq", "sq"
    if any(k in keys for k in _RANKING_KEYS[:2]) and any(k in keys for k in _GT_KEYS):
        return "music", "music"
    if name_kind is not None:
        fmt = {"vsc": "vsc", "sq": "sq", "music": "music"}.get(name_kind, "release")
        return name_kind, fmt
    return None


def _as_text(value: object, sep: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return sep.join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False)


def _key_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value


# --------------------------------------------------------------------------- per format


class _Collector:
    """Items with first-occurrence de-duplication and problem lines."""

    def __init__(self, name: str, problems: list[str], unit: str = "line"):
        self.name = name
        self.unit = unit  # "line" in JSONL, "entry" (1-based) inside one JSON document
        self.problems = problems
        self.items: list[Item] = []
        self.first: dict[str, int] = {}
        self.n_duplicates = 0
        self.n_invalid = 0

    def where(self, line_no: int) -> str:
        return f"{self.name} {self.unit} {line_no}"

    def invalid(self, line_no: int, why: str) -> None:
        self.n_invalid += 1
        self.problems.append(f"{self.where(line_no)}: {why}")

    def add(self, item: Item, what: str) -> None:
        if item.key in self.first:
            self.n_duplicates += 1
            self.problems.append(f"{self.where(item.line_no)}: {what} repeats {self.unit} {self.first[item.key]}; "
                                 "the first occurrence counts")
            return
        self.first[item.key] = item.line_no
        self.items.append(item)


def _release_items(objs: list[tuple[int, dict]], kind: str, c: _Collector) -> None:
    want = KIND_TASK[kind]
    for line_no, obj in objs:
        where = c.where(line_no)
        row, reason = _row_from(obj, where, line_no)
        if row is None:
            c.n_invalid += 1
            c.problems.append(reason or f"{where}: row skipped")
            continue
        if row.task != want:
            c.invalid(line_no, f"task {row.task!r} in a {want} file; row skipped")
            continue
        if row.model_generate is None:
            c.problems.append(f"{where}: no model_generate; scored as an empty output")
        c.add(Item(key=str(row.sample_id), line_no=line_no, gold=row.gold, pred=row.model_generate,
                   obj={"prompt": row.prompt}), f"sample_id {row.sample_id}")


def _own_items(objs: list[tuple[int, dict]], kind: str, c: _Collector) -> None:
    sep = "\n" if kind == "script" else ","
    for line_no, obj in objs:
        task = _OWN_TASK.get(obj.get("task", kind)) if isinstance(obj.get("task", kind), str) else None
        if task != kind:
            c.invalid(line_no, f"task {obj.get('task')!r} in a {kind} file; row skipped")
            continue
        gold = _as_text(obj.get("gold"), sep)
        if gold is None:
            c.invalid(line_no, "no gold; row skipped")
            continue
        key = obj.get("id", obj.get("sample_id"))
        pred = _as_text(obj.get("prediction", obj.get("pred")), sep)
        if pred is None:
            c.problems.append(f"{c.where(line_no)}: no prediction; scored as an empty output")
        c.add(Item(key=_key_text(key) if key is not None else f"line {line_no}", line_no=line_no,
                   gold=gold, pred=pred), f"id {key}")


def _vsc_items(objs: list[tuple[int, dict]], c: _Collector) -> None:
    for line_no, ad in objs:
        if not isinstance(ad.get("pairs"), list) and ad.get("vsc_ad") is None:
            c.invalid(line_no, "an ad without pairs or vsc_ad; not scored")
            continue
        meta = ad.get("meta")
        if isinstance(meta, dict) and meta:
            key = _key_text([meta.get("product"), meta.get("brand"), meta.get("features")])
            what = f"ad {meta.get('product')!r}"
        else:
            key, what = f"entry {line_no}", "ad"
        c.add(Item(key=key, line_no=line_no, obj=ad), what)


def _sq_items(objs: list[tuple[int, dict]], c: _Collector) -> None:
    for line_no, row in objs:
        ref = row.get("ref_script")
        key = ref if isinstance(ref, str) and ref else f"line {line_no}"
        if not any(k in row for k in ("model_output", "parsed_scores")):
            c.problems.append(f"{c.where(line_no)}: no model_output; counted, no score")
        c.add(Item(key=key, line_no=line_no, gold=ref if isinstance(ref, str) else "", obj=row), "ref_script")


def _music_items(objs: list[tuple[int, dict]], c: _Collector) -> None:
    for line_no, row in objs:
        gt = next((row[k] for k in _GT_KEYS if row.get(k) not in (None, "", [])), None)
        if gt is None:
            c.invalid(line_no, "no original track (photo_id / gt); not counted")
            continue
        ranking = next((row[k] for k in _RANKING_KEYS if k in row), None)
        if not isinstance(ranking, list):
            c.problems.append(f"{c.where(line_no)}: no ranking list; counted as a miss")
            row = {**row, "_ranking": []}
        else:
            row = {**row, "_ranking": ranking}
        key = row.get("sample_id", row.get("id"))
        c.add(Item(key=_key_text(key) if key is not None else f"line {line_no}", line_no=line_no,
                   obj={**row, "_gt": gt}), f"sample {key}")


# --------------------------------------------------------------------------- loading


def load_result_file(path: Path, task: str | None = None) -> ResultFile:
    """Read one result file. `task`: select|sort|script|vsc|sq|music, else detected.
    Raises BadInputError when the file cannot be used at all."""
    path = Path(path)
    if task is not None and task not in KINDS:
        raise BadInputError(f"unknown task {task!r}", hint=f"use one of {', '.join(KINDS)}")
    raw = _read_raw(path)
    name = path.name
    name_kind, system = name_parts(path)
    problems = raw.problems
    doc = raw.document
    if doc is not None:
        if isinstance(doc, dict) and isinstance(doc.get("ads"), list):
            entries = list(enumerate(doc["ads"], 1))
        elif isinstance(doc, list):
            problems.append(f"{name}: one JSON array, not JSONL; its elements read as rows")
            entries = list(enumerate(doc, 1))
        elif isinstance(doc, dict):
            entries = [(1, doc)]
        else:
            raise BadInputError(f"{name}: a JSON {type(doc).__name__}, not result rows")
    else:
        entries = raw.objects
    objs: list[tuple[int, dict]] = []
    for line_no, obj in entries:
        if isinstance(obj, dict):
            objs.append((line_no, obj))
        else:
            raw.stats["n_lines_unreadable"] += 1
            problems.append(f"{name} entry {line_no}: a JSON {type(obj).__name__}, not an object; entry skipped")
    detected = _detect([o for _, o in objs], doc, name_kind)
    if task is None:
        if detected is None:
            raise BadInputError(f"{name}: cannot tell which task this file holds",
                                hint="give --task select|sort|script|vsc|sq|music")
        kind, fmt = detected
    else:
        kind = task
        if detected is not None and detected[0] == kind:
            fmt = detected[1]
        elif detected is not None and detected[1] in ("release", "own") and kind in ("select", "sort", "script"):
            fmt = detected[1]  # release rows of one task scored as another: the user asked
        else:
            fmt = {"vsc": "vsc", "sq": "sq", "music": "music"}.get(kind, "release")
            if detected is not None and detected[1] != fmt:
                raise BadInputError(f"{name}: holds {detected[0]} results, not {kind}",
                                    hint=f"drop --task, or give --task {detected[0]}")
    c = _Collector(name, problems, "entry" if doc is not None else "line")
    if fmt == "release":
        # the rows' own task must match unless the user chose another
        want = kind
        if task is not None and detected is not None and detected[1] == "release":
            objs = [(ln, {**o, "task": KIND_TASK[want]}) for ln, o in objs]
        _release_items(objs, want, c)
    elif fmt == "own":
        _own_items(objs, kind, c)
    elif fmt == "vsc":
        _vsc_items(objs, c)
    elif fmt == "sq":
        _sq_items(objs, c)
    else:
        _music_items(objs, c)
    stats = {
        **raw.stats,
        "n_rows_raw": len(objs),
        "n_duplicates_dropped": c.n_duplicates,
        "n_rows_invalid": c.n_invalid,
    }
    if not c.items:
        first = next((p for p in problems if " line " in p or " entry " in p), None)
        raise BadInputError(f"{name}: no usable {kind} rows" + (f" ({first})" if first else ""),
                            hint="see the format in `adcut eval --help`")
    header = {k: doc[k] for k in ("model_VSC", "ads_evaluated", "ads_skipped")
              if isinstance(doc, dict) and k in doc}
    return ResultFile(path=path, kind=kind, system=system, fmt=fmt, items=c.items, stats=stats,
                      problems=problems, header=header)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; a folder becomes its result files (*.jsonl, sorted)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix == ".jsonl")
            if not found:
                raise BadInputError(f"{p}: a folder without result files (*.jsonl)",
                                    hint="give the result files, e.g. F___vidsort_NAME.jsonl")
            out += found
        else:
            out.append(p)
    return out


# --------------------------------------------------------------------------- scoring


def golds_preds(rf: ResultFile) -> tuple[list[str], list[str | None]]:
    return [it.gold for it in rf.items], [it.pred for it in rf.items]


def score_file(rf: ResultFile) -> dict:
    """Every metric of one file, with its read statistics and problems."""
    out: dict = {"file": rf.name, "kind": rf.kind, "format": rf.fmt, **rf.stats}
    if rf.kind in ("select", "sort", "script"):
        g, p = golds_preds(rf)
        out["n_pred_missing"] = sum(1 for x in p if x is None)
        summarize = {"select": M.summarize_select, "sort": M.summarize_sort, "script": M.summarize_script}[rf.kind]
        out.update(summarize(g, p))
    elif rf.kind == "vsc":
        out.update(M.summarize_vsc([it.obj for it in rf.items], rf.header))
    elif rf.kind == "sq":
        out.update(M.summarize_sq([it.obj for it in rf.items]))
    else:
        ranks = [M.music_rank(it.obj["_gt"], it.obj["_ranking"]) for it in rf.items]
        lengths = [sum(1 for x in it.obj["_ranking"] if str(x) != "-1") for it in rf.items]
        out.update(M.summarize_music(ranks, lengths))
    shown = rf.problems[:MAX_PROBLEMS]
    if len(rf.problems) > MAX_PROBLEMS:
        shown.append(f"... and {len(rf.problems) - MAX_PROBLEMS} more")
    out["problems"] = shown
    return out


def evaluate_paths(paths: list[Path], task: str | None = None) -> dict:
    """Per-file results and, per system, the paper's headline with counts and extras."""
    files = [load_result_file(p, task) for p in expand_paths(paths)]
    results: dict[str, dict] = {}
    systems: dict[str, list[dict]] = {}
    for rf in files:
        key = rf.name if rf.name not in results else str(rf.path)
        res = score_file(rf)
        results[key] = res
        systems.setdefault(rf.system, []).append(res)
    return {"files": results,
            "systems": {s: {**M.summarize_system(fs), "files": [f["file"] for f in fs]} for s, fs in systems.items()}}
