"""The AutoCut release format: JSONL rows `{sample_id, task, ad_key, conversations, system,
tools, model_generate}`, read forgivingly and written byte-compatibly.

Real release files are messy; the paper's numbers depend on reading them the way its own
scripts did: a line with trailing characters after its JSON object counts as that object,
a repeated sample counts once (its first occurrence), a missing final newline is fine.
Everything skipped or tolerated is reported as 'FILE line N: ...'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

_RELEASE_KEYS = ("sample_id", "task", "ad_key", "conversations", "system", "tools", "model_generate")


@dataclass(frozen=True)
class ReleaseRow:
    """One ad of one task. `prompt`: the first human turn; `gold`: the last gpt turn;
    `model_generate`: the stored prediction, None when the row has none (an input file)."""

    sample_id: int
    task: str
    ad_key: dict
    prompt: str
    gold: str
    model_generate: str | None
    line_no: int
    system: str = ""
    tools: str = ""
    extra: dict = field(default_factory=dict)  # unknown top-level keys, kept for the writer


def _turn(conversations: list, role: str, last: bool) -> str | None:
    turns = [t for t in conversations if isinstance(t, dict) and t.get("from") == role]
    if not turns:
        return None
    value = turns[-1 if last else 0].get("value")
    return value if isinstance(value, str) else None


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _row_from(obj: dict, where: str, line_no: int) -> tuple[ReleaseRow | None, str | None]:
    """A row, or None and the reason it was skipped."""
    sample_id = _as_int(obj.get("sample_id"))
    if sample_id is None:
        return None, f"{where}: no integer sample_id; row skipped"
    task = obj.get("task")
    if not isinstance(task, str) or not task:
        return None, f"{where}: no task name; row skipped"
    conversations = obj.get("conversations")
    if not isinstance(conversations, list):
        return None, f"{where}: no conversations list; row skipped"
    prompt = _turn(conversations, "human", last=False)
    if prompt is None:
        return None, f"{where}: no human turn in conversations; row skipped"
    gold = _turn(conversations, "gpt", last=True)
    if gold is None:
        return None, f"{where}: no gpt (gold) turn in conversations; row skipped"
    ad_key = obj.get("ad_key")
    if not isinstance(ad_key, dict):
        return None, f"{where}: no ad_key object; row skipped"
    generated = obj.get("model_generate")
    if generated is not None and not isinstance(generated, str):
        generated = json.dumps(generated, ensure_ascii=False)  # keep it scorable as text
    row = ReleaseRow(
        sample_id=sample_id,
        task=task,
        ad_key=ad_key,
        prompt=prompt,
        gold=gold,
        model_generate=generated,
        line_no=line_no,
        system=obj.get("system") if isinstance(obj.get("system"), str) else "",
        tools=obj.get("tools") if isinstance(obj.get("tools"), str) else "",
        extra={k: v for k, v in obj.items() if k not in _RELEASE_KEYS},
    )
    return row, None


def _is_one_document(text: str) -> bool:
    """A pretty-printed JSON file (the VSC judge outputs are such, despite .jsonl)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def decode_text(data: bytes, name: str) -> tuple[str, list[str]]:
    """UTF-8 text of a result file (a BOM is dropped; bad bytes are replaced and reported)."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        return (data.decode("utf-8-sig", errors="replace"),
                [f"{name}: not valid UTF-8 at byte {exc.start}; bad bytes replaced"])


def load_release_rows(path: Path) -> tuple[list[ReleaseRow], list[str]]:
    """Rows of one release file, in file order, and the problems met ('FILE line N: ...').
    Never raises on file content; an unreadable file is one problem and no rows."""
    path = Path(path)
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [], [f"{name}: cannot be read ({exc.strerror or exc})"]
    text, problems = decode_text(data, name)
    if not text.strip():
        return [], problems + [f"{name}: empty file"]

    decoder = json.JSONDecoder()
    rows: list[ReleaseRow] = []
    first_line: dict[int, int] = {}
    # Split on '\n' only: U+2028 and friends may sit unescaped inside JSON strings.
    lines = text.split("\n")
    for line_no, line in enumerate(lines, 1):
        where = f"{name} line {line_no}"
        stripped = line.strip()
        if not stripped:
            continue
        try:
            obj, end = decoder.raw_decode(stripped)
        except json.JSONDecodeError as exc:
            if not rows and _is_one_document(text):
                return [], problems + [f"{name}: one JSON document, not JSONL (one row per line)"]
            problems.append(f"{where}: not JSON ({exc.msg} at column {exc.colno}); line skipped")
            continue
        if stripped[end:].strip():
            problems.append(f"{where}: {len(stripped) - end} trailing characters after the JSON object ignored")
        if not isinstance(obj, dict):
            problems.append(f"{where}: a JSON {type(obj).__name__}, not an object; line skipped")
            continue
        row, reason = _row_from(obj, where, line_no)
        if row is None:
            problems.append(reason or f"{where}: row skipped")
            continue
        if row.sample_id in first_line:
            problems.append(
                f"{where}: sample_id {row.sample_id} repeats line {first_line[row.sample_id]}; "
                "the first occurrence counts"
            )
            continue
        first_line[row.sample_id] = line_no
        rows.append(row)
    if not rows and not problems:
        problems.append(f"{name}: no rows")
    return rows, problems


def dump_release_row(row: ReleaseRow, model_generate: str) -> str:
    """One JSONL line (no trailing newline) in the release format, carrying our prediction.
    With the row's own model_generate it reproduces an upstream line byte for byte."""
    obj: dict = {
        "sample_id": row.sample_id,
        "task": row.task,
        "ad_key": row.ad_key,
        "conversations": [
            {"from": "human", "value": row.prompt},
            {"from": "gpt", "value": row.gold},
        ],
        "system": row.system,
        "tools": row.tools,
        **row.extra,
        "model_generate": model_generate,
    }
    return json.dumps(obj, ensure_ascii=False)
