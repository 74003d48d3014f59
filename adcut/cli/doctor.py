"""`adcut doctor`: what adcut found on this machine."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from adcut.cli.app import app


@app.command()
def doctor(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """What adcut found on this machine: ffmpeg and its features, decoders, models, fonts."""
    from adcut.doctor import run_checks

    report = run_checks()
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for check in report["checks"]:
            mark = "ok " if check["ok"] else ("-- " if check.get("optional") else "NO ")
            print(f"{mark} {check['name']:<22} {check['detail']}")
    raise typer.Exit(0 if report["ok"] else 1)
