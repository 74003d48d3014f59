"""Tests of adcut.eval. The AutoCut-364 dev files are found through $ADCUT_AUTOCUT364, else
<repo>/../shared/autocut364 (or shared/autocut364 in the checkout); tests that need them
skip when absent."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

_REPO = Path(__file__).resolve().parents[2]


def dev_dir() -> Path | None:
    candidates = [os.environ.get("ADCUT_AUTOCUT364", ""), _REPO.parent / "shared" / "autocut364",
                  _REPO / "shared" / "autocut364"]
    for c in candidates:
        if c and (Path(c) / "expected.json").is_file():
            return Path(c)
    return None


def release_row(sample_id, task="vid_sort", gold="2,1", pred="1,2", prompt="提示", **extra) -> str:
    obj = {"sample_id": sample_id, "task": task, "ad_key": {"chunk_id": 99, "ad_id": 100 + int(sample_id)},
           "conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": gold}],
           "system": "", "tools": "", "model_generate": pred}
    if pred is None:
        del obj["model_generate"]
    obj.update(extra)
    return json.dumps(obj, ensure_ascii=False)


def cli(*args):
    """(exit code, stdout, stderr) of `adcut ARGS`."""
    from adcut.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
