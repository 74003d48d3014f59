import hashlib
import sqlite3

import pytest

from adcut.core.errors import LibraryError, SchemaTooNewError
from adcut.library.catalog import (Catalog, ClipRecord, EmbeddingRecord, SourceBundle,
                                   SourceRecord)
from adcut.library.schema import SCHEMA_VERSION


def source(sid="fabc", path="/x/a.mp4"):
    return SourceRecord(id=sid, kind="footage", path=path, content_hash=sid * 4, size_bytes=10,
                        mtime_ns=1, container="mov", duration_s=2.0, decoded_s=2.0, width=320,
                        height=240, rotation_deg=0, fps=25.0, is_vfr=False, has_audio=False)


def clip(sid, idx):
    return ClipRecord(id=f"{sid}-{idx:04d}", idx=idx, start_s=idx, end_s=idx + 1, start_f=25 * idx,
                      end_f=25 * idx + 25, emb_row=idx, thumb="t.jpg", speech_prob=None,
                      music_prob=None, has_speech=False, has_music=False, labels=[("tench", 0.5)],
                      transcript="", caption="")


def test_new_library_gets_current_schema(tmp_path):
    with Catalog(tmp_path / "lib") as cat:
        assert cat.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert cat.get_meta("created_by").startswith("adcut ")
        assert cat.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused_and_left_untouched(tmp_path):
    lib = tmp_path / "lib"
    Catalog(lib).close()
    con = sqlite3.connect(lib / "catalog.sqlite")
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in lib.iterdir()}
    with pytest.raises(SchemaTooNewError, match=f"schema v{SCHEMA_VERSION + 1}"):
        Catalog(lib)
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in lib.iterdir()}
    assert before == after


def test_not_a_catalog_and_file_as_library(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "catalog.sqlite").write_text("hello, not sqlite" * 100)
    with pytest.raises(LibraryError, match="not an adcut catalog"):
        Catalog(lib)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(LibraryError, match="is a file"):
        Catalog(f)
    with pytest.raises(LibraryError, match="not an adcut library"):
        Catalog(tmp_path / "missing", readonly=True)


def test_bundle_is_all_or_nothing(tmp_path):
    with Catalog(tmp_path / "lib") as cat:
        good = SourceBundle(source=source(), clips=[clip("fabc", 0), clip("fabc", 1)],
                            embeddings=[EmbeddingRecord("clips", "enc", "1", 4, 2, "e.npy")])
        cat.write_bundle(good)
        # A clip id that collides makes the second bundle fail half way: nothing of it may stay.
        bad = SourceBundle(source=source("fdef", "/x/b.mp4"),
                           clips=[clip("fdef", 0), clip("fabc", 0)])
        with pytest.raises(LibraryError, match="refused a write") as caught:
            cat.write_bundle(bad)
        assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
        assert [s["id"] for s in cat.sources()] == ["fabc"]
        assert len(cat.clips()) == 2
        assert cat.encoders_in_use("clips") == {("enc", "1")}


def test_replacing_a_source_cascades(tmp_path):
    with Catalog(tmp_path / "lib") as cat:
        cat.write_bundle(SourceBundle(source=source(), clips=[clip("fabc", 0)]))
        cat.write_bundle(SourceBundle(source=source("fnew"), clips=[clip("fnew", 0)]),
                         replaces="fabc")
        assert [c["id"] for c in cat.clips()] == ["fnew-0000"]
        # vec ids are never reused, so a stale index entry cannot alias a new clip
        assert cat.clips()[0]["vec_id"] == 2


@pytest.mark.hostile("message")
def test_a_write_to_a_read_only_catalog_is_one_library_error(tmp_path):
    Catalog(tmp_path / "lib").close()
    with Catalog(tmp_path / "lib", readonly=True) as cat:
        with pytest.raises(LibraryError, match="cannot be written .attempt to write a readonly "
                                               "database") as caught:
            with cat.transaction() as con:
                con.execute("INSERT INTO meta(key, value) VALUES ('x', 'y')")
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)


@pytest.mark.hostile("half-written")
def test_a_full_disk_under_the_catalog_is_one_library_error_and_rolls_back(tmp_path):
    from tests import faults

    with faults.small_disk(tmp_path / "disk", 1024) as disk:
        with Catalog(disk / "lib") as cat:
            cat.write_bundle(SourceBundle(source=source(), clips=[clip("fabc", 0)]))
            faults.fill(disk / "lib")
            big = [ClipRecord(**{**clip("fdef", i).__dict__, "caption": "x" * 20_000})
                   for i in range(10)]
            with pytest.raises(LibraryError, match="no space left to write the catalog"):
                cat.write_bundle(SourceBundle(source=source("fdef", "/x/b.mp4"), clips=big))
            assert [s["id"] for s in cat.sources()] == ["fabc"]
            assert cat.integrity_problems() == []
        (disk / "lib" / ".filler").unlink()
        with Catalog(disk / "lib") as cat:
            cat.write_bundle(SourceBundle(source=source("fdef", "/x/b.mp4"), clips=big))
            assert len(cat.clips()) == 11
