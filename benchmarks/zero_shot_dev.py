"""Quick dev-slice scorer for the zero-shot planner on the AutoCut-364 caption track.

Runs ZeroShotPlanner on the caption-track select / sort / script files of ../shared/autocut364
(the `*_Qwen3_8B.jsonl` inputs; their stored `model_generate` is never read) and scores it with
the README's exact definitions: CSA, CRA, Kendall tau (eval_sort_metrics semantics) and WCD.
The full harness with bootstrap intervals is `adcut bench` (issue 5); this stays small.

    .venv/bin/python benchmarks/zero_shot_dev.py [--dir ../shared/autocut364] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SELECT_FILE = "F___vidselect_Qwen3_8B.jsonl"
SORT_FILE = "F___vidsort_Qwen3_8B.jsonl"
SCRIPT_FILE = "F___vid2text_Qwen3_8B.jsonl"
PAPER_ROWS = {  # the paper's caption rows and its own model, for the printout
    "Qwen3-8B caption": (0.137, 0.016),
    "Qwen3-8B caption+SFT": (0.569, 0.030),
    "AutoCut (fine-tuned)": (0.659, 0.107),
}


def ids(text: str) -> list[str]:
    return re.findall(r"\d+", text or "")


def csa_hit(gold: str, pred: str) -> bool | None:
    """None when the gold list is empty (the row does not count)."""
    g = ids(gold)
    if not g:
        return None
    return len(set(g) & set(ids(pred))) == len(g)


def cra_hit(gold: str, pred: str) -> bool:
    return ids(pred) == ids(gold)


def _sort_tokens(text: str) -> list[str]:
    t = (text or "").replace("，", ",").strip()
    return [x.strip() for x in t.split(",")] if "," in t else t.split()


def kendall_tau(gold: str, pred: str) -> float | None:
    """eval_sort_metrics semantics; None when the token counts differ (row not kept)."""
    g, p = _sort_tokens(gold), _sort_tokens(pred)
    if len(g) != len(p):
        return None
    rank = {tok: i for i, tok in enumerate(g)}
    seen: set[str] = set()
    ranks: list[int] = []
    for tok in p:
        if tok in rank and tok not in seen:
            seen.add(tok)
            ranks.append(rank[tok])
    n = len(ranks)
    if n <= 1:
        return 1.0
    inv = sum(1 for i in range(n) for j in range(i + 1, n) if ranks[i] > ranks[j])
    return 1.0 - 2.0 * inv / (n * (n - 1) / 2)


_PREFIXES = (
    re.compile(r"^\s*\d+\s*[.)）、:：-]\s*"),
    re.compile(r"^\s*[(（]\d+[)）]\s*"),
    re.compile(r"^\s*[•\-·]\s*"),
    re.compile(r"^第[一二三四五六七八九十百零0-9]+[句条行段][:：]\s*"),
)


def wcd_ad(gold: str, pred: str) -> float | None:
    ref = [ln for ln in gold.strip().splitlines() if ln.strip()]
    hyp = [ln for ln in pred.strip().splitlines() if ln.strip()]
    for rx in _PREFIXES:
        hyp = [rx.sub("", ln, count=1) for ln in hyp]
    ref = [x for x in (re.sub(r"\s+", "", ln) for ln in ref) if x]
    hyp = [x for x in (re.sub(r"\s+", "", ln) for ln in hyp) if x]
    if not ref and not hyp:
        return None
    n = max(len(ref), len(hyp))
    ref += [""] * (n - len(ref))
    hyp += [""] * (n - len(hyp))
    return sum(abs(len(a) - len(b)) for a, b in zip(hyp, ref)) / n


def run(data_dir: Path, text_encoder: str | None = "minilm", seed: int = 0, with_script: bool = True) -> dict:
    from adcut.planner.base import Hints
    from adcut.planner.zero_shot import ZeroShotPlanner
    from adcut.tasks.prompts_zh import parse_prompt_zh
    from adcut.tasks.release import load_release_rows

    planner = ZeroShotPlanner(text_encoder=text_encoder)
    hints = Hints(seed=seed, language="zh")
    out: dict = {"dir": str(data_dir)}
    t_all = time.perf_counter()

    rows, _ = load_release_rows(data_dir / SELECT_FILE)
    t0 = time.perf_counter()
    hits = counted = 0
    for r in rows:
        _, task, _ = parse_prompt_zh(r.prompt)
        pred = ",".join(str(x) for x in planner.select(task, hints).value)
        h = csa_hit(r.gold, pred)
        if h is not None:
            counted += 1
            hits += h
    out["select"] = {"rows": counted, "CSA": hits / counted if counted else 0.0,
                     "seconds": round(time.perf_counter() - t0, 2)}

    rows, _ = load_release_rows(data_dir / SORT_FILE)
    t0 = time.perf_counter()
    exact = 0
    taus: list[float] = []
    for r in rows:
        _, task, _ = parse_prompt_zh(r.prompt)
        pred = ",".join(str(x) for x in planner.order(task, hints).value)
        exact += cra_hit(r.gold, pred)
        tau = kendall_tau(r.gold, pred)
        if tau is not None:
            taus.append(tau)
    out["sort"] = {"rows": len(rows), "CRA": exact / len(rows) if rows else 0.0, "exact": exact,
                   "kendall_tau": sum(taus) / len(taus) if taus else 0.0,
                   "seconds": round(time.perf_counter() - t0, 2)}

    if with_script and (data_dir / SCRIPT_FILE).is_file():
        rows, _ = load_release_rows(data_dir / SCRIPT_FILE)
        t0 = time.perf_counter()
        vals = []
        for r in rows:
            _, task, _ = parse_prompt_zh(r.prompt)
            pred = "\n".join(planner.write(task, hints).value)
            v = wcd_ad(r.gold, pred)
            if v is not None:
                vals.append(v)
        out["script"] = {"rows": len(vals), "WCD": sum(vals) / len(vals) if vals else 0.0,
                         "seconds": round(time.perf_counter() - t0, 2)}
    out["seconds"] = round(time.perf_counter() - t_all, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=REPO.parent / "shared" / "autocut364")
    ap.add_argument("--text-encoder", default="minilm", help="'none' for lexical only (Chinese is lexical anyway)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-script", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if not (a.dir / SELECT_FILE).is_file():
        print(f"no {SELECT_FILE} in {a.dir}: give --dir", file=sys.stderr)
        return 2
    enc = None if a.text_encoder.lower() == "none" else a.text_encoder
    res = run(a.dir, enc, a.seed, not a.no_script)
    if a.json:
        print(json.dumps(res, indent=2))
        return 0
    s, o = res["select"], res["sort"]
    print(f"zero-shot  CSA {s['CSA']:.3f} ({s['rows']} rows, {s['seconds']} s)   "
          f"CRA {o['CRA']:.3f} ({o['exact']}/{o['rows']}, tau {o['kendall_tau']:.3f}, {o['seconds']} s)")
    if "script" in res:
        print(f"           WCD {res['script']['WCD']:.2f} ({res['script']['rows']} rows, {res['script']['seconds']} s)")
    for name, (csa, cra) in PAPER_ROWS.items():
        print(f"{name:<22} CSA {csa:.3f}   CRA {cra:.3f}   (paper, full test set)")
    print(f"total {res['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
