"""Variants, their plan revisions and their renders, in the studio database and on disk.

A variant is one ad of an edit ("make N variants"). Its plan is kept as revisions: revision 1
is what the planner made; every PUT adds one whose `parent` is the revision it was edited from,
undo moves the variant back to that parent and redo forward again, and nothing is ever
deleted. The current revision is also written, atomically, to `DATA/variants/ID/plan.json`,
so `adcut render DATA/variants/ID/plan.json -o ad.mp4` renders exactly the edit the page
shows. Each render has a folder of its own (`DATA/variants/ID/renders/RID/`): `ad.mp4` with
the companions `adcut render` writes (`ad.srt`, `ad.otio`, `ad.timeline.json`,
`ad.manifest.json`, `ad.qc.json`, `ad.voice/`), the plan it rendered (`ad.plan.json`) and a
poster frame (`poster.jpg`). A render's files are listed by the API only once it is `done`.
"""

from __future__ import annotations

import json
from pathlib import Path

from adcut.core.files import write_atomic
from adcut.serve.store import Store, dumps, loads, new_id, now

RENDER_FILES = {  # API name -> (file in the render folder, media type)
    "mp4": ("ad.mp4", "video/mp4"),
    "poster": ("poster.jpg", "image/jpeg"),
    "srt": ("ad.srt", "application/x-subrip"),
    "otio": ("ad.otio", "application/json"),
    "timeline": ("ad.timeline.json", "application/json"),
    "manifest": ("ad.manifest.json", "application/json"),
    "qc": ("ad.qc.json", "application/json"),
    "plan": ("ad.plan.json", "application/json"),
}


def variants_dir(store: Store) -> Path:
    return store.path.parent / "variants"


def plan_text(plan) -> str:
    """An EditPlan as the JSON written to files (what `adcut edit --plan-only` writes)."""
    return plan.model_dump_json(indent=2)


def create_variant(store: Store, *, edit_job_id: str, library_id: str, brief_id: str | None,
                   idx: int, name: str, plan, explanation: dict) -> str:
    """A new variant with the planner's plan as revision 1 (its plan.json written first)."""
    variant_id = new_id("var")
    folder = variants_dir(store) / variant_id
    text = plan_text(plan)
    stamp = now()
    with store.tx() as con:
        write_atomic(folder / "plan.json", text.encode())
        con.execute("INSERT INTO variants VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (variant_id, edit_job_id, library_id, brief_id, idx, name, str(folder),
                     dumps(explanation), 1, stamp, stamp))
        con.execute("INSERT INTO revisions VALUES (?,?,?,?,?,?)",
                    (variant_id, 1, None, text, "made by the planner", stamp))
    return variant_id


def current_plan(store: Store, variant_id: str) -> tuple[int, str]:
    row = store.one("SELECT r.rev, r.plan FROM variants v JOIN revisions r "
                    "ON r.variant_id = v.id AND r.rev = v.current_rev WHERE v.id=?",
                    (variant_id,))
    if row is None:
        raise KeyError(variant_id)
    return row["rev"], row["plan"]


class RevisionConflict(Exception):
    """The variant's current revision is not the one the edit was based on."""


def save_revision(store: Store, variant_id: str, text: str, *, base: int | None,
                  note: str = "edited") -> int:
    """A new revision from `text` (a validated plan's JSON), based on the current one;
    `base` (from If-Match) must be the current revision when given."""
    with store.tx() as con:
        row = con.execute("SELECT current_rev, folder FROM variants WHERE id=?",
                          (variant_id,)).fetchone()
        if row is None:
            raise KeyError(variant_id)
        if base is not None and base != row["current_rev"]:
            raise RevisionConflict(row["current_rev"])
        rev = con.execute("SELECT MAX(rev) FROM revisions WHERE variant_id=?",
                          (variant_id,)).fetchone()[0] + 1
        stamp = now()
        con.execute("INSERT INTO revisions VALUES (?,?,?,?,?,?)",
                    (variant_id, rev, row["current_rev"], text, note, stamp))
        con.execute("UPDATE variants SET current_rev=?, updated_at=? WHERE id=?",
                    (rev, stamp, variant_id))
        write_atomic(Path(row["folder"]) / "plan.json", text.encode())
    return rev


def move(store: Store, variant_id: str, direction: str) -> int:
    """Undo (to the parent of the current revision) or redo (to the newest revision made from
    the current one). LookupError when there is nowhere to go."""
    with store.tx() as con:
        row = con.execute("SELECT current_rev, folder FROM variants WHERE id=?",
                          (variant_id,)).fetchone()
        if row is None:
            raise KeyError(variant_id)
        cur = row["current_rev"]
        if direction == "undo":
            target = con.execute("SELECT parent FROM revisions WHERE variant_id=? AND rev=?",
                                 (variant_id, cur)).fetchone()["parent"]
        else:
            child = con.execute("SELECT MAX(rev) FROM revisions WHERE variant_id=? AND parent=?",
                                (variant_id, cur)).fetchone()
            target = child[0] if child else None
        if target is None:
            raise LookupError(f"nothing to {direction}")
        text = con.execute("SELECT plan FROM revisions WHERE variant_id=? AND rev=?",
                           (variant_id, target)).fetchone()["plan"]
        con.execute("UPDATE variants SET current_rev=?, updated_at=? WHERE id=?",
                    (target, now(), variant_id))
        write_atomic(Path(row["folder"]) / "plan.json", text.encode())
    return target


