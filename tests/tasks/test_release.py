from __future__ import annotations

import json

import pytest

from adcut.tasks.release import ReleaseRow, dump_release_row, load_release_rows
from tests.tasks import RELEASE_FILES, dev_dir

DEV = dev_dir()


def _row(sample_id, task="vid_sort", gold="2,1", pred="1,2", prompt="提示", **extra):
    obj = {"sample_id": sample_id, "task": task, "ad_key": {"chunk_id": 99, "ad_id": 100 + int(sample_id)},
           "conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": gold}],
           "system": "", "tools": "", "model_generate": pred}
    obj.update(extra)
    return json.dumps(obj, ensure_ascii=False)


def test_messy_file(tmp_path):
    lines = [
        _row(0),
        _row(1) + "}}garbage",  # trailing characters after the object
        "",  # empty line
        "   ",
        _row(0, pred="9,9"),  # repeated sample: the first occurrence counts
        json.dumps({"sample_id": 2, "task": "vid_sort", "ad_key": {}, "model_generate": "1"}),  # no conversations
        json.dumps({"task": "vid_sort"}),  # no sample_id
        "not json at all",
        "[1, 2, 3]",
        _row(3, pred=None),
        json.dumps({"sample_id": 4, "task": "vid2text", "ad_key": {"chunk_id": 99, "ad_id": 1},
                    "conversations": [{"from": "human", "value": "p"}]}),  # no gold turn
        _row(5, pred="行一\u2028仍是行一"),  # U+2028 unescaped inside a string
        _row(6),  # no final newline after this one
    ]
    path = tmp_path / "F___vidsort_x.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    rows, problems = load_release_rows(path)
    assert [r.sample_id for r in rows] == [0, 1, 3, 5, 6]
    assert rows[0].model_generate == "1,2"  # not the repeat's 9,9
    assert rows[0].line_no == 1 and rows[1].line_no == 2
    assert rows[2].model_generate is None
    assert rows[3].model_generate == "行一\u2028仍是行一"
    assert all(p.startswith("F___vidsort_x.jsonl line ") for p in problems)
    text = "\n".join(problems)
    assert "line 2: 9 trailing characters" in text
    assert "line 5: sample_id 0 repeats line 1; the first occurrence counts" in text
    assert "line 6: no conversations" in text
    assert "line 7: no integer sample_id" in text
    assert "line 8: not JSON" in text
    assert "line 9: a JSON list, not an object" in text
    assert "line 11: no gpt (gold) turn" in text
    assert len(problems) == 7


def test_odd_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    assert load_release_rows(tmp_path / "empty.jsonl") == ([], ["empty.jsonl: empty file"])
    rows, problems = load_release_rows(tmp_path / "missing.jsonl")
    assert rows == [] and "cannot be read" in problems[0]
    (tmp_path / "vsc.jsonl").write_text(json.dumps({"model_VSC": 1.1, "ads": []}, indent=2))
    assert load_release_rows(tmp_path / "vsc.jsonl")[1] == ["vsc.jsonl: one JSON document, not JSONL (one row per line)"]
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + _row(1).encode() + b"\r\n" + _row(2).encode() + b"\r\n")
    rows, problems = load_release_rows(tmp_path / "bom.jsonl")
    assert [r.sample_id for r in rows] == [1, 2] and problems == []
    (tmp_path / "latin.jsonl").write_bytes(_row(1).encode() + b"\n\xff\xfe\n")
    rows, problems = load_release_rows(tmp_path / "latin.jsonl")
    assert [r.sample_id for r in rows] == [1] and "not valid UTF-8" in problems[0]
    (tmp_path / "str_id.jsonl").write_text(_row("7") + "\n", encoding="utf-8")
    assert load_release_rows(tmp_path / "str_id.jsonl")[0][0].sample_id == 7


def test_gold_is_the_last_gpt_turn_and_prompt_the_first_human_turn(tmp_path):
    obj = {"sample_id": 1, "task": "vid2text", "ad_key": {"chunk_id": 99, "ad_id": 3},
           "conversations": [{"from": "human", "value": "P1"}, {"from": "gpt", "value": "G1"},
                             {"from": "human", "value": "P2"}, {"from": "gpt", "value": "G2"}],
           "model_generate": 12}
    (tmp_path / "f.jsonl").write_text(json.dumps(obj))
    (row,), problems = load_release_rows(tmp_path / "f.jsonl")
    assert (row.prompt, row.gold, row.model_generate) == ("P1", "G2", "12")


def test_dump_writes_the_release_format():
    row = ReleaseRow(sample_id=3, task="vid_select", ad_key={"chunk_id": 99, "ad_id": 5595},
                     prompt="你是…", gold="1,3", model_generate=None, line_no=1)
    line = dump_release_row(row, "1,3")
    assert "\n" not in line
    obj = json.loads(line)
    assert list(obj) == ["sample_id", "task", "ad_key", "conversations", "system", "tools", "model_generate"]
    assert obj["conversations"] == [{"from": "human", "value": "你是…"}, {"from": "gpt", "value": "1,3"}]
    assert obj["model_generate"] == "1,3"
    assert "你是" in line  # not \u-escaped, as upstream


@pytest.mark.skipif(DEV is None, reason="autocut364 dev files not present")
@pytest.mark.parametrize("name", sorted(RELEASE_FILES))
def test_dump_reproduces_released_lines(name):
    rows, problems = load_release_rows(DEV / name)
    assert problems == []
    lines = (DEV / name).read_text(encoding="utf-8").split("\n")
    for row in rows:
        assert dump_release_row(row, row.model_generate) == lines[row.line_no - 1]
