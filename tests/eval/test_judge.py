"""The VSC / SQ judge against a local OpenAI-compatible stub (rubric, temperature 0, cache: a
re-run sends nothing), and the embedding VSC proxy with a stub encoder."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest
from PIL import Image

from adcut.core.errors import BadInputError
from adcut.eval import JudgeOptions, run_eval
from adcut.eval import judge as J
from adcut.eval.files import load_result_file
from adcut.tasks.prompts_zh import build_prompt_zh
from adcut.tasks.types import ClipRef, Product, SortTask
from tests.eval import cli, release_row

SQ_ANSWER = "```json\n{\"基础质量\": 27, \"表达与沟通\": 33, \"长度与节奏\": 25.5, \"总分\": 85.5, \"理由\": \"好\"}\n```"


@pytest.fixture
def judge_server():
    """Answers VSC requests (they carry an image) with '0' when the frame is blue, else '2';
    SQ requests with a fixed JSON verdict. Yields (base URL, requests seen)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            content = body["messages"][-1]["content"]
            if isinstance(content, list):
                url = next(p["image_url"]["url"] for p in content if p["type"] == "image_url")
                answer = "评分：0" if url.endswith(BLUE_B64_TAIL) else "2"
            else:
                answer = SQ_ANSWER
            out = json.dumps({"choices": [{"message": {"content": answer}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1", seen
    server.shutdown()


BLUE_B64_TAIL = "?"


def _frames(tmp_path):
    """Frames 101 (red), 102 (blue), 103 (another red) as JPEGs."""
    global BLUE_B64_TAIL
    import base64

    folder = tmp_path / "frames"
    folder.mkdir()
    for fid, color in ((101, (255, 0, 0)), (102, (0, 0, 255)), (103, (200, 0, 0))):
        Image.new("RGB", (8, 8), color).save(folder / f"{fid}.jpg")
    BLUE_B64_TAIL = base64.b64encode((folder / "102.jpg").read_bytes()).decode()[-16:]
    return folder


def _sort_file(tmp_path, track="image"):
    """Three image-track ads (products differ: VSC files key ads by product): 3 clips (frames
    101, 102, 103), script lines in the gold order 3,1,2."""

    def prompt(k: int) -> str:
        task = SortTask(product=Product(f"洗衣液{k}", "白猫", ["去渍", "留香"]),
                        script_lines=["第一句", "第二句", "第三句"],
                        clips=[ClipRef(1, caption="红色瓶子", frame_ids=["101"]),
                               ClipRef(2, caption="蓝色盒子", frame_ids=["102"]),
                               ClipRef(3, caption="红色瓶子特写", frame_ids=["103"])])
        return build_prompt_zh(task, track)

    path = tmp_path / "F___vidsort_sys.jsonl"
    path.write_text("\n".join([
        release_row(0, gold="3,1,2", pred="3,1,2", prompt=prompt(0)),  # pairs: 103 red, 101 red, 102 blue
        release_row(1, gold="3,1,2", pred="3, 1, 2", prompt=prompt(1)),  # spaces: not well-formed upstream
        release_row(2, gold="3,1,2", pred="1,3,2", prompt=prompt(2)),  # 101 red, 103 red, 102 blue
    ]) + "\n", encoding="utf-8")
    return path


def test_vsc_judge_with_cache(tmp_path, judge_server):
    url, seen = judge_server
    frames = _frames(tmp_path)
    path = _sort_file(tmp_path)
    opts = JudgeOptions(url=url, model="judge-vl", frames=frames, cache=tmp_path / "cache")
    res = run_eval([path], "vsc", opts)["files"]["F___vidsort_sys.jsonl"]
    assert res["kind"] == "vsc" and res["n_ads"] == 2 and res["n_pairs"] == 6
    # each ad: two red frames score 2, the blue one 0 -> 4/3
    assert res["VSC"] == pytest.approx(4 / 3)
    # ads 0 and 2 both pair the third line with frame 102: one request, then the cache
    assert res["judge_requests"] == 5 and res["judge_cached"] == 1 and len(seen) == 5
    assert any("line 2: prediction not well-formed" in p for p in res["problems"])
    body = seen[0]
    assert body["temperature"] == 0 and body["max_tokens"] == 10 and body["model"] == "judge-vl"
    text = body["messages"][0]["content"][0]["text"]
    assert "0 = 完全不匹配" in text and "台词如下：\n第一句" in text
    # the written judge file is in the upstream format and scores the same
    judged = load_result_file(tmp_path / "cache" / "outputs" / "judge-vl" / "VSC___vidsort_sys.jsonl")
    assert judged.kind == "vsc" and judged.header["ads_skipped"] == 1
    # re-run: everything from the cache, nothing sent
    n = len(seen)
    again = run_eval([path], "vsc", opts)["files"]["F___vidsort_sys.jsonl"]
    assert len(seen) == n and again["judge_requests"] == 0 and again["judge_cached"] == 6
    assert again["VSC"] == res["VSC"]


def test_vsc_cache_answers_without_a_server(tmp_path, judge_server):
    url, _ = judge_server
    frames = _frames(tmp_path)
    path = _sort_file(tmp_path)
    cache = tmp_path / "cache"
    run_eval([path], "vsc", JudgeOptions(url=url, model="m", frames=frames, cache=cache))
    dead = JudgeOptions(url="http://127.0.0.1:9/v1", model="m", frames=frames, cache=cache)
    assert run_eval([path], "vsc", dead)["files"]["F___vidsort_sys.jsonl"]["VSC"] == pytest.approx(4 / 3)


def test_sq_judge_english_rubric(tmp_path, judge_server):
    url, seen = judge_server
    prompt = "【商品】：洗衣液\n【品牌】：白猫\n【卖点】：['去渍', '留香']\n"
    path = tmp_path / "F___vid2text_sys.jsonl"
    path.write_text("\n".join([
        release_row(0, task="vid2text", gold="你好世界\n再见", pred="1. 你好\n2. 再见吧", prompt=prompt),
        release_row(1, task="vid2text", gold="", pred="", prompt=prompt),  # both empty: skipped
    ]), encoding="utf-8")
    opts = JudgeOptions(url=url, model="judge", language="en", cache=tmp_path / "c")
    res = run_eval([path], "sq", opts)["files"]["F___vid2text_sys.jsonl"]
    assert res["kind"] == "sq" and res["SQ"] == 85.5 and res["SQ_without_length"] == 60 and res["n_rows"] == 1
    assert res["rubric"] == "en"
    body = seen[-1]
    assert body["max_tokens"] == 700 and body["temperature"] == 0
    user = body["messages"][1]["content"]
    assert "Length matching [20]" in user and "avg_diff: 1.5000" in user  # |2-4| and |3-2| over 2 lines
    assert "你好\n再见吧" in user  # line numbers stripped for the judge
    assert "product: 洗衣液; brand: 白猫; selling points: ['去渍', '留香']" in user


def test_sq_stats_and_messages_are_the_papers():
    st = J.sq_stats(["你好世界", "再见"], ["1. 你好", "2. 再见吧", "多"])
    assert st == {"ref_lengths": [4, 2, 0], "model_lengths": [2, 3, 1], "diffs": [2, 1, 1], "avg_diff": 4 / 3}
    msgs = J.build_sq_messages("商品：a；品牌：b；卖点：[]", ["甲"], ["乙"], 4 / 3)
    assert msgs[0] == {"role": "system", "content": "你是专业广告脚本质量评估助手。"}
    assert "分数 = max(0, 20 - avg_diff)" in msgs[1]["content"] and "平均字数差 avg_diff：1.3333" in msgs[1]["content"]
    assert J.parse_vsc_score("评分：2") == 2 and J.parse_vsc_score("3") is None and J.parse_vsc_score(None) is None


def test_judge_needs_frames_and_a_model(tmp_path):
    path = _sort_file(tmp_path)
    with pytest.raises(BadInputError, match="needs the clips' frames"):
        run_eval([path], "vsc", JudgeOptions(url="http://127.0.0.1:9/v1", model="m"))
    with pytest.raises(BadInputError, match="needs a model name"):
        run_eval([path], "vsc", JudgeOptions(url="http://127.0.0.1:9/v1", frames=tmp_path))
    code, _, err = cli("eval", path, "--task", "vsc", "--judge", "http://127.0.0.1:9/v1", "--judge-model", "m",
                       "--frames", _frames(tmp_path), "--judge-cache", tmp_path / "c")
    assert code == 2 and "unreachable" in err


class _StubText:
    """A 'shared space' where a text is its counts of 红 and 蓝 (plus a constant)."""

    def encode_texts(self, texts):
        return np.array([[t.count("红"), t.count("蓝"), 0.1] for t in texts], dtype=np.float64)


def test_vsc_proxy_is_reported_under_its_own_name(tmp_path, monkeypatch):
    task = SortTask(product=Product("a", "b", []), script_lines=["红色的", "蓝色的"],
                    clips=[ClipRef(1, caption="蓝色盒子"), ClipRef(2, caption="红色瓶子")])
    path = tmp_path / "F___vidsort_cap.jsonl"
    path.write_text("\n".join([
        release_row(0, gold="2,1", pred="2,1", prompt=build_prompt_zh(task, "caption")),
        release_row(1, gold="2,1", pred="1,2", prompt=build_prompt_zh(task, "caption")),
        release_row(2, gold="2,1", pred="garbage", prompt=build_prompt_zh(task, "caption")),
    ]), encoding="utf-8")
    rf = load_result_file(path)
    res = J.vsc_proxy(rf, _StubText().encode_texts, encoder="stub")
    assert res["kind"] == "vsc_proxy" and res["n_ads"] == 2 and res["n_ads_skipped"] == 1
    # line 红色的 -> (1,0,.1), 蓝色的 -> (0,1,.1): the same clip text scores 1, the other .01/1.01
    assert res["vsc_proxy_gold"] == pytest.approx(1.0)
    assert res["vsc_proxy"] == pytest.approx((1.0 + 0.01 / 1.01) / 2)
    import adcut.encoders.registry as reg

    monkeypatch.setattr(reg, "load_text_encoder", lambda spec: _StubText())
    out = run_eval([path], "vsc")
    f = out["files"]["F___vidsort_cap.jsonl"]
    assert f["kind"] == "vsc_proxy" and "VSC" not in f
    assert out["systems"]["cap"]["headline"]["VSC"] is None  # never reported as VSC
