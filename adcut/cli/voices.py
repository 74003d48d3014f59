"""`adcut voices`: the voices adcut can speak a voice-over with, and which work offline."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from adcut.cli.app import app


@app.command()
def voices(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Voices for the voice-over: engine, name, language, and whether each works offline
    (bundled in a wheel, or downloaded before). Give the name to `adcut edit --voice`."""
    from adcut.voice.tts import list_voices

    found = list_voices()
    if as_json:
        print(json.dumps([asdict(v) for v in found], indent=2, ensure_ascii=False))
        return
    print(f"{'engine':<8} {'voice':<8} {'language':<9} {'offline':<22} description")
    for v in found:
        where = ("yes (bundled)" if v.bundled and v.installed else "yes (downloaded)"
                 if v.installed else "no (downloads once)" if v.engine == "hibari"
                 else "no (not installed)")
        print(f"{v.engine:<8} {v.name:<8} {v.language:<9} {where:<22} {v.description}")
    spoken = sorted({v.language.split("-")[0] for v in found if v.installed})
    print(f"languages spoken offline: {', '.join(spoken) or 'none'}; any other language gets "
          "subtitles only (no offline Chinese voice ships in a package)")
