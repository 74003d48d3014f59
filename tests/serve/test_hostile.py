"""Hostile input to `adcut serve`: missing or wrong tokens off loopback, another site's
requests, path traversal (.., absolute, symlinks, encoded), oversized and fake uploads,
malformed and hostile plans, unknown ids. Each refusal is a 4xx with one JSON line and a
hint, never a traceback, and leaves the disk as it was."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="adcut serve's extra is not installed: pip install "
                                      "'adcut[serve]'")
pytest.importorskip("multipart", reason="python-multipart (adcut[serve]) is not installed")

import json  # after the skips: the serve extra may be absent
import os
from pathlib import Path

from fastapi.testclient import TestClient

from adcut.serve.app import create_app
from adcut.serve.settings import ServeSettings
from tests import synth
from tests.serve.conftest import API, BASE_URL, MAX_UPLOAD_MB

hostile = pytest.mark.hostile
TOKEN = "s3cret-token-for-the-tests-0123"


def refused(response, status: int, code: str | None = None) -> dict:
    """The response is the one JSON error shape, one line, no traceback."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status and error["message"] and error["hint"]
    assert "\n" not in error["message"] and "Traceback" not in response.text
    if code:
        assert error["code"] == code, error
    return error


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and mtime (to show nothing changed)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() and not p.name.endswith(("-wal", "-shm"))
            and p.name != "studio.sqlite" and p.suffix != ".log"}


# -- access ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """An app configured for 0.0.0.0 with a token (no lifespan needed: access is checked
    before any route)."""
    data = tmp_path_factory.mktemp("guarded") / "data"
    return TestClient(create_app(ServeSettings(data_dir=data, host="0.0.0.0", token=TOKEN)),
                      base_url="http://192.0.2.10:8000")


@hostile("message")
@pytest.mark.parametrize("headers, query", [
    ({}, ""),
    ({"Authorization": "Bearer wrong-token-wrong-token"}, ""),
    ({"Authorization": f"Basic {TOKEN}"}, ""),
    ({"Cookie": "adcut_token=nope"}, ""),
    ({}, "?token="),
    ({}, f"?token={TOKEN[:-1]}"),
])
def test_a_wrong_or_missing_token_is_refused_on_every_route(guarded, headers, query):
    for path in (f"{API}/libraries", f"{API}/openapi.json", "/", f"{API}/jobs/job_0123456789ab"):
        error = refused(guarded.get(path + query, headers=headers), 401, "unauthorized")
        assert "token" in error["message"] + error["hint"]
    refused(guarded.post(f"{API}/libraries" + query, json={"name": "x"}, headers=headers), 401)


@hostile("message")
def test_the_token_works_as_header_cookie_or_query(guarded):
    assert guarded.get(f"{API}/libraries",
                       headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    page = guarded.get(f"/?token={TOKEN}")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"adcut_token={TOKEN};") and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert guarded.get(f"{API}/libraries",
                       headers={"Cookie": f"adcut_token={TOKEN}"}).status_code == 200


@hostile("message")
def test_serve_refuses_to_start_off_loopback_without_a_token(monkeypatch, tmp_path):
    from tests.in_process import run

    monkeypatch.delenv("ADCUT_TOKEN", raising=False)
    result = run("serve", "--host", "0.0.0.0", "--data", tmp_path / "d")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "needs a token" in result.stderr and "ADCUT_TOKEN" in result.stderr
    result = run("serve", "--host", "0.0.0.0", "--token", "short", "--data", tmp_path / "d")
    assert result.exit_code == 2 and "at least 16" in result.stderr
    assert not (tmp_path / "d").exists()


@hostile("message")
def test_another_site_cannot_reach_a_loopback_server(studio):
    c = studio.client
    refused(c.get(f"{API}/libraries", headers={"Host": "evil.example:8000"}), 400, "bad_host")
    refused(c.post(f"{API}/libraries", json={"name": "x"},
                   headers={"Origin": "http://evil.example"}), 403, "cross_origin")
    assert c.post(f"{API}/libraries", json={"name": "ok"},
                  headers={"Origin": BASE_URL}).status_code == 201


# -- paths -------------------------------------------------------------------------------------

@pytest.fixture
def escape(studio, tmp_path):
    """Links in the inbox that lead out of the roots: one to a folder, one inside a folder."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(Path(studio.upload["files"][0]["path"]).read_bytes())
    inbox = studio.data / "inbox"
    (inbox / "link").symlink_to(outside, target_is_directory=True)
    (inbox / "mixed").mkdir()
    (inbox / "mixed" / "ok.wav").write_bytes((inbox / "bed.wav").read_bytes())
    (inbox / "mixed" / "leak.wav").symlink_to(outside / "secret.mp4")
    yield inbox
    for p in (inbox / "link", inbox / "mixed" / "leak.wav", inbox / "mixed" / "ok.wav"):
        p.unlink()
    (inbox / "mixed").rmdir()