def history(store: Store, variant_id: str) -> tuple[bool, bool]:
    """(can undo, can redo) of the variant's current revision."""
    row = store.one(
        "SELECT r.parent, (SELECT COUNT(*) FROM revisions c WHERE c.variant_id = v.id AND "
        "c.parent = v.current_rev) AS children FROM variants v JOIN revisions r "
        "ON r.variant_id = v.id AND r.rev = v.current_rev WHERE v.id=?", (variant_id,))
    return (row is not None and row["parent"] is not None,
            row is not None and row["children"] > 0)


def new_render(store: Store, variant_id: str, rev: int, quality: str, job_id: str,
               con=None) -> str:
    """A render row (files appear when its job is done)."""
    render_id = new_id("rnd")
    folder = variants_dir(store) / variant_id / "renders" / render_id
    args = (render_id, variant_id, rev, quality, job_id, str(folder), 0, None, now(), None)
    sql = "INSERT INTO renders VALUES (?,?,?,?,?,?,?,?,?,?)"
    store.write(sql, args, con)
    return render_id


def render_json(row, job_state: str | None, current_rev: int | None = None,
                base: str = "/api/v1") -> dict:
    """A render as the API shows it: its state (its job's, until every file is in place),
    QC, and the URL of each file once done."""
    result = loads(row["result"], {}) or {}
    done = bool(row["done"])
    files = {name: f"{base}/renders/{row['id']}/files/{name}" for name in RENDER_FILES} \
        if done else {}
    if done and not result.get("has_srt", True):
        files.pop("srt", None)
    return {
        "id": row["id"], "variant_id": row["variant_id"], "revision": row["rev"],
        "quality": row["quality"], "job_id": row["job_id"],
        "state": "done" if done else (job_state or "queued"),
        "stale": current_rev is not None and row["rev"] != current_rev,
        "created_at": row["created_at"], "finished_at": row["finished_at"],
        "duration_s": result.get("duration_s"), "width": result.get("width"),
        "height": result.get("height"), "qc_ok": result.get("qc_ok"),
        "qc": result.get("checks"), "notes": result.get("notes", []),
        "files": files,
        "poster_url": files.get("poster"),
    }


def renders_of(store: Store, variant_id: str) -> list:
    return store.all("SELECT r.*, j.state AS job_state FROM renders r LEFT JOIN jobs j "
                     "ON j.id = r.job_id WHERE r.variant_id=? ORDER BY r.created_at, r.rowid",
                     (variant_id,))


def variant_json(store: Store, row, base: str = "/api/v1") -> dict:
    """A variant card: its plan's revision and history, its newest preview and full render
    (each marked stale when made from another revision), the poster and the QC result of the
    newest finished render, and the jobs still working on it."""
    renders = renders_of(store, row["id"])
    current = row["current_rev"]
    shown = [render_json(r, r["job_state"], current, base) for r in renders]
    latest = {q: next((r for r in reversed(shown) if r["quality"] == q), None)
              for q in ("preview", "full")}
    finished = [r for r in shown if r["state"] == "done"]
    best = next((r for r in reversed(finished) if not r["stale"]), None) or \
        (finished[-1] if finished else None)
    can_undo, can_redo = history(store, row["id"])
    plan = loads(store.one("SELECT plan FROM revisions WHERE variant_id=? AND rev=?",
                           (row["id"], current))["plan"])
    return {
        "id": row["id"], "name": row["name"], "index": row["idx"],
        "edit_job_id": row["edit_job_id"], "library_id": row["library_id"],
        "brief_id": row["brief_id"], "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "revision": current, "can_undo": can_undo, "can_redo": can_redo,
        "shots": len(plan.get("shots", [])),
        "music": (plan.get("music") or {}).get("track_id"),
        "plan_url": f"{base}/variants/{row['id']}/plan",
        "plan_file": str(Path(row["folder"]) / "plan.json"),
        "preview": latest["preview"], "full": latest["full"],
        "poster_url": best["poster_url"] if best else None,
        "qc_ok": best["qc_ok"] if best else None, "qc": best["qc"] if best else None,
        "active_jobs": sorted({r["job_id"] for r in shown
                               if r["state"] in ("queued", "running", "cancelling")}),
    }


def explanation_of(store: Store, variant_id: str) -> dict:
    row = store.one("SELECT explanation FROM variants WHERE id=?", (variant_id,))
    return json.loads(row["explanation"]) if row else {}
