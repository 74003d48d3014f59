"""`adcut serve` under load, on loopback: latency, time to the first preview, memory.

    .venv/bin/python benchmarks/serve.py [--clients 50] [--requests 40] [--json]

Starts a real server (`python -m adcut serve`, uvicorn, 127.0.0.1 on a free port, a
temporary workspace) over the demo library (the one `adcut demo` builds in the cache; built
here the same way when it is missing) and measures:

1. server memory at rest (RSS of the server process, after start-up and a few requests);
2. the time from POSTing "make 3 variants" (the demo's brief) to the first variant whose
   preview is playable (its render done and its MP4 answering a byte range);
3. while renders run (the edit's other previews, then a full render), status and listing
   latency: `--clients` concurrent clients each make `--requests` requests, round robin over
   GET /jobs/ID (status), GET /jobs, GET /variants and GET /libraries/ID/clips (listings);
   p50 / p95 / max per kind, and whether a render job ran throughout;
4. memory during the renders: the server's RSS, and the server with its job workers and their
   ffmpeg children (sampled every 0.2 s).

Bounded: at most clients x requests requests, every wait has a time limit, the server is
stopped and its workspace removed at the end. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
HOST = "127.0.0.1"


def demo_library() -> Path:
    """The demo's library (built by `adcut demo`), built here the same way when missing."""
    from adcut.core.files import cache_dir
    from adcut.demo import stage_media
    from adcut.library.ingest import IngestOptions, ingest

    folder = cache_dir() / "demo"
    library = folder / "library"
    if (library / "catalog.sqlite").exists():
        return library
    footage, music = stage_media(folder)
    for paths, options in (([footage], IngestOptions(asr=None)),
                           ([music], IngestOptions(music=True))):
        report = ingest(paths, library, options)
        if report.exit_code != 0:
            raise SystemExit(f"the demo library could not be built: {report.to_json()}")
    return library


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_mb(pid: int, with_children: bool = False) -> float:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc] + (proc.children(recursive=True) if with_children else [])
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / 2**20
    except psutil.NoSuchProcess:
        return 0.0