@hostile("library")
@pytest.mark.parametrize("path", ["../../../../etc", "/etc/passwd", "../libraries",
                                  "link", "link/secret.mp4", "mixed", "%2e%2e/%2e%2e/etc",
                                  "bed.wav\x00.mp4", "/proc/self/environ"])
def test_ingest_paths_cannot_leave_the_roots(studio, escape, path):
    c = studio.client
    before = snapshot(studio.data)
    jobs = len(c.get(f"{API}/jobs").json()["items"])
    response = c.post(f"{API}/libraries/{studio.library['id']}/ingest",
                      json={"paths": [path], "kind": "music"})
    assert response.status_code in (400, 403, 404), response.text
    refused(response, response.status_code)
    assert snapshot(studio.data) == before
    assert len(c.get(f"{API}/jobs").json()["items"]) == jobs


@hostile("library")
@pytest.mark.parametrize("path", ["..", "/", "link", "../../../etc"])
def test_the_folder_browser_stays_in_the_roots(studio, escape, path):
    refused(studio.client.get(f"{API}/roots/browse", params={"path": path}), 403,
            "outside_roots")
    listed = studio.client.get(f"{API}/roots/browse", params={"path": str(escape)}).json()
    assert "link" not in [e["name"] for e in listed["entries"]]  # a link that leads out


@hostile("library")
@pytest.mark.parametrize("url", [
    "/libraries/%2e%2e%2f%2e%2e%2fetc/clips",
    "/libraries/..%2F..%2Fetc%2Fpasswd",
    "/libraries/{lib}/clips/..%2F..%2F..%2Fetc%2Fpasswd/media",
    "/libraries/{lib}/clips/f0000000000000000-0001/media",
    "/renders/rnd_000000000000/files/mp4",
    "/renders/rnd_000000000000/files/..%2Fad.mp4",
    "/variants/var_000000000000/plan",
    "/jobs/job_000000000000",
    "/jobs/job_%00",
    "/briefs/../../etc/passwd",
    "/assets/ast_000000000000/file",
])
def test_unknown_or_crafted_ids_are_404(studio, url):
    refused(studio.client.get(API + url.format(lib=studio.library["id"])), 404)


@hostile("library")
def test_a_brief_cannot_point_at_files_outside_the_roots(studio, tmp_path):
    image = tmp_path / "p.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    for images in (["/etc/passwd"], [str(image)], ["../../../../etc/hosts"]):
        refused(studio.client.post(f"{API}/briefs", json={"brief": {
            "product": "x", "product_images": images}}), 403, "outside_roots")


# -- uploads -----------------------------------------------------------------------------------

def _upload(studio, files, kind="footage"):
    return studio.client.post(f"{API}/libraries/{studio.library['id']}/uploads",
                              files=files, data={"kind": kind, "ingest": "false"})


@hostile("half-written")
def test_an_oversized_upload_is_refused_and_leaves_nothing(studio):
    media = Path(studio.upload["files"][0]["path"]).parent.parent
    before = snapshot(studio.data)
    big = os.urandom((MAX_UPLOAD_MB << 20) + 4096)
    error = refused(_upload(studio, [("files", ("big.mp4", big, "video/mp4"))]), 413, "too_large")
    assert "upload" in error["message"] and "--max-upload-mb" in error["hint"]
    # several files that pass one by one but not together
    half = os.urandom((MAX_UPLOAD_MB << 19) - 1000)
    refused(_upload(studio, [("files", (f"{k}.mp4", half, "video/mp4")) for k in range(3)]),
            413, "too_large")
    assert snapshot(studio.data) == before
    assert not [p for p in (media / ".incoming").iterdir()]


@hostile("half-written")
@pytest.mark.parametrize("name, content, kind", [
    ("ad.mp4", b"this is not a video, only text renamed .mp4\n" * 20, "footage"),
    ("ad.mp4", b"", "footage"),
    ("page.mp4", b"<html><script>alert(1)</script></html>", "footage"),
    ("song.mp3", b"ID3" + b"\x00" * 500, "music"),
    ("bed.mp4", None, "footage"),  # real audio, sent as footage: no picture
])
def test_a_file_that_is_not_media_of_its_kind_is_refused(studio, tmp_path, name, content, kind):
    synth.tone(tmp_path / "short.wav", duration_s=0.3)
    audio = (tmp_path / "short.wav").read_bytes()
    content = audio if content is None else content
    good = audio if kind == "music" else Path(studio.upload["files"][0]["path"]).read_bytes()
    before = snapshot(studio.data)
    # one good file and one bad one: the whole upload is refused, nothing is kept
    error = refused(_upload(studio, [("files", ("good.mp4", good, "video/mp4")),
                                     ("files", (name, content, "video/mp4"))], kind),
                    415, "unsupported_media")
    assert name in error["message"]
    assert snapshot(studio.data) == before


