"""Product facts for the task prompts: sidecar, products.csv, or a model's reading."""

from pathlib import Path

import pytest

from adcut.core.errors import BadInputError
from adcut.dataset.products import (from_table, parse_product_answer, read_products_csv,
                                    read_sidecar, split_points)


def test_sidecar_gives_product_brand_points_and_language(tmp_path: Path):
    video = tmp_path / "ad1.mp4"
    video.write_bytes(b"")
    (tmp_path / "ad1.json").write_text(
        '{"product": "Cold Brew", "brand": "Verde", "selling_points": ["18-hour steep", "no sugar"],'
        ' "language": "en"}', encoding="utf-8")
    facts = read_sidecar(video)
    assert facts.product.name == "Cold Brew" and facts.product.brand == "Verde"
    assert facts.product.selling_points == ["18-hour steep", "no sugar"]
    assert facts.source == "sidecar" and facts.language == "en"
    assert read_sidecar(tmp_path / "other.mp4") is None


def test_broken_sidecar_is_one_clear_error(tmp_path: Path):
    (tmp_path / "ad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BadInputError, match="not valid JSON"):
        read_sidecar(tmp_path / "ad.mp4")
    (tmp_path / "ad.json").write_text('{"brand": "x"}', encoding="utf-8")
    with pytest.raises(BadInputError, match="names no product"):
        read_sidecar(tmp_path / "ad.mp4")


def test_products_csv_keys_by_file_name_with_or_without_extension(tmp_path: Path):
    csv = tmp_path / "products.csv"
    csv.write_text("file,product,brand,selling_points\n"
                   "a.mp4,Tea,Leaf,calm|warm\n"
                   "b,Shoes,Run,light;fast\n", encoding="utf-8")
    table = read_products_csv(csv)
    assert from_table(Path("/x/a.mp4"), table).product.selling_points == ["calm", "warm"]
    assert from_table(Path("/y/b.mov"), table).product.name == "Shoes"
    assert from_table(Path("/y/c.mp4"), table) is None


def test_products_csv_missing_columns_are_named(tmp_path: Path):
    csv = tmp_path / "products.csv"
    csv.write_text("file,product\na.mp4,Tea\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="brand, selling_points"):
        read_products_csv(csv)


def test_chinese_points_split_on_the_papers_separators():
    assert split_points("冰凉透气，弹力舒适、不起球") == ["冰凉透气", "弹力舒适", "不起球"]
    assert split_points(None) == []


def test_model_answer_parsed_and_capped():
    p = parse_product_answer("brand: Verde\nproduct: Cold Brew\nfeatures: smooth, 18-hour steep, "
                             "no sugar, oat milk, glass bottle, extra")
    assert p.name == "Cold Brew" and p.brand == "Verde" and len(p.selling_points) == 5
    assert parse_product_answer("brand: none\nproduct: none\nfeatures:") is None
    zh = parse_product_answer("brand：胎宝\nproduct：孕妇钙片\nfeatures：含210毫克钙、不含重金属")
    assert zh.name == "孕妇钙片" and zh.selling_points == ["含210毫克钙", "不含重金属"]


def test_a_model_behind_an_openai_endpoint_reads_the_facts_from_the_lines():
    from adcut.dataset.products import ask_model
    from adcut.planner.backends import OpenAIBackend
    from tests.planner_llm import serve

    with serve(["brand: Verde\nproduct: Cold Brew\nfeatures: smooth, low in acid"]) as srv:
        facts = ask_model(OpenAIBackend(srv.url, "tiny-chat"),
                          ["Meet Verde Cold Brew.", "Smooth and low in acid."])
    assert facts.source == "llm" and facts.product.name == "Cold Brew"
    assert facts.product.selling_points == ["smooth", "low in acid"]
    prompt = srv.requests[0][3]["messages"][0]["content"]
    assert "Meet Verde Cold Brew.\nSmooth and low in acid." in prompt
    with serve(["product: none"]) as srv:
        assert ask_model(OpenAIBackend(srv.url, "tiny-chat"), ["Hello."]) is None
