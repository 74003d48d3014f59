"""`create_app(settings)`: the FastAPI application of `adcut serve`.

Start-up (the app's lifespan) takes the workspace's lock (one server per data folder), opens
the studio database, registers the `--library` folders, marks the jobs the last server left
running as interrupted, and starts the job scheduler; shut-down stops the running jobs (they
become interrupted, to be retried) and releases the lock.
"""

from __future__ import annotations

import fcntl
import logging
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from hashlib import sha1
from pathlib import Path

from adcut import __version__
from adcut.core.errors import OutputError
from adcut.serve.errors import ApiError, not_found
from adcut.serve.jobs import Scheduler, recover
from adcut.serve.settings import ServeSettings
from adcut.serve.store import Store, now

log = logging.getLogger("adcut.serve")
API = "/api/v1"


@dataclass
class Studio:
    """What every route needs: the settings, the database, the scheduler, the roots."""

    settings: ServeSettings
    store: Store
    scheduler: Scheduler
    _lock_fd: int | None = None
    _source_roots: list[Path] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def import_roots(self) -> list[Path]:
        """Where the API may ingest from by path: the inbox and the --root folders."""
        return list(self.settings.all_import_roots)

    def read_roots(self) -> list[Path]:
        """Every folder a request may name a file in: the workspace, the import roots, the
        --library folders and the folders their footage and music were ingested from."""
        return [self.data_dir, *self.import_roots(), *self.settings.libraries,
                *self._source_roots]

    def refresh_source_roots(self) -> None:
        """The folders of the --library libraries' sources (an operator-given library's files
        may live anywhere: its catalog vouches for them)."""
        from adcut.library.catalog import Catalog
        from adcut.serve.security import real

        found: set[Path] = set()
        for row in self.store.all("SELECT path FROM libraries WHERE external=1"):
            folder = Path(row["path"])
            if not (folder / "catalog.sqlite").exists():
                continue
            try:
                with Catalog(folder, readonly=True) as catalog:
                    for src in catalog.sources():
                        found.add(real(Path(src["path"]).parent))
                        found.add(real(src["path"]).parent)
            except Exception as exc:  # noqa: BLE001  (a damaged library: said when it is used)
                log.warning("library %s could not be read: %s", folder, exc)
        self._source_roots = sorted(found)

    def library(self, library_id: str):
        row = self.store.one("SELECT * FROM libraries WHERE id=?", (library_id,))
        if row is None:
            raise not_found("library", library_id)
        return row

    def job(self, job_id: str):
        row = self.store.one("SELECT * FROM jobs WHERE id=?", (job_id,))
        if row is None:
            raise not_found("job", job_id)
        return row

    def variant(self, variant_id: str):
        row = self.store.one("SELECT * FROM variants WHERE id=?", (variant_id,))
        if row is None:
            raise not_found("variant", variant_id)
        return row

    # start and stop ----------------------------------------------------------------------------
    def open(self) -> None:
        self._take_lock()
        self.store.create()
        for sub in ("libraries", "variants", "assets", "logs"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        self.settings.inbox.mkdir(parents=True, exist_ok=True)
        self._register_libraries()
        self._remove_incoming()
        self.refresh_source_roots()
        interrupted = recover(self.store)
        if interrupted:
            log.warning("%d job(s) were cut short by the last stop and are now interrupted "
                        "(retry them): %s", len(interrupted), ", ".join(interrupted))
        self.scheduler.start()

    def close(self) -> None:
        self.scheduler.stop()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _take_lock(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / ".serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(f"another adcut serve is using {self.data_dir}",
                              hint="stop it, or give this one another --data folder") from None
        self._lock_fd = fd

    def _remove_incoming(self) -> None:
        """Uploads a stopped server was receiving (hidden `.incoming/*.part` files): never
        registered, so nobody else knows them; this server holds the workspace's lock."""
        for part in [*self.data_dir.glob("libraries/*/media/.incoming/*.part"),
                     *self.data_dir.glob("assets/.incoming/*.part")]:
            part.unlink(missing_ok=True)

    def _register_libraries(self) -> None:
        for folder in self.settings.libraries:
            library_id = "lib_" + sha1(str(folder).encode()).hexdigest()[:12]
            with self.store.tx() as con:
                con.execute("INSERT OR IGNORE INTO libraries VALUES (?,?,?,?,?,?)",
                            (library_id, folder.name or str(folder), str(folder),
                             str(self.data_dir / "libraries" / library_id / "media"), 1, now()))


def check_data_dir_free(data_dir: Path) -> None:
    """Refuse (OutputError, one line) when another server holds this data folder."""
    lock = Path(data_dir) / ".serve.lock"
    if not lock.exists():
        return
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise OutputError(f"another adcut serve is using {data_dir}",
                          hint="stop it, or give this one another --data folder") from None
    finally:
        os.close(fd)


def create_app(settings: ServeSettings):
    """The application for `settings` (resolved to real paths here)."""
    from fastapi import FastAPI

    from adcut.serve.api import briefs, edits, jobs, libraries, system
    from adcut.serve.errors import install_handlers
    from adcut.serve.page import install_page
    from adcut.serve.security import Guard

    settings = settings.resolved()
    store = Store(settings.db_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store.create()
    scheduler = Scheduler(store, {"render": settings.render_slots,
                                  "ingest": settings.ingest_slots},
                          settings.data_dir / "logs", grace_s=settings.cancel_grace_s,
                          poll_s=settings.poll_s)
    studio = Studio(settings, store, scheduler)

    @asynccontextmanager
    async def lifespan(app):
        studio.open()
        log.info("adcut studio: data in %s; libraries: %s", settings.data_dir,
                 ", ".join(str(p) for p in settings.libraries) or "none given")
        try:
            yield
        finally:
            studio.close()

    app = FastAPI(title="adcut studio", version=__version__, lifespan=lifespan,
                  openapi_url=f"{API}/openapi.json", docs_url=None, redoc_url=None,
                  description="The REST API of `adcut serve`: libraries, ingest jobs, briefs, "
                              "edit jobs, variants, plans, renders and files. Every long "
                              "operation is a job with progress (GET or server-sent events) "
                              "and cancel.")
    app.state.studio = studio
    app.openapi = lambda: _openapi(app)
    install_handlers(app)
    for module in (system, libraries, briefs, jobs, edits):
        app.include_router(module.router, prefix=API)
    install_page(app)  # GET / and /static/: the studio page, which uses only the API
    app.add_middleware(Guard, settings=settings)
    return app


def _openapi(app) -> dict:
    """FastAPI's description, plus the schemas of the documents routes take raw (a plan is
    read as a hand-edited file is, so it is not a typed parameter)."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi
    from pydantic.json_schema import models_json_schema

    from adcut.core.plan import EditPlan
    from adcut.core.timeline import Timeline

    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    _, defs = models_json_schema([(EditPlan, "validation"), (Timeline, "validation")],
                                 ref_template="#/components/schemas/{model}")
    schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
    app.openapi_schema = schema
    return schema


def studio_of(request) -> Studio:
    return request.app.state.studio


def conflict(message: str, hint: str | None = None) -> ApiError:
    return ApiError(409, "conflict", message, hint)
