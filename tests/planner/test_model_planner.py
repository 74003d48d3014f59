"""The trained adcut model as a planner (adcut.planner.model) and its constrained decoding
(adcut.planner.constrained), on a tiny random model built offline (tests/planner/tiny_adcut_model).

A random model's answers are nonsense, which is the point: whatever the model prefers,
constrained decoding must return a valid answer (n distinct clip numbers in range, a
permutation, n script lines, 8 audio tokens in level order), and an answer that cannot be
completed (a budget of one token) falls back to the zero-shot planner with a note.
"""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest

from adcut.core.errors import AdcutError, BadInputError
from adcut.planner.base import Decision
from adcut.planner.constrained import (
    AudioTrack,
    NumberList,
    ScriptLines,
    VocabInfo,
    number_list_state,
    vocab_info,
)
from adcut.tasks.parse import parse_script
from adcut.tasks.types import (
    TRACK_TOKENS,
    AudioCandidate,
    ClipRef,
    MusicTask,
    ScriptTask,
    SelectTask,
    SortTask,
)
from tests.planner.tiny_adcut_model import (
    build_tiny_adcut_model,
    random_clip_tokens,
    random_line,
    random_product,
    random_track_tokens,
)

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("faiss")

EOS = "<eos>"


def strings_info(strings: list[str], *, special: tuple[str, ...] = (EOS,)) -> VocabInfo:
    """A VocabInfo over a made-up vocabulary; the last token is the end of turn."""
    return VocabInfo.build(strings, eos_ids=[strings.index(EOS)],
                           special_ids=[strings.index(s) for s in special if s in strings])


def allowed_strings(info: VocabInfo, constraint, text_ids: list[int]) -> set[str]:
    return {info.strings[i] for i in np.flatnonzero(constraint.allowed(text_ids))}


def walk(info: VocabInfo, constraint, rng: random.Random, limit: int | None = None) -> tuple[list[int], bool]:
    """Generate by picking uniformly among the allowed tokens; (ids, ended with eos)."""
    ids: list[int] = []
    for _ in range(limit or constraint.budget):
        choices = np.flatnonzero(constraint.allowed(ids)).tolist()
        assert choices, "the allowed set is never empty"
        pick = rng.choice(choices)
        if pick in info.eos_ids:
            return ids, True
        ids.append(pick)
    return ids, False


# --------------------------------------------------------------------------- pure: numbers

# Numbers that are several tokens, and tokens that are several numbers or cross a comma.
NUMERIC = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ",", "10", "12", "1,", ",2", "23", "3,4", "007",
           "abc", " 1", "1 ", "\n", EOS]


def test_allowed_sets_when_numbers_are_multi_token():
    info = strings_info(NUMERIC)
    assert set(info.numeric_strings) == {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ",", "10", "12",
                                         "1,", ",2", "23", "3,4", "007"}
    c = NumberList(info, m=12, n=3)

    def ids(tokens: list[str]) -> list[int]:
        return [info.strings.index(t) for t in tokens]

    # Start: any digit that begins some number of 1..12 ("0", "007" and "23" do not; "," neither).
    assert allowed_strings(info, c, []) == {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "1,", "3,4"}
    # After "1": 10, 11 ("1" or "1,"), 12, or 1 is finished; no end of turn with 1 number of 3.
    assert allowed_strings(info, c, ids(["1"])) == {"0", "1", "2", ",", ",2", "1,"}
    # After "12,3,1": 10 and 11 remain, 12 is used, 1 itself ends the answer; no fourth number.
    after = allowed_strings(info, c, ids(["12", ",", "3", ",", "1"]))
    assert after == {"0", "1", EOS}
    # A repeat is never offered: after "3,": "3" and "3,4" are out, "12"/"10" are in.
    after = allowed_strings(info, c, ids(["3", ","]))
    assert "3" not in after and "3,4" not in after and {"12", "10", "1,", "4"} <= after
    # A token that is not a number token (stray text) ends the answer: it can only stop.
    assert allowed_strings(info, c, ids(["abc"])) == {EOS}