class Sampler:
    """RSS of the server alone and of the server with its workers, every 0.2 s."""

    def __init__(self, pid: int):
        self.pid, self.server, self.total = pid, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.server.append(rss_mb(self.pid))
            self.total.append(rss_mb(self.pid, with_children=True))
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def wait_for(predicate, timeout_s: float, what: str, every_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise SystemExit(f"timed out after {timeout_s:.0f} s waiting for {what}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def load(base: str, paths: list[str], clients: int, requests: int) -> dict:
    """`clients` concurrent clients, `requests` each, round robin over `paths`."""
    import httpx

    timings: dict[str, list[float]] = {p: [] for p in paths}
    errors = 0

    async def client(k: int):
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            for i in range(requests):
                path = paths[(k + i) % len(paths)]
                t0 = time.perf_counter()
                r = await c.get(path)
                timings[path].append((time.perf_counter() - t0) * 1000)
                errors += r.status_code != 200

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    wall = time.perf_counter() - t0
    out = {}
    for path, values in timings.items():
        out[path] = {"n": len(values), "p50_ms": round(statistics.median(values), 1),
                     "p95_ms": round(pct(values, 0.95), 1), "max_ms": round(max(values), 1)}
    every = [v for values in timings.values() for v in values]
    out["all"] = {"n": len(every), "p50_ms": round(statistics.median(every), 1),
                  "p95_ms": round(pct(every, 0.95), 1), "max_ms": round(max(every), 1),
                  "errors": errors, "wall_s": round(wall, 2),
                  "requests_per_s": round(len(every) / wall, 1)}
    return out


def main() -> None:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="per client")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.clients <= 200 or not 1 <= args.requests <= 500:
        raise SystemExit("--clients 1-200, --requests 1-500")

    library = demo_library()
    workspace = Path(tempfile.mkdtemp(prefix="adcut-serve-bench-"))
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("ADCUT_TOKEN", None)
    server = subprocess.Popen([sys.executable, "-m", "adcut", "serve", "--library", str(library),
                               "--data", str(workspace / "data"), "--host", HOST,
                               "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    report: dict = {"clients": args.clients, "requests_per_client": args.requests}
    try:
        c = httpx.Client(base_url=base, timeout=30)

        def up():
            try:
                return c.get("/api/v1/info").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, "the server to start")
        lib = c.get("/api/v1/libraries").json()[0]
        for _ in range(5):
            c.get("/api/v1/libraries")
            c.get(f"/api/v1/libraries/{lib['id']}/clips")
        time.sleep(0.5)
        report["rss_at_rest_mb"] = round(rss_mb(server.pid), 1)

        from adcut.core.brief import load_brief
        from adcut.demo import BRIEF

        brief = json.loads(load_brief(str(BRIEF)).model_dump_json())
        saved = c.post("/api/v1/briefs", json={"name": "demo", "brief": brief}).json()
        with Sampler(server.pid) as memory:
            t0 = time.monotonic()
            edit = c.post("/api/v1/edits", json={"library_id": lib["id"],
                                                 "brief_id": saved["id"], "variants": 3})
            edit_job = edit.json()["job"]["id"]

            def first_preview():
                for v in c.get("/api/v1/variants", params={"edit_job_id": edit_job}).json():
                    if v["preview"] and v["preview"]["state"] == "done":
                        return v
                job = c.get(f"/api/v1/jobs/{edit_job}").json()
                if job["state"] in ("failed", "cancelled"):
                    raise SystemExit(f"the edit failed: {job['error']}")
                return None

            variant = wait_for(first_preview, 600, "the first preview", every_s=0.05)
            mp4 = c.get(variant["preview"]["files"]["mp4"], headers={"Range": "bytes=0-1023"})
            assert mp4.status_code == 206, mp4.status_code
            report["first_preview_s"] = round(time.monotonic() - t0, 2)
            report["first_preview"] = {"variant": variant["index"],
                                       "duration_s": variant["preview"]["duration_s"],
                                       "size": f"{variant['preview']['width']}x"
                                               f"{variant['preview']['height']}"}
            # a full render queued behind the edit's remaining previews: renders run throughout
            c.post(f"/api/v1/variants/{variant['id']}/renders", json={"quality": "full"})
            active = lambda: [j["kind"] for j in c.get(
                "/api/v1/jobs", params={"state": "running"}).json()["items"]]
            before = active()
            paths = [f"/api/v1/jobs/{edit_job}", "/api/v1/jobs?limit=50",
                     f"/api/v1/variants?edit_job_id={edit_job}",
                     f"/api/v1/libraries/{lib['id']}/clips"]
            latency = asyncio.run(load(base, paths, args.clients, args.requests))
            after = active()
            report["latency_while_rendering"] = latency
            report["render_running"] = {"at_start": before, "at_end": after}
            wait_for(lambda: c.get(f"/api/v1/jobs/{edit_job}").json()["state"] == "done",
                     900, "the edit's three previews")
            report["all_three_previews_s"] = round(time.monotonic() - t0, 2)
        report["rss_during_render_mb"] = {
            "server_max": round(max(memory.server), 1),
            "server_with_workers_max": round(max(memory.total), 1)}
        report["rss_after_mb"] = round(rss_mb(server.pid), 1)
        c.close()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workspace, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    lat = report["latency_while_rendering"]
    print(f"server RSS at rest: {report['rss_at_rest_mb']} MB; during renders: "
          f"{report['rss_during_render_mb']['server_max']} MB (with workers and ffmpeg: "
          f"{report['rss_during_render_mb']['server_with_workers_max']} MB)")
    print(f"make 3 variants -> first playable preview: {report['first_preview_s']} s "
          f"(all three previews: {report['all_three_previews_s']} s)")
    print(f"{args.clients} clients x {args.requests} requests while rendering "
          f"(running: {report['render_running']['at_start']} -> "
          f"{report['render_running']['at_end']}):")
    for path, row in lat.items():
        print(f"  {path:<55} p50 {row['p50_ms']:>7} ms  p95 {row['p95_ms']:>7} ms  "
              f"max {row['max_ms']:>7} ms  (n={row['n']})")
    print(f"  {lat['all']['requests_per_s']} requests/s, {lat['all']['errors']} errors")


if __name__ == "__main__":
    main()