# -- plans -------------------------------------------------------------------------------------

def _shot(plan, **change):
    return {**plan, "shots": [{**plan["shots"][0], **change}, *plan["shots"][1:]]}


HOSTILE_PLANS = [
    ("not json", lambda p: b"{'kind': 'adcut.EditPlan',", 422, "line 1"),
    ("a list", lambda p: b"[1, 2, 3]", 422, "JSON object"),
    ("a timeline", lambda p: {**p, "kind": "adcut.Timeline"}, 422, "adcut.Timeline"),
    ("unknown key", lambda p: {**p, "rm_rf": True}, 422, "rm_rf"),
    ("no shots", lambda p: {**p, "shots": []}, 422, "shots"),
    ("NaN", lambda p: json.dumps(_shot(p, in_s=float("nan"))).encode(), 422, "in_s"),
    ("huge line", lambda p: _shot(p, line="x" * 100_000), 422, "line"),
    ("bad transition", lambda p: _shot(p, transition="; rm -rf /"), 422, "transition"),
    ("out past the end", lambda p: _shot(p, out_s=999.0), 422, "beyond the end"),
    ("other footage", lambda p: _shot(p, source=str(Path(p["music"]["source"]))), 422, "footage"),
    ("clip of another file", lambda p: _shot(p, clip_id=p["shots"][1]["clip_id"]), 422, "clip"),
    ("etc passwd", lambda p: _shot(p, source="/etc/passwd"), 403, "/etc/passwd"),
    ("relative escape", lambda p: _shot(p, source="../../../../../../etc/passwd"), 403, "etc"),
    ("music elsewhere", lambda p: {**p, "music": {**p["music"], "source": "/etc/hostname"}},
     403, "music.source"),
    ("font elsewhere", lambda p: {**p, "subtitles": {**p["subtitles"],
                                                     "font_file": "/etc/fonts/x.ttf"}},
     403, "font_file"),
    ("logo elsewhere", lambda p: {**p, "end_card": {**(p["end_card"] or {}),
                                                    "logo": "/root/.ssh/id_rsa"}}, 403, "logo"),
    ("voice model elsewhere", lambda p: {**p, "voice": {**p["voice"], "voice": "/tmp/x.onnx"}},
     403, "voice"),
    ("too large", lambda p: b'{"shots": "' + b"x" * (5 << 20) + b'"}', 413, "larger"),
    ("not utf-8", lambda p: b"\xff\xfe\x00{", 422, "plan"),
]


@hostile("traceback")
@pytest.mark.parametrize("what, make, status, needle", HOSTILE_PLANS,
                         ids=[h[0] for h in HOSTILE_PLANS])
def test_a_malformed_or_hostile_plan_is_refused_and_changes_nothing(studio, what, make,
                                                                    status, needle):
    c = studio.client
    v = studio.variants[0]
    got = c.get(v["plan_url"])
    plan = got.json()
    plan_file = Path(v["plan_file"])
    before = plan_file.read_bytes()
    body = make(plan)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = c.put(v["plan_url"], content=content,
                     headers={"Content-Type": "application/json"})
    error = refused(response, status)
    assert needle in error["message"], error
    assert plan_file.read_bytes() == before
    assert c.get(v["plan_url"]).headers["etag"] == got.headers["etag"]


@hostile("message")
def test_bad_requests_get_one_line(studio):
    c = studio.client
    refused(c.post(f"{API}/edits", json={"library_id": studio.library["id"]}), 422)
    refused(c.post(f"{API}/edits", json={"library_id": "lib_000000000000",
                                        "brief_id": studio.brief["id"]}), 404)
    refused(c.post(f"{API}/edits", json={"library_id": studio.library["id"],
                                        "brief_id": studio.brief["id"], "variants": 500}), 422)
    refused(c.post(f"{API}/libraries", content=b"{", headers={"Content-Type":
                                                               "application/json"}), 422)
    refused(c.post(f"{API}/jobs/{studio.edit_job['id']}/retry"), 409, "conflict")
    refused(c.delete(f"{API}/libraries"), 405)
    refused(c.get(f"{API}/jobs", params={"limit": -1}), 422)