def test_number_list_state():
    assert number_list_state("", 5, 2) == (True, False)
    assert number_list_state("3,1", 5, 2) == (True, True)
    assert number_list_state("3,3", 5, 2) == (False, False)  # repeat
    assert number_list_state("3,1,", 5, 2) == (False, False)  # a third number
    assert number_list_state("6", 5, 2) == (False, False)  # out of range
    assert number_list_state("03", 12, 2) == (False, False)  # leading zero
    assert number_list_state("1", 12, 1) == (True, True)  # 1 is whole, 10..12 still possible
    assert number_list_state("1 ,2", 5, 2) == (False, False)


@pytest.mark.parametrize("seed", range(3))
def test_random_walks_over_number_tokens_always_end_valid(seed):
    info = strings_info(NUMERIC)
    rng = random.Random(seed)
    for _ in range(150):
        m = rng.randint(1, 30)
        n = rng.randint(1, m)
        if rng.random() < 0.3:
            n = m  # vid_sort
        c = NumberList(info, m, n)
        ids, ended = walk(info, c, rng)
        text = info.text_of(ids)
        values = [int(x) for x in text.split(",")]
        assert ended and c.complete(ids), (m, n, text)
        assert len(values) == n == len(set(values)) and all(1 <= v <= m for v in values)


