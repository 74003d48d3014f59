"""Messy result files: each case with its message or count, and never a crash."""

from __future__ import annotations

import json

import pytest

from adcut.core.errors import BadInputError
from adcut.eval import run_eval
from adcut.eval.files import load_result_file, name_parts, score_file
from tests.eval import cli, release_row


def _write(path, lines, final_newline=True):
    path.write_text("\n".join(lines) + ("\n" if final_newline else ""), encoding="utf-8")
    return path


def test_trailing_characters_repeats_and_no_final_newline(tmp_path):
    path = _write(tmp_path / "F___vidsort_x.jsonl", [
        release_row(0, gold="2,1", pred="2,1"),
        release_row(1, gold="1,2", pred="1,2") + "}}garbage",  # decode the leading object
        release_row(0, gold="2,1", pred="1,2"),  # repeated sample: the first occurrence counts
        release_row(2, gold="1,2,3", pred="3,2,1"),  # the last line has no newline
    ], final_newline=False)
    rf = load_result_file(path)
    assert rf.kind == "sort" and rf.system == "x"
    res = score_file(rf)
    assert res["n_lines_repaired"] == 1 and res["n_duplicates_dropped"] == 1
    assert res["n_rows_raw"] == 4 and res["n_rows"] == 3 and res["n_exact"] == 2
    text = "\n".join(res["problems"])
    assert "F___vidsort_x.jsonl line 2: 9 trailing characters after the JSON object ignored" in text
    assert "F___vidsort_x.jsonl line 3: sample_id 0 repeats line 1; the first occurrence counts" in text


def test_unreadable_lines_and_missing_fields_are_counted(tmp_path):
    path = _write(tmp_path / "F___vidselect_x.jsonl", [
        release_row(0, task="vid_select", gold="1,2", pred="1,2"),
        "this line is not json",
        "[1, 2]",
        json.dumps({"sample_id": 3, "task": "vid_select", "ad_key": {}, "model_generate": "1"}),  # no conversations
        release_row(4, task="vid_select", gold="1,3", pred=None),  # no model_generate: wrong
        release_row(5, task="vid_sort", gold="1,3", pred="1,3"),  # another task's row
    ])
    res = score_file(load_result_file(path))
    assert res["kind"] == "select"
    assert res["n_lines_unreadable"] == 2 and res["n_rows_invalid"] == 2
    assert res["n_rows"] == 2 and res["n_hit"] == 1 and res["n_pred_missing"] == 1
    text = "\n".join(res["problems"])
    assert "line 2: not JSON" in text
    assert "line 3: a JSON list, not an object; line skipped" in text
    assert "line 4: no conversations list; row skipped" in text
    assert "line 5: no model_generate; scored as an empty output" in text
    assert "line 6: task 'vid_sort' in a vid_select file; row skipped" in text


def test_stray_text_in_outputs(tmp_path):
    path = _write(tmp_path / "F___vidsort_x.jsonl", [
        release_row(0, gold="3,1,2", pred="正确顺序是：3,1,2"),  # ids read out of the prose
        release_row(1, gold="3,1,2", pred="<think>先看台词</think>\n我认为应该是片段三，然后一和二"),  # no ids
    ])
    res = score_file(load_result_file(path))
    assert res["n_exact"] == 1 and res["CRA"] == 0.5
    assert res["n_malformed"] == 1  # counted as wrong, not skipped


def test_judge_file_that_is_one_json_object_despite_jsonl(tmp_path):
    doc = {"model_VSC": 1.5, "ads_evaluated": 2, "ads_skipped": 0, "ads": [
        {"meta": {"product": "a", "brand": "b", "features": "[]"}, "vsc_ad": 2.0, "pairs": [{"score": 2}]},
        {"meta": {"product": "c", "brand": "d", "features": "[]"}, "vsc_ad": 1.0, "pairs": [{"score": 1}]},
        {"meta": {"product": "a", "brand": "b", "features": "[]"}, "vsc_ad": 0.0, "pairs": [{"score": 0}]},
    ]}
    path = tmp_path / "VSC___vidsort_x.jsonl"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    res = score_file(load_result_file(path))
    assert res["kind"] == "vsc" and res["VSC"] == 1.5 and res["n_ads"] == 2
    assert res["n_duplicates_dropped"] == 1 and res["stored_model_VSC"] == 1.5
    assert "VSC___vidsort_x.jsonl entry 3: ad 'a' repeats entry 1; the first occurrence counts" in res["problems"]
    path.write_text(json.dumps(doc, indent=2) + "\n}garbage", encoding="utf-8")  # trailing characters
    res = score_file(load_result_file(path))
    assert res["VSC"] == 1.5 and res["n_lines_repaired"] == 1


def test_sq_file_with_duplicates_and_a_missing_output(tmp_path):
    ok = "```json\n{\"基础质量\": 28, \"表达与沟通\": 30, \"长度与节奏\": 20, \"总分\": 78}\n```"
    path = _write(tmp_path / "SQ_x.jsonl", [
        json.dumps({"ref_script": "甲", "model_output": ok}, ensure_ascii=False),
        json.dumps({"ref_script": "甲", "model_output": "总分: 10"}, ensure_ascii=False),  # repeat
        json.dumps({"ref_script": "乙"}, ensure_ascii=False),  # no judge output: counted, no score
    ])
    res = score_file(load_result_file(path))
    assert res["kind"] == "sq" and res["SQ"] == 78 and res["n_rows"] == 2 and res["n_parsed"] == 1
    assert res["n_duplicates_dropped"] == 1
    assert any("line 3: no model_output" in p for p in res["problems"])


