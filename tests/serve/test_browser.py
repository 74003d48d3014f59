"""The studio page in a real browser: Debian's headless `chromium`, driven through Selenium
and `chromedriver` (chromium-driver), against a real uvicorn server on 127.0.0.1 (a free
port, a temporary workspace). One browser for the module.

The whole flow as a user goes through it: upload footage (solid-colour clips, so each frame
says which clip it shows) and music -> watch the ingest in the page -> fill and save a brief ->
make variants -> open one in the editor -> reorder two shots (drag and drop, then the keyboard
buttons and undo) -> edit a line -> re-render -> download the MP4, whose frames must show the
new order. And the page behind a token: refused without it, working through the cookie after
opening /?token=T once.

`.ci/run` installs chromium and chromium-driver; elsewhere, without them, this module is
skipped with one line saying how to enable it. ADCUT_STUDIO_SCREENSHOTS=DIR saves a 1280x800
screenshot of each view there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Self

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ENABLE = ("browser tests skipped: install chromium and chromium-driver (apt-get install "
          "chromium chromium-driver) and selenium (scripts/setup.sh --dev)")
if not (CHROMIUM and DRIVER) or importlib.util.find_spec("selenium") is None:
    pytest.skip(ENABLE, allow_module_level=True)
pytest.importorskip("fastapi", reason="adcut serve's extra is not installed: pip install "
                                      "'adcut[serve]'")
pytest.importorskip("multipart", reason="python-multipart (adcut[serve]) is not installed")

from tests import synth  # (after the skips: selenium or the serve extra may be absent)
from tests.serve.conftest import CLIPS, settings_for

TOKEN = "browser-test-token-0123456789"
RGB = {"red": (255, 0, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0), "gray": (128, 128, 128)}
SHOTS = os.environ.get("ADCUT_STUDIO_SCREENSHOTS")


class LiveServer:
    """create_app(settings) on uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, settings, driver):
        import uvicorn

        from adcut.serve.app import create_app

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(settings), log_level="warning", access_log=False,
                                timeout_graceful_shutdown=1, lifespan="on")
        self.server = uvicorn.Server(config)
        self.driver = driver
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.driver.get("about:blank")  # the page closes its event stream (pagehide)
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,800", "--autoplay-policy=no-user-gesture-required",
                "--mute-audio", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


# -- helpers -----------------------------------------------------------------------------------

def until(driver, script: str, *args, timeout_s: float = 30.0, what: str = ""):
    """Run `script` (JavaScript returning a value) until its value is truthy; return it."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = driver.execute_script(script, *args)
        if value:
            return value
        if time.monotonic() > deadline:
            errors = [e["message"] for e in driver.get_log("browser")]
            text = driver.execute_script("return document.getElementById('view')?.innerText "
                                         "|| document.body.innerText")
            raise AssertionError(f"timed out waiting for {what or script}\npage: {text[:1500]}"
                                 f"\nconsole: {errors}")
        time.sleep(0.05)


def click(driver, css: str, root: str = "document"):
    """Click (a real, trusted click) the element `css` names, once it is there and enabled."""
    from selenium.webdriver.common.by import By

    until(driver, f"const e = {root}.querySelector(arguments[0]); return e && !e.disabled",
          css, what=f"{css} to be clickable")
    element = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()
    return element


def fill_in(driver, css: str, text: str):
    """Type over a field's text as a user does (select all, type): no change event between."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    element = driver.find_element(By.CSS_SELECTOR, css)
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(text if text else Keys.DELETE)
    return element


