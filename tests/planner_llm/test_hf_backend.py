"""HFBackend on a tiny random Qwen3 built offline and loaded by path: it answers with a
string (garbage is fine) quickly, and the LLM planner on it never crashes."""

from __future__ import annotations

import time

import pytest

from adcut.core.errors import BadInputError, DependencyError
from adcut.planner.backends import HFBackend, load_backend
from adcut.planner.llm import LLMPlanner, PlannerOutputError
from adcut.tasks.types import AudioCandidate, ClipRef, MusicTask, Product, ScriptTask, SelectTask, SortTask
from tests.planner_llm import build_tiny_qwen3

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_qwen3")
    return build_tiny_qwen3(root / "chat"), build_tiny_qwen3(root / "raw", chat_template=False)


def test_complete_returns_a_string_quickly_and_deterministically(tiny_dirs):
    chat_dir, raw_dir = tiny_dirs
    backend = load_backend(f"hf {chat_dir}")
    assert isinstance(backend, HFBackend) and backend.name == "hf:chat"
    backend.check()  # loads now
    start = time.monotonic()
    first = backend.complete("选择 clip 1, 2", max_tokens=24)
    assert isinstance(first, str)
    assert backend.complete("选择 clip 1, 2", max_tokens=24) == first  # greedy
    assert time.monotonic() - start < 10
    assert "<|im_end|>" not in first  # generation stops at, and drops, the end of the turn
    raw = HFBackend(str(raw_dir))  # no chat template: the raw prompt is the input
    assert isinstance(raw.complete("clip 1, 2", max_tokens=8), str)


def test_llm_planner_on_a_random_model_never_crashes(tiny_dirs):
    planner = LLMPlanner(HFBackend(str(tiny_dirs[0])), max_tokens=12)
    product = Product(name="保湿面霜", brand="水润", selling_points=["补水"])
    clips = [ClipRef(number=i, caption=c) for i, c in enumerate(["涂抹面霜", "面霜特写", "猫", "包装"], 1)]
    lines = ["冬天皮肤干？", "一抹就水润。"]
    calls = [
        lambda: planner.select(SelectTask(product=product, script_lines=lines, clips=clips, n_select=2)),
        lambda: planner.order(SortTask(product=product, script_lines=lines, clips=clips[:2])),
        lambda: planner.write(ScriptTask(product=product, clips=clips[:2])),
        lambda: planner.music(MusicTask(product=product, script_lines=lines, clips=clips[:2],
                                        audio_candidates=[AudioCandidate(number=1, description="轻快"),
                                                          AudioCandidate(number=2, description="舒缓")])),
    ]
    for call in calls:
        try:
            decision = call()
        except PlannerOutputError as exc:  # the clear error, naming the task
            assert "after one retry" in exc.message
        else:
            assert decision.value is not None and isinstance(decision.explanation, list)


def test_models_that_cannot_load(tmp_path):
    with pytest.raises(BadInputError, match="does not exist"):
        HFBackend(str(tmp_path / "missing")).check()
    with pytest.raises(DependencyError, match="cannot load model"):
        HFBackend(str(tmp_path)).check()  # an empty folder
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(DependencyError, match="cannot load model"):
        HFBackend(str(tmp_path)).check()  # a folder that is no model
    with pytest.raises(BadInputError):
        HFBackend(str(tmp_path), dtype="int3")
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(DependencyError):  # gguf package missing, or a broken file: either is clear
        HFBackend(str(gguf)).check()