def test_music_rankings_in_upstream_and_own_names(tmp_path):
    path = _write(tmp_path / "F2___audrank_x.jsonl", [
        json.dumps({"sample_id": 0, "predict_aud_id": [5, 7, 9, -1], "photo_id": 7}),
        json.dumps({"sample_id": 1, "ranking": [1, 2], "gt": 3}),
        json.dumps({"sample_id": 2, "predict_aud_id": [1]}),  # no original track: not counted
    ])
    res = score_file(load_result_file(path))
    assert res["kind"] == "music" and res["n_queries"] == 2 and res["n_rows_invalid"] == 1
    assert res["R@1"] == 0 and res["R@5"] == 0.5 and res["MRR"] == 0.25
    assert res["median_rank"] == 2.5  # ranks 2 and a miss below a 2-track list (3)


def test_own_format(tmp_path):
    path = _write(tmp_path / "mine.jsonl", [
        json.dumps({"id": "a", "task": "sort", "gold": [3, 1, 2], "prediction": [3, 1, 2]}),
        json.dumps({"id": "b", "task": "sort", "gold": "1,2", "prediction": "2,1"}),
    ])
    res = score_file(load_result_file(path))
    assert res["kind"] == "sort" and res["format"] == "own" and res["CRA"] == 0.5
    path = _write(tmp_path / "mine_script.jsonl", [
        json.dumps({"id": 1, "task": "script", "gold": ["你好", "再见"], "prediction": "你好\n再见了"},
                   ensure_ascii=False)])
    assert score_file(load_result_file(path))["WCD"] == 0.5


@pytest.mark.parametrize("content, message", [
    ("", "empty file"),
    ("  \n\n", "empty file"),
    ("a,b,c\n1,2,3\n", "not JSONL: no line holds a JSON object (line 1: not JSON"),
    ("[1, 2, 3]\n", "not JSONL: no line holds a JSON object (line 1: a JSON list, not an object)"),
    ('[{"sample_id": 1}]', "not JSONL"),
    (json.dumps({"foo": 1}) + "\n", "cannot tell which task"),
])
def test_unusable_files_raise_one_clear_line(tmp_path, content, message):
    path = tmp_path / "results.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInputError) as err:
        load_result_file(path)
    assert message in str(err.value) and "results.jsonl" in str(err.value)


def test_a_pretty_printed_array_of_rows_is_read_with_a_note(tmp_path):
    rows = [json.loads(release_row(0, gold="1,2", pred="1,2")), json.loads(release_row(1, gold="1,2", pred="2,1"))]
    path = tmp_path / "F___vidsort_x.jsonl"
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    res = score_file(load_result_file(path))
    assert res["CRA"] == 0.5
    assert "F___vidsort_x.jsonl: one JSON array, not JSONL; its elements read as rows" in res["problems"]


def test_cli_bad_input_exits_2_with_the_file_named(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    code, out, err = cli("eval", tmp_path / "empty.jsonl")
    assert code == 2 and out == "" and "empty.jsonl: empty file" in err
    code, _, err = cli("eval", tmp_path / "nope.jsonl")
    assert code == 2 and "nope.jsonl: no such file" in err
    folder = tmp_path / "nothing"
    folder.mkdir()
    code, _, err = cli("eval", folder)
    assert code == 2 and "a folder without result files" in err
    code, _, err = cli("eval")
    assert code == 2 and "no result files given" in err
    code, _, err = cli("eval", tmp_path / "empty.jsonl", "--task", "bogus")
    assert code == 2 and "unknown task" in err


def test_forcing_a_wrong_task_is_refused(tmp_path):
    path = tmp_path / "SQ_x.jsonl"
    path.write_text(json.dumps({"ref_script": "甲", "model_output": "总分: 1"}, ensure_ascii=False) + "\n")
    with pytest.raises(BadInputError, match="holds sq results, not music"):
        load_result_file(path, "music")


def test_sq_task_on_script_results_needs_a_judge(tmp_path):
    path = _write(tmp_path / "F___vid2text_x.jsonl", [release_row(0, task="vid2text", gold="你好", pred="你好")])
    with pytest.raises(BadInputError, match="SQ needs a judge"):
        run_eval([path], task="sq")


def test_file_names_give_kind_and_system():
    from pathlib import Path

    assert name_parts(Path("F___vidselect_gpt4o.jsonl")) == ("select", "gpt4o")
    assert name_parts(Path("VSC___vidsort_atc_embsft.jsonl")) == ("vsc", "atc_embsft")
    assert name_parts(Path("SQ__atc_embsft.jsonl")) == ("sq", "atc_embsft")
    assert name_parts(Path("SQ_gpt4o.jsonl")) == ("sq", "gpt4o")
    assert name_parts(Path("F2___audrank_atc_embsft_wgt.jsonl")) == ("music", "atc_embsft_wgt")
    assert name_parts(Path("mine.jsonl")) == (None, "mine")
