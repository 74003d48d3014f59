"""Cross-validated figures of the zero-shot planner on the AutoCut-364 token track.

The token-space planner (adcut.planner.token_space) has a few choices: the level weighting
and frame aggregation of the clip similarity used to select, and the weighting, continuity
weight, first-line extra and tie order (boundary continuity alone, or takes kept together)
used to order. None may be tuned on the whole dev slice, so this script runs k-fold
cross-validation by ad: for each fold the grid point with the best mean on the other folds
(CSA for select; Kendall tau, then CRA, for order: exact orders are too rare to choose by)
is applied to the held-out fold, and only the held-out predictions are scored. It prints the
held-out CSA, CRA and Kendall tau with bootstrap 95% intervals next to the AutoCut model's
own outputs on the same ads (the stored `model_generate` of the inputs, scored by the same
code), the planner's defaults in sample, the choice each fold made, and the random-choice
level.

Each task of each ad is planned alone from its parsed task object (as `adcut bench` does);
gold answers and stored outputs are read only to score.

    .venv/bin/python benchmarks/token_track.py [--dir ../shared/autocut364] [--folds 5] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from adcut.eval import metrics as M  # noqa: E402
from cv import folds_by_ad  # noqa: E402
from adcut.eval.bench import TRACK_FILES  # noqa: E402
from adcut.eval.compare import bootstrap_ci  # noqa: E402
from adcut.planner import token_space as T  # noqa: E402
from adcut.planner.base import Hints  # noqa: E402
from adcut.planner.zero_shot import ZeroShotPlanner  # noqa: E402
from adcut.tasks.prompts_zh import parse_prompt_zh  # noqa: E402
from adcut.tasks.release import load_release_rows  # noqa: E402
from adcut.tasks.types import TRACK_TOKENS  # noqa: E402

FILES = TRACK_FILES[TRACK_TOKENS]
# Grids, simplest first (ties go to the earlier point).
SELECT_GRID = [{"select_weighting": w, "select_aggregate": a}
               for w, a in itertools.product(T.WEIGHTINGS, ("mean", "max", "meanmax"))]
# Continuity 0.01: it only orders what the durations leave tied. The order's level weighting is
# not a choice of its own: it follows the weighting the fold chose for selection. Tie order:
# clips of equal length ordered by boundary continuity alone, or then by `take_score`.
ORDER_GRID = [{"order_weighting": w, "continuity_weight": c, "first_line_extra": f, "tie_order": t}
              for w, c, f, t in itertools.product(T.WEIGHTINGS, (0.01, 0.5, 1.0, 2.0), (0.0, 0.5, 1.0),
                                                  T.TIE_ORDERS)]
DEFAULTS = T.TokenParams()


def _ad(row) -> str:
    return json.dumps(row.ad_key, sort_keys=True)


def _tasks(path: Path):
    rows, problems = load_release_rows(path)
    if problems:
        print(f"note: {path.name}: " + "; ".join(problems[:3]), file=sys.stderr)
    return rows, [parse_prompt_zh(r.prompt)[1] for r in rows]


def _predict(kind: str, tasks, params: dict, seed: int) -> list[str]:
    planner = ZeroShotPlanner(token_params=T.TokenParams(**{**DEFAULTS.__dict__, **params}))
    hints = Hints(seed=seed, language="zh")
    out = []
    for task in tasks:  # one task of one ad at a time
        if kind == "select":
            out.append(",".join(map(str, planner.select(task, hints).value)))
        else:
            out.append(",".join(map(str, planner.order(task, hints).value)))
    return out


def _select_values(golds, preds) -> np.ndarray:
    return np.array([float(M.score_select_row(g, p).hit) for g, p in zip(golds, preds)])


def _sort_values(golds, preds) -> tuple[np.ndarray, np.ndarray]:
    rows = [M.score_sort_row(g, p) for g, p in zip(golds, preds)]
    return (np.array([float(r.exact) for r in rows]),
            np.array([np.nan if r.kendall_tau is None else r.kendall_tau for r in rows]))


def _ci(values) -> list[float] | None:
    return bootstrap_ci([None if (v is None or (isinstance(v, float) and math.isnan(v))) else float(v)
                         for v in values])


def _figure(values) -> dict:
    arr = np.asarray(values, float)
    return {"value": float(np.nanmean(arr)), "ci95": _ci(arr), "n": int((~np.isnan(arr)).sum())}


def cross_validate(dir_: Path, k: int = 5, seeds: int = 3) -> dict:
    """Held-out figures of k-fold cross-validation by ad. Every figure is the mean over the
    planner's tie-breaking seeds 0..seeds-1 (exact ties are common among clips of equal
    length; one seed moves tau by ~0.03), per ad, then over ads."""
    t0 = time.perf_counter()
    sel_rows, sel_tasks = _tasks(dir_ / FILES["select"])
    sort_rows, sort_tasks = _tasks(dir_ / FILES["sort"])
    sel_gold = [r.gold for r in sel_rows]
    sort_gold = [r.gold for r in sort_rows]
    fold_of = folds_by_ad([_ad(r) for r in sel_rows + sort_rows], k)
    sel_fold = np.array([fold_of[_ad(r)] for r in sel_rows])
    sort_fold = np.array([fold_of[_ad(r)] for r in sort_rows])

    # Every grid point's per-ad values (seeds x ads), computed once; the planner never sees a
    # gold answer.
    sel_vals = [np.stack([_select_values(sel_gold, _predict("select", sel_tasks, p, s)) for s in range(seeds)])
                for p in SELECT_GRID]
    sort_vals = []
    for p in ORDER_GRID:
        runs = [_sort_values(sort_gold, _predict("sort", sort_tasks, p, s)) for s in range(seeds)]
        sort_vals.append((np.stack([r[0] for r in runs]), np.stack([r[1] for r in runs])))

    held = {"CSA": np.full((seeds, len(sel_rows)), np.nan), "CRA": np.full((seeds, len(sort_rows)), np.nan),
            "kendall_tau": np.full((seeds, len(sort_rows)), np.nan)}
    chosen: list[dict] = []
    for f in range(k):
        tr_s, te_s = sel_fold != f, sel_fold == f
        tr_o, te_o = sort_fold != f, sort_fold == f
        si = max(range(len(SELECT_GRID)), key=lambda i: (sel_vals[i][:, tr_s].mean(), -i))
        weighting = SELECT_GRID[si]["select_weighting"]
        cand = [i for i, p in enumerate(ORDER_GRID) if p["order_weighting"] == weighting]
        oi = max(cand, key=lambda i: (np.nanmean(sort_vals[i][1][:, tr_o]), sort_vals[i][0][:, tr_o].mean(), -i))
        held["CSA"][:, te_s] = sel_vals[si][:, te_s]
        held["CRA"][:, te_o] = sort_vals[oi][0][:, te_o]
        held["kendall_tau"][:, te_o] = sort_vals[oi][1][:, te_o]
        chosen.append({"fold": f, "n_select_ads": int(te_s.sum()), "n_sort_ads": int(te_o.sum()),
                       "select": SELECT_GRID[si], "order": ORDER_GRID[oi],
                       "train_CSA": float(sel_vals[si][:, tr_s].mean()),
                       "train_tau": float(np.nanmean(sort_vals[oi][1][:, tr_o])),
                       "test_CSA": float(sel_vals[si][:, te_s].mean()),
                       "test_tau": float(np.nanmean(sort_vals[oi][1][:, te_o]))})

    def figures(values: dict[str, np.ndarray]) -> dict:
        return {m: _figure(np.nanmean(v, axis=0)) for m, v in values.items()}

    def seed0(values: dict[str, np.ndarray]) -> dict:
        return {m: float(np.nanmean(v[0])) for m, v in values.items()}

    d_sel = next(i for i, p in enumerate(SELECT_GRID) if all(getattr(DEFAULTS, k_) == v for k_, v in p.items()))
    d_ord = next((i for i, p in enumerate(ORDER_GRID) if all(getattr(DEFAULTS, k_) == v for k_, v in p.items())),
                 None)
    defaults = {"CSA": sel_vals[d_sel]}
    if d_ord is not None:
        defaults.update(CRA=sort_vals[d_ord][0], kendall_tau=sort_vals[d_ord][1])

    # AutoCut's own outputs on the same ads (scored only).
    ac_csa = _select_values(sel_gold, [r.model_generate for r in sel_rows])
    ac_cra, ac_tau = _sort_values(sort_gold, [r.model_generate for r in sort_rows])
    # Picking n of m clips at random hits the whole gold set with probability 1 / C(m, n).
    random_csa = float(np.mean([1.0 / math.comb(len(t.clips), t.n_select) for t in sel_tasks]))
    random_cra = float(np.mean([1.0 / math.factorial(len(t.clips)) for t in sort_tasks]))

    return {
        "dir": str(dir_), "folds": k, "seeds": seeds,
        "n_ads": {"select": len(sel_rows), "sort": len(sort_rows)},
        "held_out": figures(held),
        "held_out_seed0": seed0(held),
        "autocut_same_ads": {"CSA": _figure(ac_csa), "CRA": _figure(ac_cra), "kendall_tau": _figure(ac_tau)},
        "defaults_in_sample": {"params": DEFAULTS.__dict__, **figures(defaults)},
        "chosen_per_fold": chosen,
        "random": {"CSA": random_csa, "CRA": random_cra, "kendall_tau": 0.0},
        "grid": {"select": [{**p, "CSA": float(v.mean())} for p, v in zip(SELECT_GRID, sel_vals)],
                 "order": [{**p, "CRA": float(v[0].mean()), "kendall_tau": float(np.nanmean(v[1]))}
                           for p, v in zip(ORDER_GRID, sort_vals)]},
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _line(name: str, figs: dict) -> str:
    def one(m: str) -> str:
        f = figs.get(m)
        if f is None:
            return "-"
        iv = f.get("ci95")
        return f"{f['value']:.3f}" + (f" [{iv[0]:.3f}, {iv[1]:.3f}]" if iv else "")
    return f"  {name:<34} CSA {one('CSA'):<22} CRA {one('CRA'):<22} tau {one('kendall_tau')}"


def format_report(r: dict) -> str:
    s0 = r["held_out_seed0"]
    lines = [f"token track, {r['folds']}-fold cross-validation by ad on {r['n_ads']['select']} select / "
             f"{r['n_ads']['sort']} sort ads of {r['dir']} ({r['seconds']} s; figures are means over "
             f"tie-breaking seeds 0..{r['seeds'] - 1}, 95% bootstrap intervals over ads)",
             _line("zero-shot tokens, held-out folds", r["held_out"]),
             _line("AutoCut (emb+sft), same ads", r["autocut_same_ads"]),
             _line("zero-shot defaults, in sample", r["defaults_in_sample"]),
             f"  held-out at seed 0 alone: CSA {s0['CSA']:.3f}, CRA {s0['CRA']:.3f}, tau {s0['kendall_tau']:.3f}",
             f"  random choice: CSA {r['random']['CSA']:.4f}, CRA {r['random']['CRA']:.4f}, tau 0",
             "  chosen on the training folds (train -> held-out fold):"]
    for c in r["chosen_per_fold"]:
        o = c["order"]
        sel = c["select"]
        lines.append(f"    fold {c['fold']}: select {sel['select_weighting']}/{sel['select_aggregate']} "
                     f"(CSA {c['train_CSA']:.3f} -> {c['test_CSA']:.3f}); order {o['order_weighting']}, "
                     f"continuity {o['continuity_weight']:g}, first line +{o['first_line_extra']:g}, "
                     f"ties by {o['tie_order']} "
                     f"(tau {c['train_tau']:.3f} -> {c['test_tau']:.3f})")
    lines.append(f"  defaults: {r['defaults_in_sample']['params']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=REPO.parent / "shared" / "autocut364")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3, help="tie-breaking seeds 0..N-1 to average over")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not all((args.dir / name).is_file() for name in (FILES["select"], FILES["sort"])):
        print(f"error: {args.dir} lacks {FILES['select']} / {FILES['sort']} (give --dir)", file=sys.stderr)
        return 2
    report = cross_validate(args.dir, args.folds, args.seeds)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
