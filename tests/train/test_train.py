"""`adcut train align|sft|export` on a random tiny Qwen3: vocabulary extension, the frozen
rows, the answer-only mask, learning, resume, export and bad input."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from adcut.train import data as D
from adcut.train.base import build_tiny_model, build_tiny_tokenizer
from adcut.train.config import load_recipe
from adcut.train.data import IGNORE, all_texts, end_of_turn, sft_example
from adcut.train.run import TrainRequest, run_stage
from adcut.train.vocab import adcut_token_ids, adcut_tokens, extend
from tests.in_process import run
from tests.train.conftest import write_dataset


class Losses:
    def __init__(self, stop_at: int | None = None):
        self.losses: list[float] = []
        self.stop_at = stop_at

    def start(self, stage, total_steps):
        pass

    def step(self, step, loss, tokens_per_s):
        if loss is not None:
            self.losses.append(loss)
        if self.stop_at is not None and step >= self.stop_at:
            raise KeyboardInterrupt  # as Ctrl-C after that step

    def evaluated(self, eval_loss):
        pass


def _state(path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).state_dict()


@pytest.fixture(scope="module")
def aligned(data_dir, recipe, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "align"
    return run_stage(TrainRequest(stage="align", data=data_dir, out=out, recipe=str(recipe),
                                  overrides={"max_steps": 4, "save_steps": 2}))


def test_alignment_moves_only_the_new_rows(aligned, data_dir, recipe):
    """The original tokens keep their ids and every original weight stays bit-identical;
    only the adcut tokens' input rows learn (the output head is frozen)."""
    settings = load_recipe(str(recipe)).tiny
    tokenizer = build_tiny_tokenizer(all_texts(data_dir), settings.vocab_size)
    original_vocab = dict(tokenizer.get_vocab())
    fresh = build_tiny_model(settings, len(tokenizer))
    extension = extend(fresh, tokenizer)
    after = _state(aligned.out)
    before = fresh.state_dict()
    new = torch.tensor(extension.token_ids)
    old = torch.ones(after["model.embed_tokens.weight"].shape[0], dtype=torch.bool)
    old[new] = False
    for name, tensor in before.items():
        if name == "model.embed_tokens.weight":
            assert torch.equal(after[name][old], tensor[old])
            assert not torch.equal(after[name][new], tensor[new])  # the new rows learnt
        else:
            assert torch.equal(after[name], tensor), name  # lm_head included: frozen
    from transformers import AutoTokenizer

    saved = AutoTokenizer.from_pretrained(str(aligned.out))
    assert all(saved.get_vocab()[t] == i for t, i in original_vocab.items())
    assert extension.rows_before == len(original_vocab)
    assert aligned.record["vocab"]["added"] == 2 * 8 * 256 + 10


def test_the_saved_tokenizer_keeps_the_added_tokens(aligned):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(aligned.out))
    normal, special = adcut_tokens()
    ids = tok.convert_tokens_to_ids(normal + special)
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 4106
    assert tok("<v_3_17><a_7_255>", add_special_tokens=False)["input_ids"] == tok.convert_tokens_to_ids(["<v_3_17>", "<a_7_255>"])
    text = "<|audio_start|><a_0_1><a_1_2><|audio_end|>"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"], skip_special_tokens=True) == "<a_0_1><a_1_2>"
    assert set(special) <= set(tok.all_special_tokens)


def test_a_base_that_holds_some_tokens_keeps_their_ids(data_dir, recipe):
    settings = load_recipe(str(recipe)).tiny
    tokenizer = build_tiny_tokenizer(all_texts(data_dir), settings.vocab_size)
    tokenizer.add_tokens(["<v_0_5>", "<a_2_9>"])
    held = tokenizer.convert_tokens_to_ids(["<v_0_5>", "<a_2_9>"])
    model = build_tiny_model(settings, len(tokenizer))
    extension = extend(model, tokenizer)
    assert extension.reused == 2 and extension.added == 4106 - 2
    assert tokenizer.convert_tokens_to_ids(["<v_0_5>", "<a_2_9>"]) == held
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)


def test_the_loss_covers_exactly_the_answer(aligned):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(aligned.out))
    stop = end_of_turn(tok)
    assert stop == "<|im_end|>"
    example = sft_example(tok, "Pick two clips.\n1)<|clip_start|><|clip_end|>", "2,1", stop)
    labelled = [t for t, lab in zip(example["input_ids"], example["labels"]) if lab != IGNORE]
    assert tok.decode(labelled, skip_special_tokens=False) == "2,1<|im_end|>"
    first = example["labels"].index(labelled[0])
    assert all(lab == IGNORE for lab in example["labels"][:first])
    assert example["labels"][first:] == example["input_ids"][first:]


