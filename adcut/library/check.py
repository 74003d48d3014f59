"""Verify a library against its catalog, and repair what can be derived again.

`find_problems` compares everything a library holds with what its catalog records:

- the catalog file itself (SQLite's integrity_check);
- every embedding array: present, a readable .npy of the recorded shape and float16, one row
  per clip / frame / music window, one encoder per kind of embedding; with `deep`, its values
  too (finite unit vectors);
- every FAISS index: readable, the catalog's vector ids, dimension and encoder;
- every clip's thumbnail;
- every source file: still where it was ingested, with the same size and mtime;
- with `deep`, files the catalog does not know (left by a killed run) in emb/, thumbs/, index/.

`repair_library` holds the library's writer lock and rebuilds what is derived data: indexes
from the arrays, arrays and thumbnails by ingesting their source files again (with the
encoders and options the library was built with) when those files are still there unchanged,
and removes leftovers. What it cannot repair (a source file that is gone, a damaged catalog)
is said with what to do.

The cheap form (`deep=False`, used by `adcut library info`) reads headers only: SQLite's
integrity check, one small read per array, the index headers, one folder listing for the
thumbnails; no vectors are loaded.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from adcut.core.errors import AdcutError, LibraryError
from adcut.library.catalog import CATALOG_NAME, Catalog, CatalogDamagedError
from adcut.library.index import (INDEXES, catalog_encoder, catalog_vectors, check_index_file,
                                 index_ids, index_paths, load_index, sync_index)
from adcut.library.lock import is_locked, library_lock
from adcut.library.looks import LOOKS_DIR
from adcut.library.store import (EMB_DIR, INDEX_DIR, THUMB_DIR, DamagedFileError, array_problem,
                                 load_embeddings)

# How a problem is repaired: by ingesting its source file again, by rebuilding an index from
# the arrays, by removing a leftover file; "" when it cannot be derived again.
REINGEST, REBUILD, REMOVE = "reingest", "rebuild", "remove"
UNIT_NORM_TOLERANCE = 0.02  # float16 unit vectors keep their norm within about 1e-3
ROWS_OF = {"clips": "clips", "texts": "clips", "frames": "frames", "windows": "music windows"}


@dataclass(frozen=True)
class Problem:
    what: str  # catalog | array | encoders | index | thumbnail | source | leftover
    subject: str  # the file or the thing concerned
    detail: str  # what is wrong with it
    fix: str = ""  # REINGEST | REBUILD | REMOVE | "" (cannot be derived again)
    source_id: str | None = None  # the source a REINGEST ingests again
    source_path: str | None = None  # its file, named on an array's line

    @property
    def line(self) -> str:
        of = f" (source {self.source_path})" if self.what == "array" and self.source_path else ""
        return f"{self.what:<9} {self.subject}: {self.detail}{of}"

    @property
    def short(self) -> str:
        """What is wrong, for the line of the file ingested again to repair it."""
        return f"{self.subject} was {self.detail}" if self.what == "array" else self.detail


@dataclass
class CheckReport:
    library: str
    problems: list[Problem]
    elapsed_s: float
    checked: dict[str, int] = field(default_factory=dict)  # what was looked at, counted
    notes: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # lines: what --repair did
    unrepaired: list[str] = field(default_factory=list)  # lines: problems left, and why

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else 1

    @property
    def catalog_damaged(self) -> bool:
        return any(p.what == "catalog" for p in self.problems)

    def to_json(self) -> dict:
        return {"library": self.library, "healthy": self.healthy,
                "elapsed_s": round(self.elapsed_s, 3), "checked": self.checked,
                "problems": [asdict(p) for p in self.problems], "notes": self.notes,
                "repaired": self.repaired, "unrepaired": self.unrepaired}


def damaged_catalog_advice(folder: Path) -> str:
    return (f"the catalog cannot be repaired: move the library aside (mv {folder} "
            f"{folder}.damaged) and ingest your footage and music again into a new library")


# -- finding problems ------------------------------------------------------------------------

def find_problems(catalog: Catalog, *, deep: bool, writer_active: bool = False,
                  checked: dict[str, int] | None = None) -> list[Problem]:
    """Everything wrong with the library of `catalog` (see the module docstring). `checked`
    receives counts of what was looked at."""
    folder = catalog.folder
    checked = {} if checked is None else checked
    damage = catalog.integrity_problems(quick=False)
    if damage:
        detail = "; ".join(damage[:3]) + (f" (and {len(damage) - 3} more)" if len(damage) > 3 else "")
        return [Problem("catalog", str(folder / CATALOG_NAME), f"damaged: {detail}")]
    try:
        problems = _arrays(catalog, deep, checked)
        problems += _indexes(catalog, deep, checked)
        problems += _thumbnails(catalog, deep, checked)
        problems += _sources(catalog, checked)
        if deep and not writer_active:
            problems += _leftovers(catalog)
    except CatalogDamagedError as exc:  # a page integrity_check passed but a read failed
        return [Problem("catalog", str(folder / CATALOG_NAME), f"damaged: {exc.message}")]
    return problems


def _arrays(catalog: Catalog, deep: bool, checked: dict[str, int]) -> list[Problem]:
    folder = catalog.folder
    problems: list[Problem] = []
    # How many rows each array must have: one per clip, frame or music window of its source.
    expected_rows: dict[tuple[str, str], int] = {}
    for kind, table in (("clips", "clips"), ("texts", "clips"), ("frames", "frames"),
                        ("windows", "music_windows")):
        for source_id, count in catalog.con.execute(
                f"SELECT source_id, COUNT(*) FROM {table} GROUP BY source_id"):
            expected_rows[(source_id, kind)] = count
    encoders: dict[str, set[tuple[str, str]]] = {}
    records = catalog.embeddings()
    checked["arrays"] = len(records)
    for r in records:
        encoders.setdefault(r["kind"], set()).add((r["encoder"], r["encoder_version"]))
        rel, source_id = r["path"], r["source_id"]
        problem = array_problem(folder, rel, r["rows"], r["dim"])
        if problem is None:
            wanted = expected_rows.get((source_id, r["kind"]), 0)
            if r["rows"] != wanted:
                problem = (f"recorded with {r['rows']} rows for the {wanted} "
                           f"{ROWS_OF.get(r['kind'], r['kind'])} of its source")
        if problem is None and deep:
            problem = _array_values_problem(folder, rel, r["rows"], r["dim"])
        if problem is not None:
            problems.append(Problem("array", rel, problem, REINGEST, source_id,
                                    r["source_path"]))
    for kind, found in sorted(encoders.items()):
        if len(found) > 1:
            names = ", ".join(f"{name} ({version})" for name, version in sorted(found))
            problems.append(Problem(
                "encoders", f"{kind} embeddings",
                f"made by {len(found)} encoders ({names}); vectors of different encoders cannot "
                "be compared: ingest everything again into a new library with one encoder"))
    return problems


def _array_values_problem(folder: Path, rel: str, rows: int, dim: int) -> str | None:
    try:
        vectors = load_embeddings(folder, rel, rows, dim)
    except DamagedFileError as exc:
        return exc.detail
    if not np.isfinite(vectors).all():
        return "damaged (it holds values that are not numbers)"
    norms = np.linalg.norm(vectors, axis=1)
    bad = (np.abs(norms - 1.0) > UNIT_NORM_TOLERANCE) & (norms != 0.0)
    if bad.any():
        return f"damaged ({int(bad.sum())} of {rows} rows are not unit vectors)"
    return None


def _indexes(catalog: Catalog, deep: bool, checked: dict[str, int]) -> list[Problem]:
    folder = catalog.folder
    problems: list[Problem] = []
    checked["indexes"] = 0
    for name, (_, kind) in INDEXES.items():
        index_path = _rel(folder, index_paths(folder, name)[0])
        wanted = catalog_vectors(catalog, name)
        encoder = catalog_encoder(catalog, name)
        dims = {r[0] for r in catalog.con.execute(
            "SELECT DISTINCT dim FROM embeddings WHERE kind = ?", (kind,))}
        try:
            header, info = check_index_file(folder, name)
            if deep and header is not None:
                index, info = load_index(folder, name)
        except DamagedFileError as exc:
            problems.append(Problem("index", _rel(folder, exc.path), exc.detail, REBUILD))
            continue
        if header is None:
            if wanted:
                problems.append(Problem("index", index_path,
                                        f"missing (the catalog has {len(wanted)} vectors for it)",
                                        REBUILD))
            continue
        checked["indexes"] += 1
        detail = None
        if header.count != len(wanted):
            detail = f"holds {header.count} vectors, the catalog has {len(wanted)}"
        elif dims and header.dim not in dims:
            detail = f"is {header.dim}-d, the catalog's vectors are {min(dims)}-d"
        elif encoder is not None and [info.get("encoder"), info.get("encoder_version")] != \
                list(encoder):
            detail = (f"was built with {info.get('encoder')} ({info.get('encoder_version')}), "
                      f"the catalog's vectors with {encoder[0]} ({encoder[1]})")
        elif deep and index_ids(index) != set(wanted):
            detail = "holds other vector ids than the catalog's"
        if detail is not None:
            problems.append(Problem("index", index_path, detail, REBUILD))
    return problems


def _rel(folder: Path, path: Path) -> str:
    """A library file as the catalog names it: relative to the library folder."""
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return str(path)


def _thumbnails(catalog: Catalog, deep: bool, checked: dict[str, int]) -> list[Problem]:
    folder = catalog.folder
    try:
        present = {f"{THUMB_DIR}/{name}" for name in os.listdir(folder / THUMB_DIR)}
    except OSError:
        present = set()
    by_source: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    rows = catalog.thumbs()
    checked["thumbnails"] = len(rows)
    for r in rows:
        if not r["thumb"]:  # a clip stored without a thumbnail (none was expected)
            continue
        by_source.setdefault(r["source_id"], []).append(r["thumb"])
        ok = r["thumb"] in present
        if ok and deep:
            try:
                ok = (folder / r["thumb"]).stat().st_size > 0
            except OSError:
                ok = False
        if not ok:
            missing.setdefault(r["source_id"], []).append(r["thumb"])
    problems = []
    for source_id, thumbs in missing.items():
        source = catalog.source_by_id(source_id)
        names = ", ".join(thumbs[:2]) + (", ..." if len(thumbs) > 2 else "")
        problems.append(Problem("thumbnail", source["path"],
                                f"{len(thumbs)} of {len(by_source[source_id])} thumbnails "
                                f"missing or empty ({names})", REINGEST, source_id,
                                source["path"]))
    return problems


def _sources(catalog: Catalog, checked: dict[str, int]) -> list[Problem]:
    problems = []
    sources = catalog.sources()
    checked["sources"] = len(sources)
    for s in sources:
        try:
            st = os.stat(s["path"])
        except OSError:
            problems.append(Problem("source", s["path"], "gone (moved or deleted since ingest)"))
            continue
        if st.st_size != s["size_bytes"] or st.st_mtime_ns != s["mtime_ns"]:
            problems.append(Problem(
                "source", s["path"],
                f"changed since ingest (run `adcut ingest {s['path']}"
                f"{' --music' if s['kind'] == 'music' else ''} --library {catalog.folder}` "
                "to update the library)"))
    return problems


def _leftovers(catalog: Catalog) -> list[Problem]:
    """Files in the library's folders that the catalog does not know."""
    folder = catalog.folder
    known = {r["path"] for r in catalog.embeddings()} | {r["thumb"] for r in catalog.thumbs()}
    known |= {f"{LOOKS_DIR}/{r['id']}.npz" for r in catalog.sources("footage")}
    for name in INDEXES:
        for path in index_paths(folder, name):
            known.add(str(path.relative_to(folder)))
    problems = []
    for sub in (EMB_DIR, THUMB_DIR, INDEX_DIR, LOOKS_DIR):
        try:
            names = sorted(os.listdir(folder / sub))
        except OSError:
            continue
        for name in names:
            rel = f"{sub}/{name}"
            if rel not in known:
                what = "a temporary file of an interrupted write" if name.startswith(".") \
                    else "not in the catalog (left by an interrupted ingest)"
                problems.append(Problem("leftover", rel, what, REMOVE))
    return problems


