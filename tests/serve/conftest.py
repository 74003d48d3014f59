"""One small studio for the whole package: an `adcut serve` app (real FastAPI, SQLite, job
workers in child processes, ffmpeg) over a library made through its own API: footage uploaded
(4 two-second clips), music ingested by path from the inbox, a saved brief and an edit of 2
variants with their preview renders. Built once (about 10 s); the tests read it, edit plans
and start jobs of their own."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from adcut.serve.settings import ServeSettings
from tests import synth

try:
    from fastapi.testclient import TestClient
except ImportError:  # adcut[serve] is absent: the modules that need it skip themselves
    TestClient = None

SERVE_EXTRA = "adcut serve's extra is not installed: pip install 'adcut[serve]'"

API = "/api/v1"
BASE_URL = "http://127.0.0.1:8000"
TERMINAL = ("done", "failed", "cancelled", "interrupted")
CLIPS = {"shoe.mp4": "red", "run.mp4": "blue", "road.mp4": "yellow", "cat.mp4": "gray"}
MAX_UPLOAD_MB = 1


def wait_job(client, job_id: str, *, until=TERMINAL, timeout_s: float = 60.0) -> dict:
    """Poll a job until its state is one of `until`."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = client.get(f"{API}/jobs/{job_id}").json()
        if job["state"] in until:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['state']}: {job}")
        time.sleep(0.05)


def settings_for(root: Path, **kw) -> ServeSettings:
    return ServeSettings(data_dir=root / "data", max_upload_bytes=MAX_UPLOAD_MB << 20,
                         poll_s=0.05, sse_poll_s=0.05, cancel_grace_s=3.0, **kw)


@dataclass
class Studio:
    root: Path
    settings: ServeSettings
    client: object  # fastapi.testclient.TestClient
    library: dict
    brief: dict
    upload: dict
    ingest_job: dict
    music_job: dict
    edit_job: dict
    variants: list[dict]

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def app(self):
        return self.client.app

    def restart(self) -> None:
        """Stop the server (its lifespan ends: running jobs are stopped) and start a new one
        on the same workspace, as `adcut serve` run again would."""
        from adcut.serve.app import create_app

        self.client.__exit__(None, None, None)
        self.client = TestClient(create_app(self.settings), base_url=BASE_URL)
        self.client.__enter__()


@pytest.fixture(scope="package")
def studio(tmp_path_factory):
    from adcut.serve.app import create_app

    root = tmp_path_factory.mktemp("studio")
    footage = root / "footage"
    footage.mkdir()
    for name, colour in CLIPS.items():
        synth.color_shots(footage / name, [colour], [2.0], size=(160, 90), audio="none")
    settings = settings_for(root)
    settings.inbox.mkdir(parents=True)
    synth.tone(settings.inbox / "bed.wav", freq_hz=330, duration_s=20, amplitude=0.2)
    client = TestClient(create_app(settings), base_url=BASE_URL)
    client.__enter__()
    try:
        library = client.post(f"{API}/libraries", json={"name": "Spark shoes"}).json()
        lib = f"{API}/libraries/{library['id']}"
        upload = client.post(f"{lib}/uploads", data={"asr": "none", "ocr": "none"}, files=[
            ("files", (name, (footage / name).read_bytes(), "video/mp4")) for name in CLIPS])
        assert upload.status_code == 201, upload.text
        music = client.post(f"{lib}/ingest", json={"paths": ["bed.wav"], "kind": "music"})
        assert music.status_code == 202, music.text
        ingest_job = wait_job(client, upload.json()["job"]["id"])
        music_job = wait_job(client, music.json()["id"])
        assert ingest_job["state"] == music_job["state"] == "done", (ingest_job, music_job)
        brief = client.post(f"{API}/briefs", json={"name": "spark", "brief": {
            "product": "Spark running shoe", "brand": "Spark",
            "selling_points": ["light running shoe", "fast on every road"],
            "duration_s": 6, "call_to_action": "Get yours today"}}).json()
        edit = client.post(f"{API}/edits", json={"library_id": library["id"],
                                                 "brief_id": brief["id"], "variants": 2})
        assert edit.status_code == 202, edit.text
        edit_job = wait_job(client, edit.json()["job"]["id"])
        assert edit_job["state"] == "done", edit_job
        variants = client.get(f"{API}/variants",
                              params={"edit_job_id": edit_job["id"]}).json()
        studio = Studio(root, settings, client, library, brief, upload.json(), ingest_job,
                        music_job, edit_job, sorted(variants, key=lambda v: v["index"]))
    except BaseException:
        client.__exit__(None, None, None)
        raise
    yield studio
    studio.client.__exit__(None, None, None)
