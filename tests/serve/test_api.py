"""The REST API of `adcut serve` over a real studio (tests/serve/conftest.py): libraries,
ingest jobs with per-file progress, clips, briefs, variants with preview renders and their
files, plans (GET, PUT, undo, redo, revisions), swap candidates, re-render, events, cancel."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="adcut serve's extra is not installed: pip install "
                                      "'adcut[serve]'")
pytest.importorskip("multipart", reason="python-multipart (adcut[serve]) is not installed")

import json  # after the skips: the serve extra may be absent
import os
import time
from pathlib import Path

from tests.serve.conftest import API, CLIPS, wait_job


def test_upload_ingests_each_file_with_its_progress(studio):
    files = studio.upload["files"]
    assert sorted(f["name"] for f in files) == sorted(CLIPS)
    for f in files:  # stored under names the server chose, in the library's media folder
        assert Path(f["path"]).name not in CLIPS and f["media"] == "video"
    detail = studio.ingest_job["detail"]["files"]
    assert sorted(d["name"] for d in detail) == sorted(CLIPS)
    assert all(d["status"] == "ingested" and d["progress"] == 1.0 for d in detail)
    assert studio.ingest_job["progress"] == 1.0
    assert studio.music_job["result"]["windows"] >= 1
    library = studio.client.get(f"{API}/libraries/{studio.library['id']}").json()
    assert library["ready"] and library["counts"]["clips"] == 4
    assert library["counts"]["music_tracks"] == 1 and library["active_jobs"] == []


def test_clips_browse_filter_thumbnail_and_playback(studio):
    c = studio.client
    lib = f"{API}/libraries/{studio.library['id']}"
    clips = c.get(f"{lib}/clips").json()
    assert clips["total"] == 4
    clip = clips["items"][0]
    assert clip["source_name"] in CLIPS and clip["duration_s"] == 2.0
    assert clip["media_url"].endswith("#t=0.000,2.000")
    word = clip["labels"][0].split()[0]
    found = c.get(f"{lib}/clips", params={"q": word.upper()}).json()
    assert clip["id"] in [x["id"] for x in found["items"]]
    assert c.get(f"{lib}/clips", params={"q": "no-such-words here"}).json()["total"] == 0
    thumb = c.get(clip["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    size = Path(clip["source"]).stat().st_size
    part = c.get(clip["media_url"].split("#")[0], headers={"Range": "bytes=10-109"})
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"] == f"bytes 10-109/{size}"
    assert part.content == Path(clip["source"]).read_bytes()[10:110]
    tracks = c.get(f"{lib}/tracks").json()
    assert len(tracks) == 1 and tracks[0]["windows"]
    assert c.get(tracks[0]["media_url"], headers={"Range": "bytes=0-3"}).content == b"RIFF"


def test_briefs_are_saved_reused_and_validated_like_the_cli(studio):
    c = studio.client
    saved = c.get(f"{API}/briefs/{studio.brief['id']}").json()
    assert saved["brief"]["product"] == "Spark running shoe" and saved["voice"] is True
    body = {"name": "", "voice": False, "brief": {**saved["brief"], "tone": "calm"}}
    updated = c.put(f"{API}/briefs/{studio.brief['id']}", json=body)
    assert updated.status_code == 200 and updated.json()["voice"] is False
    assert updated.json()["name"] == "Spark running shoe"  # an empty name: the product's
    bad = c.post(f"{API}/briefs", json={"brief": {"product": "x", "duration_s": 1000}})
    assert bad.status_code == 422
    assert "brief.duration_s" in bad.json()["error"]["message"]
    c.put(f"{API}/briefs/{studio.brief['id']}", json={"name": "spark", "brief": saved["brief"]})
    schema = c.get(f"{API}/schemas/brief").json()
    assert "product" in schema["properties"]


def test_variants_have_a_preview_with_every_file_and_qc(studio):
    c = studio.client
    assert [v["index"] for v in studio.variants] == [1, 2]
    assert studio.edit_job["result"]["variants"] == [v["id"] for v in studio.variants]
    for v in studio.variants:
        preview = v["preview"]
        assert preview["state"] == "done" and not preview["stale"] and v["full"] is None
        assert preview["qc_ok"] is True and v["qc_ok"] is True and v["qc"]
        assert preview["width"] < 1080 and v["poster_url"] == preview["files"]["poster"]
        assert set(preview["files"]) >= {"mp4", "poster", "srt", "otio", "timeline",
                                         "manifest", "qc", "plan"}
    files = studio.variants[0]["preview"]["files"]
    poster = c.get(files["poster"])
    assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"
    mp4 = c.get(files["mp4"], params={"download": 1})
    assert mp4.headers["content-type"] == "video/mp4" and mp4.content[4:8] == b"ftyp"
    assert 'attachment; filename="Spark-running-shoe-1-r1-preview.mp4"' == \
        mp4.headers["content-disposition"]
    assert json.loads(c.get(files["qc"]).content)["ok"] is True
    assert c.get(files["srt"]).text.startswith("1\n")


def test_plan_edit_undo_redo_and_the_cli_renders_the_saved_plan(studio):
    from adcut.render.export import load_document

    c = studio.client
    v = studio.variants[1]
    got = c.get(v["plan_url"])
    plan, etag = got.json(), got.headers["etag"]
    assert etag == '"1"' and plan["kind"] == "adcut.EditPlan"
    plan_file = Path(v["plan_file"])
    assert json.loads(plan_file.read_text()) == plan
    edited = {**plan, "shots": plan["shots"][::-1]}
    edited["shots"][0] = {**edited["shots"][0], "line": "Run light.", "spoken": None,
                          "transition": "fade", "out_s": edited["shots"][0]["out_s"] - 0.5}
    saved = c.put(v["plan_url"], json=edited, headers={"If-Match": etag})
    assert saved.status_code == 200, saved.text
    assert saved.json()["revision"] == 2 and saved.json()["can_undo"]
    # the file on the server is the plan the CLI's `adcut render` reads
    on_disk = load_document(plan_file)
    assert [s.clip_id for s in on_disk.shots] == [s["clip_id"] for s in edited["shots"]]
    assert on_disk.shots[0].line == "Run light." and on_disk.shots[0].transition == "fade"
    stale = c.put(v["plan_url"], json=plan, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "stale_revision"
    undone = c.post(f"{v['plan_url']}/undo").json()
    assert undone["revision"] == 1 and undone["can_redo"] and not undone["can_undo"]
    assert json.loads(plan_file.read_text()) == plan
    assert c.post(f"{v['plan_url']}/undo").status_code == 409
    assert c.post(f"{v['plan_url']}/redo").json()["revision"] == 2
    revs = c.get(f"{v['plan_url']}/revisions").json()
    assert [(r["revision"], r["parent"], r["current"]) for r in revs] == [(1, None, False),
                                                                          (2, 1, True)]
    assert c.get(f"{v['plan_url']}/revisions/1").json() == plan
    card = c.get(f"{API}/variants/{v['id']}").json()
    assert card["preview"]["stale"]  # the preview shows revision 1


def test_candidates_rank_clips_for_a_line_and_a_swap_saves(studio):
    c = studio.client
    v = studio.variants[0]
    out = c.get(f"{API}/variants/{v['id']}/shots/0/candidates", params={"limit": 4}).json()
    plan = c.get(v["plan_url"]).json()
    assert out["line"] == plan["shots"][0]["line"] and len(out["candidates"]) == 4
    current = [x for x in out["candidates"] if x["current"]]
    assert len(current) == 1 and current[0]["clip_id"] == plan["shots"][0]["clip_id"]
    scores = [x["line_score"] for x in out["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert any(x["selection_score"] is not None and x["why"] for x in out["candidates"])
    other = next(x for x in out["candidates"] if not x["in_plan"])
    plan["shots"][0] = {**plan["shots"][0], **other["shot"]}
    swapped = c.put(v["plan_url"], json=plan)
    assert swapped.status_code == 200, swapped.text
    assert c.get(v["plan_url"]).json()["shots"][0]["clip_id"] == other["clip_id"]
    assert c.get(f"{API}/variants/{v['id']}/shots/99/candidates").status_code == 404
    c.post(f"{v['plan_url']}/undo")


def test_job_events_stream_until_the_job_ends(studio):
    c = studio.client
    events = []
    with c.stream("GET", f"{API}/jobs/{studio.edit_job['id']}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert [e["state"] for e in events] == ["done"]
    with c.stream("GET", f"{API}/events", params={"since": 0, "timeout_s": 0.2}) as stream:
        ids = [line for line in stream.iter_lines() if line.startswith("id: ")]
    seqs = [int(line[4:]) for line in ids]  # every job's latest change since the start
    assert len(seqs) >= 3 and seqs == sorted(seqs)
    listed = c.get(f"{API}/jobs", params={"kind": "ingest"}).json()["items"]
    assert {j["id"] for j in listed} >= {studio.ingest_job["id"], studio.music_job["id"]}


def _group_alive(pgid: int) -> list[int]:
    """Processes still in process group `pgid`."""
    alive = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                alive.append(int(pid))
    return alive


def test_cancel_stops_a_running_render_and_its_ffmpeg(studio):
    c = studio.client
    v = studio.variants[0]
    started = c.post(f"{API}/variants/{v['id']}/renders", json={"quality": "full"}).json()
    job_id, render = started["job"]["id"], started["render"]
    deadline = time.monotonic() + 60
    while True:  # until ffmpeg is encoding (its progress reaches the job)
        job = c.get(f"{API}/jobs/{job_id}").json()
        if "done_s" in job["detail"] or job["state"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline, job
        time.sleep(0.02)
    assert job["state"] == "running", job
    pid = c.app.state.studio.store.one("SELECT pid FROM jobs WHERE id=?", (job_id,))["pid"]
    assert len(_group_alive(pid)) >= 2  # the worker and its ffmpeg
    t0 = time.monotonic()
    cancelling = c.post(f"{API}/jobs/{job_id}/cancel")
    assert cancelling.status_code == 202 and cancelling.json()["state"] == "cancelling"
    job = wait_job(c, job_id, timeout_s=10)
    assert job["state"] == "cancelled" and time.monotonic() - t0 < 6.0, job
    assert _group_alive(pid) == []
    folder = studio.data / "variants" / v["id"] / "renders" / render["id"]
    assert not folder.exists() or [p.name for p in folder.iterdir()] == []
    shown = c.get(f"{API}/renders/{render['id']}").json()
    assert shown["state"] == "cancelled" and shown["files"] == {}
    assert c.get(f"{API}/renders/{render['id']}/files/mp4").status_code == 404
    assert c.post(f"{API}/jobs/{job_id}/cancel").status_code == 409
    assert c.get(f"{API}/jobs/{job_id}").json()["can_retry"]


def test_openapi_describes_the_api(studio):
    spec = studio.client.get(f"{API}/openapi.json").json()
    assert {"/api/v1/variants/{variant_id}/plan", "/api/v1/jobs/{job_id}/events",
            "/api/v1/libraries/{library_id}/uploads"} <= set(spec["paths"])
    assert "EditPlan" in spec["components"]["schemas"]


def test_a_restart_loses_no_job_and_a_rerender_renders_the_current_plan(studio):
    """Jobs live in SQLite: one queued when the server stops runs after the restart; one the
    server was running when it died is interrupted, and retry runs it. The queued job is a
    re-render: a render job on the plan's current revision."""
    c = studio.client
    v = studio.variants[1]
    plan = c.get(v["plan_url"]).json()
    rev = c.get(f"{API}/variants/{v['id']}").json()["revision"]
    studio.app.state.studio.scheduler.paused = True  # nothing starts before the restart
    queued = c.post(f"{API}/variants/{v['id']}/renders", json={"quality": "preview"}).json()
    render = queued["render"]
    assert render["state"] == "queued" and render["revision"] == rev and not render["files"]
    cut = c.post(f"{API}/libraries/{studio.library['id']}/ingest",
                 json={"paths": ["bed.wav"], "kind": "music"}).json()
    store = studio.app.state.studio.store
    with store.tx() as con:  # as if its worker had been running when the server died
        con.execute("UPDATE jobs SET state='running', attempt=1 WHERE id=?", (cut["id"],))
    studio.restart()
    c = studio.client
    interrupted = c.get(f"{API}/jobs/{cut['id']}").json()
    assert interrupted["state"] == "interrupted" and interrupted["can_retry"]
    retry = c.post(f"{API}/jobs/{cut['id']}/retry")
    # back in the queue; the scheduler may already have taken it by the time the reply is read
    assert retry.status_code == 202 and retry.json()["state"] in ("queued", "running", "done")
    job = wait_job(c, queued["job"]["id"])
    assert job["state"] == "done" and job["render_id"] == render["id"], job
    retried = wait_job(c, cut["id"])
    assert retried["state"] == "done" and retried["attempt"] == 2, retried
    assert retried["detail"]["files"][0]["status"] == "unchanged"
    card = c.get(f"{API}/variants/{v['id']}").json()
    assert card["preview"]["id"] == render["id"] and not card["preview"]["stale"]
    rendered = c.get(card["preview"]["files"]["plan"]).json()
    assert [s["clip_id"] for s in rendered["shots"]] == [s["clip_id"] for s in plan["shots"]]