# -- the commands ----------------------------------------------------------------------------

def _open(folder: Path, *, write: bool) -> Catalog:
    folder = Path(folder)
    if not (folder / CATALOG_NAME).is_file():
        raise LibraryError(f"{folder} is not an adcut library (no {CATALOG_NAME})",
                           hint="give the folder an `adcut ingest --library` wrote")
    return Catalog(folder, create=False) if write else Catalog(folder, readonly=True)


def check_library(folder: Path, *, deep: bool = True) -> CheckReport:
    """What is wrong with a library (exit code 0 healthy, 1 problems). Not a library at all
    is a LibraryError."""
    started = time.perf_counter()
    folder = Path(folder)
    checked: dict[str, int] = {}
    notes = []
    writer_active = is_locked(folder)
    if writer_active:
        notes.append("another adcut is writing to this library; what it is adding may show as "
                     "problems until it finishes")
    try:
        with _open(folder, write=False) as catalog:
            problems = find_problems(catalog, deep=deep, writer_active=writer_active,
                                     checked=checked)
    except CatalogDamagedError as exc:
        problems = [Problem("catalog", str(folder / CATALOG_NAME), f"damaged: {exc.message}")]
    return CheckReport(str(folder), problems, time.perf_counter() - started, checked, notes)


def repair_library(folder: Path, *, on_wait: Callable[[str], None] | None = None,
                   progress=None) -> CheckReport:
    """Repair what can be derived again (see the module docstring), holding the writer lock;
    the report's problems are those left afterwards, each with why in `unrepaired`."""
    started = time.perf_counter()
    folder = Path(folder)
    _open(folder, write=False).close()  # not a library: a LibraryError, before any lock file
    repaired: list[str] = []
    reasons: dict[tuple[str, str], str] = {}  # (what, subject) -> why it was not repaired
    checked: dict[str, int] = {}
    with library_lock(folder, purpose="adcut library check --repair", on_wait=on_wait):
        try:
            catalog = _open(folder, write=True)
        except CatalogDamagedError as exc:
            catalog = None
            left = [Problem("catalog", str(folder / CATALOG_NAME), f"damaged: {exc.message}")]
        if catalog is not None:
            with catalog:
                problems = find_problems(catalog, deep=True)
                if problems and problems[0].what == "catalog" and _reindex(catalog):
                    repaired.append(f"reindexed {folder / CATALOG_NAME} (its indexes disagreed "
                                    "with their tables)")
                    problems = find_problems(catalog, deep=True)
                if problems and problems[0].what == "catalog":
                    left = problems
                else:
                    for p in problems:
                        if p.fix == REMOVE:
                            _remove_leftover(folder / p.subject)
                            repaired.append(f"removed   {p.subject} ({p.detail})")
                    _reingest(catalog, problems, repaired, reasons, progress)
                    for name in INDEXES:
                        index_path = _rel(folder, index_paths(folder, name)[0])
                        try:
                            report = sync_index(catalog, name)
                        except AdcutError as exc:
                            reasons[("index", index_path)] = str(exc)
                            continue
                        if report.rebuilt or report.added or report.removed:
                            why = report.rebuilt or (f"{report.added} vectors added, "
                                                     f"{report.removed} removed")
                            repaired.append(f"rebuilt   {index_path} ({why}; now "
                                            f"{report.total} vectors)")
                    left = find_problems(catalog, deep=True, checked=checked)
    unrepaired = [f"{p.line} ({reasons.get((p.what, p.subject)) or _why_not(p, folder)})"
                  for p in left]
    return CheckReport(str(folder), left, time.perf_counter() - started, checked,
                       repaired=repaired, unrepaired=unrepaired)