def test_sft_learns_and_exports_a_plain_model(aligned, data_dir, recipe, tmp_path):
    losses = Losses()
    sft = run_stage(TrainRequest(stage="sft", data=data_dir, base=str(aligned.out), out=tmp_path / "sft",
                                 recipe=str(recipe), overrides={"epochs": 3}), losses)
    assert len(losses.losses) >= 20
    assert sum(losses.losses[-4:]) / 4 < losses.losses[0] - 1.0, losses.losses
    record = json.loads((tmp_path / "sft" / "adcut_model.json").read_text())
    assert record["state"] == "done" and record["stages"] == ["align", "sft"]
    assert record["metrics"]["eval_loss"] is not None and record["metrics"]["tokens_per_s"] > 0

    result = run("train", "export", tmp_path / "sft", "-o", tmp_path / "model")
    assert result.exit_code == 0, result.output
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(tmp_path / "model"))
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "model"))
    assert adcut_token_ids(tok) == adcut_token_ids(AutoTokenizer.from_pretrained(str(sft.out)))
    assert model.get_input_embeddings().weight.shape[0] >= len(tok)
    assert not (tmp_path / "model" / "checkpoints").exists()
    again = run("train", "export", tmp_path / "sft", "-o", tmp_path / "model")
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_sft_runs_a_training_sequence_once_in_its_order(aligned, data_dir, recipe, tmp_path, monkeypatch):
    from transformers import AutoTokenizer

    import adcut.train.sequence as sequence

    built = []
    real = sequence.training_sequence
    monkeypatch.setattr(sequence, "training_sequence", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    seen = []
    real_collate = D.Collator.__call__
    monkeypatch.setattr(D.Collator, "__call__", lambda self, rows: seen.extend(rows) or real_collate(self, rows))
    sft = run_stage(TrainRequest(stage="sft", data=data_dir, base=str(aligned.out), out=tmp_path / "seq",
                                 recipe=str(recipe), evaluate=False,
                                 overrides={"epochs": 2, "order_warmup_steps": 3, "reshuffle_clips": True}))
    (sequence_pairs,) = built
    assert len(sequence_pairs) == 3 * 4 + 2 * 48  # 12 train ads x 4 tasks, twice, after 3 batches of 4
    assert sft.record["metrics"]["steps"] == len(sequence_pairs) // 4
    tok = AutoTokenizer.from_pretrained(str(sft.out))
    fed = [tok.decode(row["input_ids"]) for row in seen]
    assert all("in the order of the ad script" in text for text in fed[:12])  # the warm-up: ordering alone
    assert [text.count("<|clip_start|>") for text in fed] == [
        (p + a).count("<|clip_start|>") for p, a in sequence_pairs]  # fed in the sequence's order
    assert sft.record["settings"]["reshuffle_clips"] is True


def test_sequence_settings_are_refused_for_alignment(data_dir, recipe, tmp_path):
    from adcut.core.errors import BadInputError

    with pytest.raises(BadInputError, match="SFT settings"):
        run_stage(TrainRequest(stage="align", data=data_dir, out=tmp_path / "a", recipe=str(recipe),
                               overrides={"order_warmup_steps": 3}))
    assert not (tmp_path / "a").exists()  # refused before anything is written


def test_lora_sft_straight_from_the_base_saves_a_merged_model(data_dir, recipe, tmp_path):
    result = run("train", "sft", "--data", data_dir, "--base", "tiny", "--stages", "sft", "--lora",
                 "--recipe", recipe, "-o", tmp_path / "lora", "--max-steps", 2, "--no-eval", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["stages"] == ["sft"] and record["settings"]["lora"]["r"] == 16
    assert record["vocab"]["added"] == 4106 and record["metrics"]["eval_loss"] is None
    assert (tmp_path / "lora" / "adapter" / "adapter_config.json").is_file()
    assert "lora" not in " ".join(_state(tmp_path / "lora"))  # merged: plain weights


def test_a_resumed_run_equals_an_uninterrupted_one(aligned, data_dir, recipe, tmp_path):
    out = tmp_path / "align"
    with pytest.raises(KeyboardInterrupt):
        run_stage(TrainRequest(stage="align", data=data_dir, out=out, recipe=str(recipe),
                               overrides={"max_steps": 4, "save_steps": 2}), Losses(stop_at=3))
    assert json.loads((out / "adcut_model.json").read_text())["state"] == "running"
    resumed = run_stage(TrainRequest(stage="align", data=data_dir, out=out, recipe=str(recipe), resume=True,
                                     overrides={"max_steps": 4, "save_steps": 2}))
    assert resumed.record["metrics"]["resumed_from"] == "checkpoint-2"
    a, b = _state(aligned.out), _state(out)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_bad_input_gets_one_line(aligned, data_dir, recipe, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["train", "align", "--data", empty, "-o", tmp_path / "r1"], "no build.json"),
        (["train", "align", "--data", tmp_path / "nowhere", "-o", tmp_path / "r2"], "does not exist"),
        (["train", "align", "--data", data_dir, "-o", aligned.out, "--recipe", recipe], "already holds a run"),
        (["train", "sft", "--data", data_dir, "-o", tmp_path / "r3", "--recipe", recipe], "needs --base"),
        (["train", "sft", "--data", data_dir, "--base", "tiny", "-o", tmp_path / "r4", "--recipe", recipe],
         "not an adcut alignment run"),
        (["train", "align", "--data", data_dir, "-o", tmp_path / "r5", "--recipe", "nope"], "unknown recipe"),
        (["train", "align", "--data", data_dir, "-o", tmp_path / "r6", "--recipe", recipe, "--resume"],
         "no run to resume"),
    ]
    other = write_dataset(tmp_path / "other", n_train=4, n_eval=0, tokenizers={"video": "x", "audio": "y"})
    cases.append((["train", "sft", "--data", other, "--base", aligned.out, "-o", tmp_path / "r7", "--recipe", recipe],
                  "built with other RQ-VAE tokenizers"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    cases.append((["train", "align", "--data", data_dir, "-o", tmp_path / "mine", "--recipe", recipe, "--force"],
                  "not an adcut run"))
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "build.json").write_text('{"format": "something-else"}')
    cases.append((["train", "align", "--data", tmp_path / "foreign", "-o", tmp_path / "r8"], "not an adcut dataset"))
    before = sorted(p.name for p in aligned.out.iterdir())
    for args, words in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.output
    assert sorted(p.name for p in aligned.out.iterdir()) == before
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    for name in ("r1", "r2", "r3", "r4", "r5", "r7", "r8"):
        assert not (tmp_path / name).exists() or not any((tmp_path / name).iterdir())


def test_out_of_memory_is_a_hint_not_a_traceback(data_dir, recipe, tmp_path, monkeypatch):
    import transformers

    def oom(self, *a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(transformers.Trainer, "train", oom)
    result = run("train", "align", "--data", data_dir, "-o", tmp_path / "oom", "--recipe", recipe)
    assert result.exit_code == 2
    assert "out of memory" in result.stderr and "--lora" in result.stderr


def test_the_gpu_recipe_dry_runs_on_a_cpu(data_dir, tmp_path):
    result = run("train", "align", "--recipe", "qwen3-8b", "--dry-run", "--data", data_dir, "-o", tmp_path / "dry",
                 "--json")
    assert result.exit_code == 0, result.output
    assert "GiB per GPU" in result.stderr and "8.22 B parameters" in result.stderr
    record = json.loads(result.stdout)
    assert record["dry_run"] and record["metrics"]["steps"] == 2 and record["settings"]["learning_rate"] == 5e-5
    assert record["settings"]["deepspeed"] == "zero2" and record["settings"]["bf16"]
    shutil.rmtree(tmp_path / "dry")


def test_answer_only_logits_give_the_models_own_loss(aligned, data_dir):
    """SFT computes the head only where a label follows: the loss is the model's own."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from adcut.train.data import Collator, sft_examples, sft_pairs
    from adcut.train.run import _answer_only_trainer

    tok = AutoTokenizer.from_pretrained(str(aligned.out))
    model = AutoModelForCausalLM.from_pretrained(str(aligned.out), dtype=torch.float32)
    rows = sft_examples(sft_pairs(data_dir, "train")[:5], tok, 4096).rows
    batch = Collator(tok.pad_token_id)(rows)
    trainer = _answer_only_trainer().__new__(_answer_only_trainer())
    with torch.no_grad():
        ours = trainer.compute_loss(model, batch)
        theirs = model(**batch).loss
    assert torch.allclose(ours, theirs, atol=1e-5)
