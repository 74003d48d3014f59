"""What one `adcut serve` is configured with, and the checks made before it starts (pure).

The workspace (`data_dir`) holds everything the app writes: `studio.sqlite` (jobs, libraries,
briefs, variants, plan revisions, renders; SQLite in WAL mode), `libraries/` (libraries made
through the API and the media uploaded into any library), `variants/` (each variant's current
`plan.json` and its renders), `assets/` (brief images), `inbox/` (an import root: put footage
there to ingest it by path) and `logs/` (one log per job). Its default is
`$ADCUT_DATA`, else `$XDG_DATA_HOME/adcut/studio` (`~/.local/share/adcut/studio`): data a user
keeps, not a cache.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from adcut.core.errors import BadInputError

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
MIN_TOKEN_CHARS = 16
DEFAULT_MAX_UPLOAD_MB = 2048  # one upload request; phone footage runs to hundreds of MB
TOKEN_ENV = "ADCUT_TOKEN"
DATA_ENV = "ADCUT_DATA"
ROOTS_ENV = "ADCUT_ROOTS"
TOKEN_COOKIE = "adcut_token"
TOKEN_QUERY = "token"


def default_data_dir() -> Path:
    """$ADCUT_DATA, else $XDG_DATA_HOME/adcut/studio, else ~/.local/share/adcut/studio."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "adcut" / "studio"


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the app on this machine (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServeSettings:
    """Everything `create_app` needs. Paths are absolute after `resolved()`."""

    data_dir: Path = field(default_factory=default_data_dir)
    libraries: tuple[Path, ...] = ()  # --library: existing (or new) library folders to offer
    import_roots: tuple[Path, ...] = ()  # folders the API may ingest from by path (+ inbox/)
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB << 20
    max_json_bytes: int = 4 << 20  # a plan or a brief: far below this
    render_slots: int = 1  # edit and render jobs at once
    ingest_slots: int = 1  # ingest jobs at once
    cancel_grace_s: float = 5.0  # SIGTERM, then SIGKILL after this long
    poll_s: float = 0.2  # how often the scheduler looks at the jobs table
    sse_poll_s: float = 0.25  # how often an event stream looks for changes
    allowed_hosts: tuple[str, ...] = ()  # Host headers accepted without a token (see security)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "studio.sqlite"

    @property
    def inbox(self) -> Path:
        return self.data_dir / "inbox"

    @property
    def all_import_roots(self) -> tuple[Path, ...]:
        return (self.inbox, *self.import_roots)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def resolved(self) -> ServeSettings:
        """The settings with absolute, symlink-free folders (what every containment check
        compares against)."""
        def real(p: Path) -> Path:
            return Path(os.path.realpath(Path(p).expanduser()))

        return replace(self, data_dir=real(self.data_dir),
                       libraries=tuple(real(p) for p in self.libraries),
                       import_roots=tuple(real(p) for p in self.import_roots))


def check_settings(s: ServeSettings) -> None:
    """Refuse a configuration that must not start, each with one line (BadInputError)."""
    if s.token is not None and (len(s.token) < MIN_TOKEN_CHARS or not s.token.isprintable()
                                or any(c.isspace() for c in s.token)):
        raise BadInputError(
            f"the token must be at least {MIN_TOKEN_CHARS} printable characters without "
            "spaces", hint='make one with: python -c "import secrets; '
                           'print(secrets.token_urlsafe(24))"')
    if not s.loopback and not s.token:
        raise BadInputError(
            f"--host {s.host} makes the app reachable from other machines, so it needs a token",
            hint=f"set {TOKEN_ENV} or pass --token, or bind to 127.0.0.1")
    if not 0 < s.port < 65536:
        raise BadInputError(f"--port {s.port} is not a port number", hint="use 1 to 65535")
    if s.max_upload_bytes <= 0:
        raise BadInputError("the upload limit must be positive", hint="e.g. --max-upload-mb 2048")
    if s.render_slots < 1 or s.ingest_slots < 1:
        raise BadInputError("at least one job of each kind must be able to run",
                            hint="e.g. --render-jobs 1 --ingest-jobs 1")
    for root in s.import_roots:
        if not Path(root).is_dir():
            raise BadInputError(f"import root {root} is not a folder",
                                hint="give --root an existing folder")
    if Path(s.data_dir).exists() and not Path(s.data_dir).is_dir():
        raise BadInputError(f"--data {s.data_dir} is a file", hint="give a folder")


def roots_from_env() -> tuple[Path, ...]:
    """$ADCUT_ROOTS: import roots separated like PATH."""
    raw = os.environ.get(ROOTS_ENV, "")
    return tuple(Path(p) for p in raw.split(os.pathsep) if p.strip())