def test_context_dependent_number_tokens_are_left_out():
    """A SentencePiece '▁1' decodes to '1' alone but to ' 1' after another token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {"▁1": 0, "1": 1, "2": 2, ",": 3, EOS: 4, "12": 5, "<unk>": 6}
    raw = Tokenizer(models.WordLevel(words, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Metaspace()
    raw.decoder = decoders.Metaspace()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token=EOS, unk_token="<unk>")
    info = vocab_info(tok, [4])
    assert info.numeric_strings == ["1", "2", ",", "12"]


# --------------------------------------------------------------------------- pure: audio, lines


def audio_info(codebook: int = 4) -> VocabInfo:
    strings = ["x", "<|audio_start|>", "<|audio_end|>", EOS] + [f"<a_{lv}_{c}>" for lv in range(8)
                                                             for c in range(codebook)]
    token_ids = {s: i for i, s in enumerate(strings) if s.startswith("<")}
    return VocabInfo.build(strings, eos_ids=[3], special_ids=list(range(1, len(strings))), token_ids=token_ids)


def test_audio_tokens_in_level_order_then_end():
    info = audio_info(codebook=4)
    c = AudioTrack(info, codebook_size=3)  # codes below the audio tokenizer's codebook only
    assert allowed_strings(info, c, []) == {"<|audio_start|>"}
    ids = [1]
    for level in range(8):
        assert allowed_strings(info, c, ids) == {f"<a_{level}_{k}>" for k in range(3)}
        ids.append(info.strings.index(f"<a_{level}_2>"))
    assert allowed_strings(info, c, ids) == {"<|audio_end|>"}
    ids.append(2)
    assert allowed_strings(info, c, ids) == {EOS} and c.complete(ids)
    assert c.codes(ids) == [2] * 8
    assert allowed_strings(info, c, [1, info.strings.index("<a_1_0>")]) == {EOS}  # off the pattern: stop
    with pytest.raises(ValueError):
        AudioTrack(audio_info(codebook=4), codebook_size=8)  # the tokenizer lacks codes 4..7


LINES = ["a", "b", " ", "Hi", "\n", "\n\n", ".\n", "\nc", "1.", "-", "a\nb\nc", "\r", "<|clip_start|>", EOS]


def test_script_lines_shape():
    info = strings_info(LINES, special=(EOS, "<|clip_start|>"))
    c = ScriptLines(info, n_lines=2, max_line_tokens=3)

    def at(*tokens: str) -> list[int]:
        return [info.strings.index(t) for t in tokens]

    start = allowed_strings(info, c, [])
    assert "\n" not in start and EOS not in start and "\r" not in start and "<|clip_start|>" not in start
    assert "\nc" not in start  # would open with an empty line
    assert ".\n" in start  # "." is content: the line closes with content
    assert {"\n", ".\n", "\nc"} <= allowed_strings(info, c, at("a"))
    assert "\n\n" not in allowed_strings(info, c, at("a"))  # an empty line
    assert "a\nb\nc" not in allowed_strings(info, c, at("a"))  # two breaks, one left
    # "1." alone is numbering the parser strips: not a line yet.
    assert "\n" not in allowed_strings(info, c, at("1."))
    # The last line: no break; the end once it has content.
    last = allowed_strings(info, c, at("a", "\n", "b"))
    assert EOS in last and not any("\n" in s for s in last)
    assert EOS not in allowed_strings(info, c, at("a", "\n"))
    # A line of max_line_tokens tokens with content may only close.
    assert allowed_strings(info, c, at("a", "b", "a")) == {"\n", ".\n", "\nc"}
    assert allowed_strings(info, c, at("a", "\n", "b", "b", "b")) == {EOS}


@pytest.mark.parametrize("seed", range(2))
def test_random_walks_over_text_tokens_write_exactly_n_lines(seed):
    info = strings_info(LINES, special=(EOS, "<|clip_start|>"))
    rng = random.Random(seed)
    for _ in range(100):
        n = rng.randint(1, 5)
        c = ScriptLines(info, n_lines=n, max_line_tokens=rng.randint(1, 4))
        ids, ended = walk(info, c, rng, limit=c.budget * 20)  # blank tokens may delay a line
        if not ended:
            continue
        parsed = parse_script(info.text_of(ids), n)
        assert c.complete(ids) and parsed.ok and len(parsed.value) == n


# --------------------------------------------------------------------------- the tiny model


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return build_tiny_adcut_model(tmp_path_factory.mktemp("adcut_model") / "sft")


def quick_fallback():
    from adcut.planner.zero_shot import ZeroShotPlanner

    return ZeroShotPlanner(text_encoder=None, tie_encoder=None)


@pytest.fixture(scope="module")
def planner(folder):
    from adcut.planner.model import ModelPlanner

    return ModelPlanner(folder, fallback=quick_fallback, max_line_tokens=4)


def token_clips(rng: random.Random, m: int) -> list[ClipRef]:
    return [ClipRef(number=i, tokens=random_clip_tokens(rng, frames=1)) for i in range(1, m + 1)]


def check(task, d: Decision) -> None:
    """The decision is a valid answer to the task."""
    if isinstance(task, SelectTask):
        assert len(d.value) == task.n_select == len(set(d.value))
        assert set(d.value) <= {c.number for c in task.clips}
    elif isinstance(task, SortTask):
        assert sorted(d.value) == sorted(c.number for c in task.clips)
    elif isinstance(task, ScriptTask):
        assert len(d.value) == len(task.clips) and all(isinstance(s, str) and s.strip() for s in d.value)
    elif task.audio_candidates:
        assert d.value in {a.number for a in task.audio_candidates}
    else:
        assert [re.fullmatch(r"<a_(\d)_(\d+)>", t).group(1) for t in d.value] == [str(k) for k in range(8)]


def used_fallback(d: Decision) -> bool:
    return any("planned by the zero-shot planner instead" in e for e in d.explanation)


def test_the_processor_keeps_any_logits_to_valid_answers(planner):
    """Random logits at every step (any model's preferences), the real tokenizer, the
    transformers LogitsProcessor: the decoded text always parses as a valid answer."""
    import torch

    from adcut.planner.constrained import constrained_processor
    from adcut.tasks.parse import parse_music, parse_order, parse_selection

    info, tok = planner.info, planner.tokenizer
    gen = torch.Generator().manual_seed(0)
    rng = random.Random(0)
    width = planner.model.get_input_embeddings().weight.shape[0] + 7  # padded logit columns
    for k in range(160):
        kind = k % 4
        m = rng.randint(1, 30)
        n = m if kind == 1 else rng.randint(1, m)
        constraint = (NumberList(info, m, n) if kind < 2 else
                      ScriptLines(info, rng.randint(1, 4), max_line_tokens=rng.randint(1, 6)) if kind == 2 else
                      AudioTrack(info, codebook_size=rng.choice([256, 16])))
        prompt = [rng.randrange(len(tok)) for _ in range(3)]
        proc = constrained_processor(constraint, len(prompt))
        ids = list(prompt)
        for _ in range(constraint.budget):
            scores = torch.randn((1, width), generator=gen) * 5
            pick = int(proc(torch.tensor([ids]), scores).argmax(-1))
            if pick in planner.stop_ids:
                break
            ids.append(pick)
        answer = ids[len(prompt):]
        text = tok.decode(answer, skip_special_tokens=False)
        assert constraint.complete(answer), (kind, text)
        if kind == 0:
            assert parse_selection(text, m, n).clean and len(parse_selection(text, m, n).value) == n
        elif kind == 1:
            assert parse_order(text, m).clean
        elif kind == 2:
            assert len(parse_script(text, constraint.n).value) == constraint.n
        else:
            parsed = parse_music(text)
            assert parsed.clean and [lv for lv, _ in parsed.value] == list(range(8))
            assert all(code < constraint.codebook for _, code in parsed.value)


def test_constrained_decoding_never_returns_an_invalid_answer(planner):
    rng = random.Random(7)
    for k in range(6):
        m = rng.randint(2, 6)
        product = random_product(rng, "en")
        clips = token_clips(rng, m)
        lines = [random_line(rng) for _ in range(m)]
        n = rng.randint(1, m)
        tasks = [SelectTask(product, lines[:n], clips, n_select=n), SortTask(product, lines[:m], clips)]
        if k % 3 == 0:
            tasks += [ScriptTask(product, clips[:rng.randint(1, 3)]), MusicTask(product, lines[:2], clips[:2])]
        if k % 3 == 1:
            cands = [AudioCandidate(number=i, tokens=random_track_tokens(rng)) for i in range(1, 4)]
            tasks.append(MusicTask(product, lines[:2], clips[:2], cands))
        for task in tasks:
            method = {SelectTask: planner.select, SortTask: planner.order, ScriptTask: planner.write,
                      MusicTask: planner.music}[type(task)]
            d = method(task)
            check(task, d)
            assert not used_fallback(d), d.explanation  # the budget always suffices
            assert "constrained greedy answer" in d.explanation[0]


def test_greedy_decoding_is_deterministic_and_keeps_clip_numbers(planner):
    rng = random.Random(3)
    clips = [ClipRef(number=k, tokens=random_clip_tokens(rng, 1)) for k in (4, 9, 2, 7)]  # prompt numbers
    task = SelectTask(random_product(rng), [random_line(rng), random_line(rng)], clips, n_select=2)
    first, second = planner.select(task), planner.select(task)
    assert first.value == second.value and set(first.value) <= {4, 9, 2, 7}


def test_music_is_matched_to_the_nearest_decoded_candidate(planner):
    rng = random.Random(11)
    product, lines, clips = random_product(rng), [random_line(rng)], token_clips(rng, 1)
    generated = planner.music(MusicTask(product, lines, clips)).value  # no candidates: the 8 tokens
    assert len(generated) == 8
    own = "<|audio_start|>" + "".join(generated) + "<|audio_end|>"
    others = [random_track_tokens(rng) for _ in range(4)]
    cands = [AudioCandidate(1, tokens=others[0]), AudioCandidate(2, tokens=others[1]),
             AudioCandidate(3, tokens=own), AudioCandidate(4, tokens=others[2]), AudioCandidate(5, tokens=None)]
    d = planner.music(MusicTask(product, lines, clips, cands))
    assert d.value == 3 and d.scores[3] == pytest.approx(1.0, abs=1e-5)
    assert set(d.scores) == {1, 2, 3, 4} and any("tracks [5]" in e for e in d.explanation)
    # Without the generated track among them: the nearest by cosine of the decoded vectors.
    from adcut.tokens.vocab import parse_track

    cands = [AudioCandidate(i + 1, tokens=t) for i, t in enumerate(others)]
    d = planner.music(MusicTask(product, lines, clips, cands))
    codes = np.stack([parse_track("".join(generated), strict=False)] + [parse_track(t) for t in others])
    vectors = planner.audio_tokenizer.decode(codes)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cosines = vectors[1:] @ vectors[0]
    assert d.value == int(np.argmax(cosines)) + 1
    assert [d.scores[i + 1] for i in range(4)] == pytest.approx(cosines.tolist(), abs=1e-4)


def test_an_answer_cut_short_falls_back_with_a_note(folder):
    from adcut.planner.llm import PlannerOutputError
    from adcut.planner.model import ModelPlanner

    short = ModelPlanner(folder, fallback=quick_fallback, max_new_tokens=1)
    rng = random.Random(5)
    product, clips = random_product(rng), token_clips(rng, 5)
    lines = [random_line(rng) for _ in range(5)]
    cands = [AudioCandidate(i, description="upbeat pop", tokens=random_track_tokens(rng)) for i in (1, 2)]
    tasks = [SelectTask(product, lines[:3], clips, n_select=3), SortTask(product, lines[:3], clips[:3]),
             ScriptTask(product, clips[:3]), MusicTask(product, lines[:2], clips[:2], cands)]
    for task, method in zip(tasks, (short.select, short.order, short.write, short.music)):
        d = method(task)
        check(task, d)
        assert used_fallback(d) and "incomplete answer" in d.explanation[0] and "after 1 of 1 tokens" in \
            d.explanation[0]
    # Music with no candidates has nothing to fall back on: one clear error, not a crash.
    with pytest.raises(PlannerOutputError, match="could not plan vid2aud either"):
        short.music(MusicTask(product, lines[:2], clips[:2]))


def test_candidates_without_tokens_and_clips_without_tokens(planner):
    from adcut.planner.model import shown_clips

    rng = random.Random(2)
    product, lines = random_product(rng), [random_line(rng), random_line(rng)]
    captioned = [ClipRef(number=1, caption="a bottle  on a table"), ClipRef(number=2, caption=None),
                 ClipRef(number=3, tokens=random_clip_tokens(rng, 1))]
    shown, by_caption = shown_clips(captioned)
    assert by_caption == 1 and shown[0].tokens == "a bottle on a table" and shown[1].tokens is None
    assert shown[2].tokens == captioned[2].tokens
    d = planner.order(SortTask(product, lines + [random_line(rng)], captioned))
    check(SortTask(product, lines, captioned), d)
    assert any("1 of 3 clips had no video tokens: shown by caption" in e for e in d.explanation)
    cands = [AudioCandidate(1, description="calm piano"), AudioCandidate(2, description="upbeat pop")]
    d = planner.music(MusicTask(product, lines, captioned[:2], cands))
    assert d.value in (1, 2) and used_fallback(d) and "no candidate track has audio tokens" in d.explanation[0]


def test_registry_and_bench_reach_the_model_planner(folder):
    from adcut.eval.bench import planner_for_track
    from adcut.planner.model import ModelPlanner
    from adcut.planner.registry import load_planner

    chosen = load_planner(f"model {folder}", language="zh")
    assert isinstance(chosen, ModelPlanner) and chosen.name == "model:sft"
    assert chosen.language == "en"  # adcut_model.json names the language it was trained in
    assert planner_for_track(chosen, TRACK_TOKENS) is chosen
    with pytest.raises(BadInputError, match="needs the trained model's folder"):
        load_planner("model")


def test_a_bad_folder_is_one_clear_error(tmp_path, folder):
    from adcut.planner.model import ModelPlanner
    from tests.planner_llm import build_tiny_qwen3

    def refused(path, words: str) -> None:
        with pytest.raises(BadInputError) as caught:
            ModelPlanner(path)
        assert words in caught.value.message and "\n" not in str(caught.value)

    refused(tmp_path / "nowhere", "does not exist")
    (tmp_path / "empty").mkdir()
    refused(tmp_path / "empty", "no config.json")
    (tmp_path / "vision").mkdir()
    (tmp_path / "vision" / "config.json").write_text(json.dumps({"model_type": "resnet"}))
    refused(tmp_path / "vision", "not a causal language model")
    refused(build_tiny_qwen3(tmp_path / "plain"), "lacks 4106 of the adcut tokens")
    import shutil

    newer = shutil.copytree(folder, tmp_path / "newer")
    (newer / "adcut_model.json").write_text(json.dumps({"format": "adcut-model/2"}))
    refused(newer, "adcut-model/2")
    (newer / "adcut_model.json").write_text("{not json")
    refused(newer, "cannot be read as JSON")
    assert issubclass(BadInputError, AdcutError)


def test_the_model_served_by_vllm_is_asked_with_tokens_prompts_and_vllm_options():
    from adcut.planner.llm import LLMPlanner
    from adcut.planner.registry import load_planner
    from tests.planner_llm import serve

    rng = random.Random(4)
    product, lines, clips = random_product(rng), [random_line(rng), random_line(rng)], token_clips(rng, 4)
    answer = "<|audio_start|>" + "".join(f"<a_{lv}_3>" for lv in range(8)) + "<|audio_end|>"
    with serve(["2,4", answer, "1"]) as srv:
        with pytest.raises(BadInputError, match="needs --model NAME"):
            load_planner(f"model {srv.url}")
        served = load_planner(f"model {srv.url}", "adcut", language="en")
        assert isinstance(served, LLMPlanner) and served.track == TRACK_TOKENS
        assert served.select(SelectTask(product, lines, clips, n_select=2)).value == [2, 4]
        assert served.music(MusicTask(product, lines, clips[:2])).value == [f"<a_{lv}_3>" for lv in range(8)]
        cands = [AudioCandidate(1, description="calm piano"), AudioCandidate(2, description="upbeat pop")]
        d = served.music(MusicTask(product, lines, clips[:2], cands))  # no tokens to match: choose by text
        assert d.value == 1 and "no candidate track has audio tokens" in d.explanation[0]
    posts = [body for method, _, _, body in srv.requests if method == "POST"]
    assert all(b["skip_special_tokens"] is False and b["spaces_between_special_tokens"] is False
               and b["chat_template_kwargs"] == {"enable_thinking": False} and b["temperature"] == 0 for b in posts)
    assert "<|clip_start|><|video_start|><|frame_start|><v_0_" in posts[0]["messages"][0]["content"]
    assert "[Music tracks]\n1)calm piano" in posts[2]["messages"][0]["content"]
    with serve(["1,2"]) as srv:  # a plain OpenAI-compatible planner sends no vLLM-only option
        load_planner(f"openai {srv.url}", "any").select(SelectTask(product, lines, clips, n_select=2))
    assert "skip_special_tokens" not in srv.requests[-1][3]


def test_edit_plans_an_ad_with_the_model_planner(planner):
    """`adcut edit --planner model DIR` runs the cascade through it: a library's clips (captions,
    no tokens) and a music track (no audio tokens: the fallback chooses it)."""
    from adcut.core.brief import Brief
    from adcut.planner.edit import LibraryClip, LibraryTrack, plan_edit

    brief = Brief(product="Verde cold brew", brand="Verde", selling_points=["Steeped for 18 hours"],
                  duration_s=12, call_to_action="Order today")
    clips = [LibraryClip(id=f"c{i}", source=f"/f/c{i}.mp4", start_s=0, end_s=3, text=t, has_speech=False,
                         vision=None)
             for i, t in enumerate(["a bottle of cold brew", "coffee poured on ice", "a cafe table",
                                    "the Verde logo", "a city street at dawn"])]
    track = LibraryTrack(id="t1", path="/m/t1.mp3", title="Morning", duration_s=60.0, tempo_bpm=100.0, lufs=-14.0,
                         tags=[("Happy music", 0.8)], beats_s=[0.6 * k for k in range(100)],
                         windows=[(0.0, 30.0, -14.0), (30.0, 60.0, -12.0)])
    plan, why = plan_edit(clips, [track], brief, planner, seed=0)
    assert plan.planner == "model:sft" and len(plan.shots) == 3
    assert len({s.clip_id for s in plan.shots}) == 3 and plan.music and plan.music.track_id == "t1"
    assert any("shown by caption" in note for note in why.notes)
    assert any("no candidate track has audio tokens" in m for m in why.music)