INDEX_DAMAGE = ("missing from index", "wrong # of entries in index", "non-unique entry in index")


def _reindex(catalog: Catalog) -> bool:
    """Rebuild the catalog's SQL indexes when they are all that integrity_check faults (the
    tables are whole); True when that made the catalog pass."""
    damage = catalog.integrity_problems()
    if not damage or not all(any(m in line for m in INDEX_DAMAGE) for line in damage):
        return False
    try:
        with catalog.transaction() as con:
            con.execute("REINDEX")
    except LibraryError:
        return False
    return not catalog.integrity_problems()


def _why_not(problem: Problem, folder: Path) -> str:
    """Why a problem left after a repair could not be repaired, and what to do."""
    if problem.what == "catalog":
        return damaged_catalog_advice(folder)
    if problem.what == "source":
        return "adcut does not change your files; this is only for you to know"
    if problem.what == "encoders":
        return "not repairable in place"
    return ("still wrong after the repair: move the library aside and ingest your footage "
            "and music again into a new library")


def _remove_leftover(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _reingest(catalog: Catalog, problems: list[Problem], repaired: list[str],
              reasons: dict[tuple[str, str], str], progress) -> None:
    """Ingest again the source files whose arrays or thumbnails are broken, when they are
    still there with the size and mtime they had at ingest."""
    from adcut.library.ingest import Ingester

    broken: dict[str, list[Problem]] = {}
    for p in problems:
        if p.fix == REINGEST and p.source_id is not None:
            broken.setdefault(p.source_id, []).append(p)

    def cannot(found: list[Problem], why: str) -> None:
        for p in found:
            reasons[(p.what, p.subject)] = why

    by_kind: dict[str, list] = {}
    found_of: dict[str, list[Problem]] = {}
    for source_id, found in broken.items():
        source = catalog.source_by_id(source_id)
        path = Path(source["path"])
        try:
            st = path.stat()
        except OSError:
            cannot(found, f"its source {path} is gone, so it cannot be made again: put the "
                          f"file back and run `adcut library check --repair {catalog.folder}`")
            continue
        if st.st_size != source["size_bytes"] or st.st_mtime_ns != source["mtime_ns"]:
            cannot(found, f"its source {path} changed since ingest: run `adcut ingest {path} "
                          f"--library {catalog.folder}`")
            continue
        found_of[str(path)] = found
        by_kind.setdefault(source["kind"], []).append(
            (path, st, "; ".join(p.short for p in found)))
    for kind, todo in by_kind.items():
        try:
            options = ingest_options_of(catalog, kind)
            outcomes = Ingester(catalog.folder, options, progress).ingest_files(catalog, kind,
                                                                                todo)
        except LibraryError as exc:  # e.g. the encoders installed now are other versions
            for path, _, _ in todo:
                cannot(found_of[str(path)], str(exc))
            continue
        for o in outcomes:
            if o.status == "repaired":
                why = o.message.removesuffix("; ingested again")
                repaired.append(f"ingested  {o.path} again ({why})")
            else:
                cannot(found_of[o.path], f"ingesting {o.path} again: {o.status} "
                                         f"{o.message}".strip())


def ingest_options_of(catalog: Catalog, kind: str):
    """The IngestOptions a library's `kind` files were ingested with: as recorded at ingest,
    else (older libraries) the encoders named in the catalog and the default options."""
    from adcut.library.ingest import IngestOptions

    recorded = catalog.get_meta(f"{kind}_ingest_options")
    if recorded:
        try:
            o = json.loads(recorded)
            return IngestOptions(music=kind == "music", vision=o["vision"], audio=o["audio"],
                                 text=o["text"], asr=o["asr"], max_shot_s=o["max_shot_s"],
                                 min_shot_s=o["min_shot_s"], cut_threshold=o["cut_threshold"],
                                 ocr=o.get("ocr", "rapidocr"), still_s=o.get("still_s", 4.0))
        except (ValueError, KeyError, TypeError):
            pass
    names = {k: sorted(catalog.encoders_in_use(k)) for k in ("frames", "texts", "windows")}
    if kind == "music":
        audio = names["windows"][0][0] if names["windows"] else "yamnet"
        if audio != "yamnet":
            raise LibraryError(f"the music of this library was ingested with {audio}, whose "
                               "checkpoint path the catalog does not record",
                               hint="ingest the music again with --audio panns:CHECKPOINT")
        return IngestOptions(music=True, audio=audio)
    vision = names["frames"][0][0] if names["frames"] else "efficientnet-lite0"
    text = names["texts"][0][0] if names["texts"] else None
    asr = "tiny.en" if catalog.con.execute("SELECT 1 FROM words LIMIT 1").fetchone() else None
    return IngestOptions(vision=vision, text=text, asr=asr)

