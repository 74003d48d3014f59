"""A command's output files, written as one group: all of them, or none.

A render writes an MP4 and its companions (.srt, .otio, .timeline.json, .manifest.json,
.qc.json); an edit adds the plan. `OutputGroup` makes that one unit:

- before any work it refuses a member that exists (without `force`), a member that is one of
  the command's sources (even with `force`: adcut never writes over its own inputs), a member
  that is a folder, and a folder that is missing or cannot be written;
- it locks every member (a hidden lock file beside it, `flock`), so a second command writing
  the same output is refused with a line instead of silently replacing the first one's work;
- holding the locks, it removes what a killed earlier run on the same outputs left behind
  (hidden temporary files named after these members);
- members are written under hidden temporary names in their own folder and `commit()` renames
  them into place, the primary (the MP4) last, so whoever sees the primary sees the whole set;
- a member may be a folder (`folders=`: the voice clips an .otio refers to, OUT.voice/): it is
  filled under a hidden temporary name too and renamed into place whole, an earlier one of the
  same name (with `force`) moved aside and removed only after;
  leaving the `with` block without `commit()` (an error, Ctrl-C) removes every temporary file.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path

from adcut.core.errors import OutputError
from adcut.core.interrupts import interrupts_deferred, stop_if_interrupted

PART = "adcut-part"  # marks temporary files and folders: .{tag}.{token}.adcut-part{suffix}
LOCK = "adcut-lock"  # .{tag}.adcut-lock beside the member it guards
_MAX_TAG = 180  # longer names are tagged by a hash, so temporary names stay under NAME_MAX


def _tag(name: str) -> str:
    if len(name.encode("utf-8", "surrogateescape")) <= _MAX_TAG:
        return name
    return "adcut-" + hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _is_part_of(name: str, member: str) -> bool:
    """Whether `name` is one of the temporary names `temp`/`temp_dir` give out for `member`:
    exactly `.{tag}.{8 hex}.adcut-part{suffix}` or `...adcut-parts`, so the temporary files of
    another output whose name merely starts the same (`ad.mp4.x`) are never taken for ours."""
    prefix = f".{_tag(member)}."
    if not name.startswith(prefix):
        return False
    token, dot, rest = name[len(prefix):].partition(".")
    return (dot == "." and len(token) == 8 and all(c in "0123456789abcdef" for c in token)
            and rest in (f"{PART}{Path(member).suffix}", f"{PART}s"))


def leftovers(path: Path) -> list[Path]:
    """Temporary files and folders an earlier run left for the output `path`."""
    folder = path.parent
    try:
        names = os.listdir(folder if str(folder) else ".")
    except OSError:
        return []
    return sorted(folder / n for n in names if _is_part_of(n, path.name))


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def write_error(final: Path, exc: OSError) -> OutputError:
    """The one line for a failed write of member `final` (its temporary name means nothing to
    the user)."""
    if exc.errno in _NO_SPACE:
        return OutputError(f"no space left on the device while writing {final}",
                           hint="free space or choose another -o")
    return OutputError(f"cannot write {final} ({exc.strerror or exc})",
                       hint="choose another output folder or fix its permissions")


class OutputGroup:
    """The outputs of one command. Use as a context manager; call `commit()` when every
    member is written."""

    def __init__(self, members: dict[str, Path], *, force: bool = False,
                 sources: Iterable[Path] = (), primary: str | None = None,
                 folders: Iterable[str] = ()):
        if not members:
            raise ValueError("an output group needs at least one member")
        self.members = {key: Path(p) for key, p in members.items()}
        self.folders = frozenset(k for k in folders if k in self.members)
        self.force = force
        self.sources = [Path(s) for s in sources]
        self.primary = primary or next(iter(self.members))
        self._temps: dict[str, Path] = {}
        self._temp_dirs: list[Path] = []
        self._locks: list[tuple[Path, int]] = []
        self._committed = False

    # -- refusing before any work -------------------------------------------------------------
    def check(self) -> None:
        """Every refusal that can be decided without writing (see the module docstring)."""
        for key, path in self.members.items():
            for source in self.sources:
                if _same_file(path, source):
                    raise OutputError(
                        f"{path} is one of this command's own inputs; adcut never writes over "
                        "them, not even with --force", hint="choose another output name")
            if key in self.folders:
                if path.exists() and not path.is_dir():
                    raise OutputError(f"{path} is a file where a folder of the output goes",
                                      hint="move it, or choose another output name")
            elif path.is_dir():
                raise OutputError(f"{path} is a folder", hint="give the path of a file")
            if path.name in ("", ".", ".."):
                raise OutputError(f"{path} is not a file name", hint="give the path of a file")
            folder = path.parent
            if not folder.is_dir():
                raise OutputError(f"output folder {folder} does not exist", hint="create it first")
            if (path.exists() or path.is_symlink()) and not self.force:
                what = "" if key == self.primary else f" (the {key} file written beside "\
                                                      f"{self.members[self.primary].name})"
                raise OutputError(f"{path} already exists{what}",
                                  hint="pass --force to replace it, or choose another output name")

    def __enter__(self) -> OutputGroup:
        self.check()
        try:
            # A Ctrl-C between creating a lock file and recording it would leave the file
            # behind: it takes effect once every lock is recorded (and so released below).
            with interrupts_deferred():
                for path in sorted({p.absolute() for p in self.members.values()}):
                    self._lock(path)
            # Again under the locks: a command that held them a moment ago may have just
            # committed these very files.
            self.check()
            for path in self.members.values():
                for stale in leftovers(path):
                    if stale.is_dir():
                        shutil.rmtree(stale, ignore_errors=True)
                    else:
                        stale.unlink(missing_ok=True)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self._committed:
                self.discard()
        finally:
            for d in self._temp_dirs:
                shutil.rmtree(d, ignore_errors=True)
            self._release()

    # -- locks ------------------------------------------------------------------------------
    def _lock(self, path: Path) -> None:
        lock_path = path.with_name(f".{_tag(path.name)}.{LOCK}")
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise OutputError(
                    f"output folder {path.parent} is not writable ({exc.strerror})",
                    hint="choose another output folder or fix its permissions") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise OutputError(
                        f"{path} is being written by another adcut command right now",
                        hint="wait for it to finish, or choose another output name") from None
                raise
            # The previous holder unlinks the lock file when it is done; a lock on an unlinked
            # file guards nothing, so take it again on the file now at that name.
            try:
                if os.fstat(fd).st_ino == os.stat(lock_path).st_ino:
                    self._locks.append((lock_path, fd))
                    return
            except FileNotFoundError:
                pass
            os.close(fd)

    def _release(self) -> None:
        with interrupts_deferred():  # every lock file goes, even under a second Ctrl-C
            for lock_path, fd in reversed(self._locks):
                try:
                    lock_path.unlink(missing_ok=True)
                except OSError:
                    pass
                os.close(fd)
            self._locks.clear()

    # -- temporary files --------------------------------------------------------------------
    def path(self, key: str) -> Path:
        return self.members[key]

    def temp(self, key: str) -> Path:
        """An empty temporary file for member `key`, in its folder, with its extension (ffmpeg
        picks the muxer from it) and the permissions of any new file of the user (0666 less
        the umask, unlike mkstemp's 0600). Asking again gives a fresh one."""
        final = self.members[key]
        old = self._temps.pop(key, None)
        if old is not None:
            old.unlink(missing_ok=True)
        for _ in range(100):
            temp = final.with_name(f".{_tag(final.name)}.{secrets.token_hex(4)}.{PART}"
                                   f"{final.suffix}")
            try:
                os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            except FileExistsError:
                continue
            except OSError as exc:
                raise OutputError(f"cannot write in {final.parent} ({exc.strerror})",
                                  hint="choose another output folder or fix its permissions") from None
            self._temps[key] = temp
            return temp
        raise OutputError(f"no free temporary name beside {final}")

    def temp_dir(self, key: str) -> Path:
        """A hidden folder beside member `key` for intermediate files; removed on exit."""
        final = self.members[key]
        for _ in range(100):
            folder = final.with_name(f".{_tag(final.name)}.{secrets.token_hex(4)}.{PART}s")
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise write_error(final, exc) from None
            self._temp_dirs.append(folder)
            return folder
        raise OutputError(f"no free temporary name beside {final}")

    def write_folder(self, key: str, files: dict[str, Path]) -> Path:
        """Fill folder member `key` in full: a hidden temporary folder holding a copy of each
        file under its name (`files`: name -> file to copy)."""
        final = self.members[key]
        old = self._temps.pop(key, None)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        for _ in range(100):
            temp = final.with_name(f".{_tag(final.name)}.{secrets.token_hex(4)}.{PART}"
                                   f"{final.suffix}")
            try:
                temp.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise write_error(final, exc) from None
            break
        else:
            raise OutputError(f"no free temporary name beside {final}")
        self._temps[key] = temp
        try:
            for name, source in files.items():
                shutil.copyfile(source, temp / name)
        except OSError as exc:
            raise write_error(final / name, exc) from None
        return temp

    def write(self, key: str, data: bytes) -> Path:
        """Write member `key` in full to its temporary file (flushed to disk)."""
        temp = self.temp(key)
        try:
            with open(temp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:  # a full disk shows here (or at close): name the member
            raise write_error(self.members[key], exc) from None
        return temp

    def written(self, key: str) -> bool:
        return key in self._temps

    # -- finishing --------------------------------------------------------------------------
    def commit(self) -> None:
        """Rename every written member into place, the primary last. With `force`, a member
        that this run did not write but an earlier one did (a subtitle file of an ad that now
        has no captions) is removed, so the set on disk is this run's set."""
        stop_if_interrupted()  # a stopped command never puts its outputs in place
        order = [k for k in self.members if k != self.primary] + [self.primary]
        for key in order:
            final = self.members[key]
            temp = self._temps.get(key)
            if key in self.folders:
                self._commit_folder(final, temp)
            elif temp is not None:
                os.replace(temp, final)
            elif self.force and final.is_file():
                final.unlink()
        self._temps.clear()
        self._committed = True

    def _commit_folder(self, final: Path, temp: Path | None) -> None:
        """Put a folder member in place: the old one (this run's to replace: existing members
        are refused without force) goes aside under a temporary name, then away."""
        aside = None
        if final.is_dir() and (temp is not None or self.force):
            aside = final.with_name(f".{_tag(final.name)}.{secrets.token_hex(4)}.{PART}s")
            os.replace(final, aside)
        if temp is not None:
            os.replace(temp, final)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)

    def discard(self) -> None:
        """Remove every temporary file (and folder) written so far."""
        for temp in self._temps.values():
            try:
                if temp.is_dir():
                    shutil.rmtree(temp, ignore_errors=True)
                else:
                    temp.unlink(missing_ok=True)
            except OSError:
                pass
        self._temps.clear()
