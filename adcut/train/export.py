"""`adcut train export RUN -o DIR`: a plain Hugging Face model folder from a finished run.

The run's top level already holds the whole model (a LoRA run is merged when it finishes), so
export copies what transformers and vLLM read (config, weights, tokenizer with the added tokens,
chat template, generation config), the RQ-VAE tokenizer folders beside them (`rqvae/`) and the
run's record, and leaves out checkpoints and the adapter. It is written to a temporary folder,
checked by loading its config and tokenizer (every adcut token present, with the run's ids),
then renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from adcut.core.errors import BadInputError, OutputError
from adcut.train.run import ADAPTER_DIR, CHECKPOINTS, MODEL_FILE, MODEL_FORMAT, RQVAE_DIR
from adcut.train.vocab import adcut_token_ids, missing_tokens

_SKIP = {CHECKPOINTS, ADAPTER_DIR}


def export_run(run: Path, out: Path, *, force: bool = False) -> dict:
    try:
        record = json.loads((run / MODEL_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise BadInputError(f"{run} is not an adcut training run (no readable {MODEL_FILE})",
                            hint="give the folder `adcut train align` or `adcut train sft` wrote") from None
    if record.get("format") != MODEL_FORMAT or record.get("state") != "done":
        raise BadInputError(f"{run} is not a finished run (state {record.get('state')!r})",
                            hint="finish it with `adcut train ... --resume` first")
    if out.exists():
        if not force:
            raise OutputError(f"{out} already exists", hint="choose another -o or pass --force")
        if out.resolve() == run.resolve():
            raise BadInputError("-o is the run folder itself", hint="export to another folder")
    tmp = out.with_name(out.name + ".tmp-export")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        for item in run.iterdir():
            if item.name in _SKIP or item.name.endswith(".tmp"):
                continue
            if item.is_dir():
                shutil.copytree(item, tmp / item.name)
            else:
                shutil.copy2(item, tmp / item.name)
        record = {**record, "exported_from": str(run.resolve())}
        (tmp / MODEL_FILE).write_text(json.dumps(record, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                                      encoding="utf-8")
        _check(tmp, run)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    return {"out": str(out), "files": files, "rqvae": sorted((out / RQVAE_DIR).glob("*")) != [],
            "stage": record.get("stage"), "stages": record.get("stages")}


def _check(folder: Path, run: Path) -> None:
    from transformers import AutoConfig, AutoTokenizer

    AutoConfig.from_pretrained(str(folder))
    ours, theirs = AutoTokenizer.from_pretrained(str(folder)), AutoTokenizer.from_pretrained(str(run))
    if missing_tokens(ours) or adcut_token_ids(ours) != adcut_token_ids(theirs):
        raise OutputError(f"the exported tokenizer in {folder} lost adcut tokens", hint="report this as a bug")