def screenshot(driver, name: str):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def no_console_errors(driver):
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def drag_shot(driver, source: int, target: int, *, below: bool):
    """Drag shot `source` by its handle onto the lower (or upper) half of shot `target`,
    as Chromium's own drag and drop does it (CDP Input.dispatchDragEvent: real dragenter,
    dragover and drop events with the drag data the page's dragstart puts there)."""
    box = driver.execute_script(
        "const r = document.querySelector(`#shots [data-shot='${arguments[0]}']`)"
        ".getBoundingClientRect(); return [r.left + r.width / 2, r.top, r.height]", target)
    x, y = box[0], box[1] + box[2] * (0.75 if below else 0.25)
    data = {"items": [{"mimeType": "application/x-adcut-shot", "data": str(source)},
                      {"mimeType": "text/plain", "data": f"shot {source + 1}"}],
            "dragOperationsMask": 16}
    for kind in ("dragEnter", "dragOver", "drop"):
        driver.execute_cdp_cmd("Input.dispatchDragEvent", {"type": kind, "x": x, "y": y,
                                                           "data": data})


def shot_clips(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#shots > li')].map(li => li.dataset.clip)")


def frame_colours(mp4: Path, timeline: dict) -> list[str]:
    """The nearest named colour of the middle frame of each timeline clip (its centre)."""
    import av
    import numpy as np

    wanted = {round(c["start_f"] + c["duration_f"] / 2) for c in timeline["clips"]}
    fps = timeline["fps"]
    seen: dict[int, str] = {}
    with av.open(str(mp4)) as container:
        for frame in container.decode(video=0):
            index = round(frame.time * fps)
            if index in wanted and index not in seen:
                rgb = frame.to_ndarray(format="rgb24")
                h, w, _ = rgb.shape
                mean = rgb[h // 3:2 * h // 3, w // 3:2 * w // 3].reshape(-1, 3).mean(axis=0)
                seen[index] = min(RGB, key=lambda n: float(np.sum((mean - RGB[n]) ** 2)))
    return [seen[round(c["start_f"] + c["duration_f"] / 2)] for c in timeline["clips"]]


# -- the whole flow ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def media(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("browser-media")
    for name, colour in CLIPS.items():
        synth.color_shots(folder / name, [colour], [2.0], size=(160, 90), audio="none")
    synth.tone(folder / "bed.m4a", freq_hz=330, duration_s=12, amplitude=0.2)
    return [folder / name for name in CLIPS] + [folder / "bed.m4a"]


def test_the_whole_flow_in_a_browser(browser, media, tmp_path):
    from selenium.webdriver.support.ui import Select

    d = browser
    with LiveServer(settings_for(tmp_path), d) as server:
        d.get(server.url + "/")
        until(d, "return document.getElementById('live').classList.contains('ok') && "
                 "document.querySelector('#view form input')", what="the page to start")
        # a library, then footage and music through the file input (quick ingest)
        fill_in(d, "#view form input", "Spark shoes")
        click(d, "#view form button[type=submit]")
        until(d, "return document.getElementById('file-input')", what="the library view")
        screenshot(d, "1-library-empty")
        for box in ("#opt-asr", "#opt-ocr"):
            click(d, box)
        d.find_element("css selector", "#file-input").send_keys("\n".join(map(str, media)))
        until(d, "return document.querySelectorAll('#ingest-jobs .job').length == 2 && "
                 "[...document.querySelectorAll('#ingest-jobs .job')].every(j => "
                 "j.dataset.state == 'done') && document.querySelectorAll('#clips .clip')"
                 ".length == 4 && document.querySelectorAll('#tracks .track').length == 1",
              timeout_s=60, what="the ingest to finish in the page")
        statuses = d.execute_script("return [...document.querySelectorAll('#ingest-jobs li')]"
                                    ".map(li => li.dataset.status)")
        assert statuses == ["ingested"] * 5
        names = d.execute_script("return [...document.querySelectorAll('#clips .clip h3')]"
                                 ".map(h => h.firstChild.textContent)")
        assert sorted(names) == sorted(CLIPS)
        until(d, "return [...document.querySelectorAll('#clips img')].every(i => "
                 "i.complete && i.naturalWidth > 0)", what="the thumbnails")
        fill_in(d, "#clip-filter", "shoe")
        until(d, "return document.querySelectorAll('#clips .clip').length == 1",
              what="the filter")
        fill_in(d, "#clip-filter", "")
        until(d, "return document.querySelectorAll('#clips .clip').length == 4")
        click(d, "#clips .clip .play")
        until(d, "const v = document.querySelector('#clips video'); return v && "
                 "v.readyState >= 1 && v.src.includes('#t=')", what="a clip to play")
        screenshot(d, "2-library")

        # a brief: filled, saved, listed
        click(d, "a[data-nav=brief]")
        until(d, "return document.getElementById('brief-form')")
        fill_in(d, "#brief-product", "Spark running shoe")
        fill_in(d, "#brief-brand", "Spark")
        fill_in(d, "#brief-selling_points", "Light as air\nFast on every road")
        fill_in(d, "#brief-duration_s", "6")
        Select(d.find_element("css selector", "#brief-aspect")).select_by_value("16:9")
        fill_in(d, "#brief-call_to_action", "Get yours today")
        click(d, "#brief-voice")  # subtitles only: a quicker render
        click(d, "#save-brief")
        until(d, "return /^#\\/brief\\/brf_/.test(location.hash) && "
                 "document.querySelectorAll('#brief-list li').length == 1", what="the save")
        assert d.execute_script("return document.getElementById('brief-voice').checked") is False
        screenshot(d, "3-brief")

        # make 2 variants: their cards get a poster and QC once their previews are rendered
        click(d, "#brief-make")
        until(d, "return document.getElementById('make-form')")
        fill_in(d, "#make-count", "2")
        click(d, "#make-variants")
        until(d, "const c = document.querySelectorAll('#variant-cards .card'); return c.length "
                 "== 2 && [...c].every(x => x.querySelector('.player img') && "
                 "x.querySelector('.qc.ok') && x.querySelector('a[data-file=mp4]'))",
              timeout_s=60, what="2 variants with their previews")
        for kind in ("mp4", "srt", "otio", "manifest", "qc"):
            assert d.execute_script(f"return document.querySelector('a[data-file={kind}]')")
        click(d, "#variant-cards .card .play")
        until(d, "const v = document.querySelector('#variant-cards video'); "
                 "return v && v.readyState >= 1", what="a preview to play in its card")
        screenshot(d, "4-variants")

        # the editor: drag shot 1 below shot 2, then keyboard buttons and undo
        click(d, "#variant-cards .card a.button.primary")
        until(d, "return document.querySelectorAll('#shots > li').length >= 2")
        first = shot_clips(d)
        drag_shot(d, 0, 1, below=True)
        swapped = [first[1], first[0], *first[2:]]
        assert swapped != first
        until(d, "return document.getElementById('revision').textContent.startsWith('revision 2')",
              what="the drop to be saved")
        assert shot_clips(d) == swapped
        last = len(first) - 1
        click(d, f"#shots [data-shot='{last}'] .move-up")
        until(d, "return document.getElementById('revision').textContent.startsWith('revision 3')")
        moved = swapped[:last - 1] + [swapped[last], swapped[last - 1]]
        assert shot_clips(d) == moved
        focused = d.execute_script("return document.activeElement.closest('li')?.dataset.shot")
        assert focused == str(last - 1)  # the focus follows the moved shot
        click(d, "#undo")
        until(d, "return document.getElementById('revision').textContent.startsWith('revision 2')"
                 " && !document.getElementById('redo').disabled", what="the undo")
        assert shot_clips(d) == swapped
        line = fill_in(d, "#line-0", "轻盈如风，快人一步")
        line.send_keys("\t")  # leaving the box saves the line
        until(d, "return document.getElementById('revision').textContent.startsWith('revision 4')")
        until(d, "return document.getElementById('stale-note')", what="the stale marker")
        screenshot(d, "5-editor")
        click(d, "#render-preview")
        until(d, "const p = document.querySelector('#editor-side .render-state.preview'); "
                 "return p && p.dataset.state == 'done' && p.dataset.stale == '0' && "
                 "!document.getElementById('stale-note')", timeout_s=60,
              what="the re-render")
        mp4_url = d.execute_script("return document.querySelector('#editor-side "
                                   "a[data-file=mp4]').href")
        assert mp4_url.endswith("/files/mp4?download=1")
        names = d.execute_script("return Object.fromEntries([...document.querySelectorAll("
                                 "'#shots > li')].map(li => [li.dataset.clip, "
                                 "li.querySelector('.shot-meta strong').textContent]))")
        mp4 = tmp_path / "ad.mp4"
        with urllib.request.urlopen(mp4_url, timeout=30) as answer:  # what the link downloads
            assert "attachment" in answer.headers["Content-Disposition"]
            mp4.write_bytes(answer.read())
        with urllib.request.urlopen(mp4_url.replace("/mp4?download=1", "/timeline"),
                                    timeout=30) as answer:
            timeline = json.loads(answer.read())
        variant = d.execute_script("return location.hash.split('/').pop()")
        no_console_errors(d)

    # the saved plan is the edit; the render's frames show its order
    plan = json.loads((tmp_path / "data" / "variants" / variant / "plan.json").read_text())
    assert [s["clip_id"] for s in plan["shots"]] == swapped
    assert plan["shots"][0]["line"] == "轻盈如风，快人一步" and plan["shots"][0]["spoken"] is None
    assert [c["clip_id"] for c in timeline["clips"]] == swapped
    assert frame_colours(mp4, timeline) == [CLIPS[names[c]] for c in swapped]


# -- behind a token ----------------------------------------------------------------------------

def _fetch_status(driver, path: str) -> int:
    return driver.execute_async_script(
        "fetch(arguments[0]).then(r => arguments[1](r.status), () => arguments[1](0))", path)


def test_the_page_behind_a_token_works_through_its_cookie_and_refuses_without(browser,
                                                                             tmp_path):
    """As off loopback (a token set): without the token the page is refused; opening
    /?token=T once sets the cookie, and the page then uses the API, its files and the event
    stream through it, with the token gone from the address bar."""
    d = browser
    d.execute_cdp_cmd("Network.clearBrowserCookies", {})
    with LiveServer(settings_for(tmp_path, token=TOKEN), d) as server:
        d.get(server.url + "/")
        assert "needs a token" in d.find_element("tag name", "body").text
        assert d.execute_script("return document.getElementById('view')") is None
        assert _fetch_status(d, "/api/v1/libraries") == 401
        d.get(f"{server.url}/?token=wrong-token-wrong-token")
        assert "Wrong token" in d.find_element("tag name", "body").text
        d.get_log("browser")  # (those refusals were logged as failed loads: expected)

        d.get(f"{server.url}/?token={TOKEN}")
        until(d, "return document.getElementById('live').classList.contains('ok') && "
                 "document.querySelector('#view form input')", what="the page to start")
        assert "token" not in d.current_url  # replaced: not in the history, not bookmarked
        cookies = {c["name"]: c for c in d.get_cookies()}
        assert cookies["adcut_token"]["httpOnly"] is True
        assert d.execute_script("return document.cookie") == ""  # out of scripts' reach
        fill_in(d, "#view form input", "Behind a token")
        click(d, "#view form button[type=submit]")
        until(d, "return document.getElementById('file-input') && document.getElementById("
                 "'library-picker').selectedOptions[0]?.textContent == 'Behind a token'",
              what="a library made through the cookie")
        d.refresh()  # a reload needs no token in the URL: the cookie carries it
        until(d, "return document.getElementById('live').classList.contains('ok') && "
                 "document.getElementById('file-input')", what="the page after a reload")
        assert _fetch_status(d, "/api/v1/libraries") == 200
        assert _fetch_status(d, "/static/js/api.js") == 200
        no_console_errors(d)

        d.execute_cdp_cmd("Network.clearBrowserCookies", {})
        d.get(server.url + "/")
        assert "needs a token" in d.find_element("tag name", "body").text
        assert _fetch_status(d, "/static/js/api.js") == 401
