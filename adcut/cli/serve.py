"""`adcut serve`: the web app and REST API (adcut.serve), on uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from adcut.cli.app import app, note
from adcut.core.errors import DependencyError

SERVE_PACKAGES = ("fastapi", "uvicorn", "multipart")


def check_serve_extra() -> None:
    """One line, with the install command, when the `serve` extra is missing."""
    import importlib.util

    missing = [p for p in SERVE_PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        names = {"multipart": "python-multipart"}
        raise DependencyError(
            f"adcut serve needs {', '.join(names.get(m, m) for m in missing)}, which "
            "are not installed", hint="pip install 'adcut[serve]' (scripts/setup.sh installs it)")


def check_port_free(host: str, port: int) -> None:
    """One line instead of uvicorn's log when the address is taken (or cannot be bound)."""
    import socket

    from adcut.core.errors import OutputError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        from adcut.core.errors import BadInputError

        raise BadInputError(f"--host {host}: {exc.strerror}", hint="give an address of this "
                            "machine, e.g. 127.0.0.1") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            raise OutputError(f"cannot listen on {host}:{port} ({exc.strerror})",
                              hint="another server may be using it: choose another --port") \
                from None


@app.command(interrupted="the server stopped; running jobs are marked interrupted and can be "
                         "retried")
def serve(
    library: Annotated[Optional[list[Path]], typer.Option("--library", "-l", help="A library folder to offer (repeatable; a new folder is created by its first ingest).")] = None,
    host: Annotated[str, typer.Option(help="Address to bind. Anything but loopback needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    token: Annotated[Optional[str], typer.Option(help="Access token (default: $ADCUT_TOKEN). Required off loopback; checked on every request.")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="Workspace: jobs database, uploads, variants, renders (default: $ADCUT_DATA, else ~/.local/share/adcut/studio).")] = None,
    root: Annotated[Optional[list[Path]], typer.Option("--root", help="A folder the API may ingest from by path (repeatable; also $ADCUT_ROOTS). DATA/inbox always is one.")] = None,
    max_upload_mb: Annotated[int, typer.Option("--max-upload-mb", min=1, help="Largest upload request, in MiB.")] = 2048,
    render_jobs: Annotated[int, typer.Option("--render-jobs", min=1, max=16, help="Edit and render jobs at once.")] = 1,
    ingest_jobs: Annotated[int, typer.Option("--ingest-jobs", min=1, max=16, help="Ingest jobs at once.")] = 1,
) -> None:
    """The web app and REST API: libraries, briefs, variants, plans, renders, as jobs.

    The API is under /api/v1 (described at /api/v1/openapi.json). Bound to 127.0.0.1 by
    default; another address needs a token (ADCUT_TOKEN or --token), sent as
    `Authorization: Bearer TOKEN`, the adcut_token cookie or ?token=TOKEN.
    """
    from adcut.serve.settings import (
        TOKEN_ENV,
        ServeSettings,
        check_settings,
        default_data_dir,
        roots_from_env,
    )

    check_serve_extra()
    settings = ServeSettings(
        data_dir=data or default_data_dir(), libraries=tuple(library or ()),
        import_roots=tuple(root or ()) + roots_from_env(), host=host, port=port,
        token=token if token is not None else (os.environ.get(TOKEN_ENV) or None),
        max_upload_bytes=max_upload_mb << 20, render_slots=render_jobs,
        ingest_slots=ingest_jobs)
    check_settings(settings)
    settings = settings.resolved()
    for folder in settings.libraries:
        if folder.exists() and not (folder / "catalog.sqlite").exists() and any(folder.iterdir()):
            from adcut.core.errors import BadInputError

            raise BadInputError(f"--library {folder} is a folder that is not an adcut library",
                                hint="give a library built by adcut ingest, or a new folder")
    from adcut.serve.app import check_data_dir_free, create_app

    check_data_dir_free(settings.data_dir)
    check_port_free(host, port)
    import logging

    import uvicorn

    logging.getLogger("adcut.serve").setLevel(logging.INFO)  # jobs started and ended, to stderr
    application = create_app(settings)
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    note(f"adcut studio on {where} (API: {where}api/v1/openapi.json); data in "
         f"{settings.data_dir}" + ("; token required" if settings.token else ""))
    # an open event stream must not hold the shutdown (and the jobs' clean stop) back
    uvicorn.run(application, host=host, port=port, log_level="info", access_log=False,
                timeout_graceful_shutdown=3)


__all__ = ["DependencyError", "check_serve_extra", "serve"]
