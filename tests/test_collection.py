from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from builder.collect.collection import assign_ids, read_metadata, scan, slugify
from builder.errors import MetadataError, VsisError

from .conftest import drawing, write_collection


def test_scan_finds_supported_images_recursively_and_ignores_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "c"
    write_collection(root, {"": 1, "a": 1, "a/deep": 1})
    drawing(10).save(root / "photo.JPG")
    drawing(11).save(root / "a" / "pic.webp")
    drawing(12).save(root / "a" / "pic.bmp")
    drawing(13).save(root / "a" / "scan.tiff")
    drawing(14).save(root / "anim.gif")
    (root / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    drawing(15).save(root / ".hidden" / "secret.png")
    collection = scan(root)
    assert sorted(i.relpath for i in collection.items) == sorted(
        [
            "img_000.png",
            "a/img_001.png",
            "a/deep/img_002.png",
            "photo.JPG",
            "a/pic.webp",
            "a/pic.bmp",
            "a/scan.tiff",
            "anim.gif",
        ]
    )


def test_ids_are_url_safe_stable_and_unique() -> None:
    rels = [
        "Animals/Cat.png",
        "animals/cat.jpg",
        "animals/cat.png",
        "Ünïcode Pic <b>.png",
        "日本.png",
        "中国.png",
        "animals/dog_1.png",
    ]
    ids = assign_ids(rels)
    assert len(set(ids.values())) == len(rels)
    for value in ids.values():
        assert all(c.isalnum() and c.isascii() or c in "-_" for c in value), value
    # a path in id form keeps its slug; any other gets a suffix from a hash of its own path
    assert ids["animals/dog_1.png"] == "animals-dog_1"
    assert ids["Ünïcode Pic <b>.png"].startswith("unicode-pic-b-") and len(ids["Ünïcode Pic <b>.png"]) == 20
    assert ids["Animals/Cat.png"].startswith("animals-cat-")
    # two paths in id form that differ only by their type both take a suffix
    assert ids["animals/cat.jpg"] != ids["animals/cat.png"] and ids["animals/cat.png"].startswith("animals-cat-")
    assert assign_ids(list(reversed(rels))) == ids  # the result does not depend on input order
    # an unrelated file added later does not change existing ids
    assert {k: v for k, v in assign_ids(rels + ["dogs/rex.png", "ANIMALS/DOG_1.png"]).items() if k in ids} == ids


def test_slugify_never_returns_empty() -> None:
    assert slugify("!!!") == "item"
    assert slugify("A  b__C") == "a-b__c"
    assert slugify("_x_") == "x"


def test_parent_folder_is_category_when_the_collection_has_folders(small_collection: Path) -> None:
    collection = scan(small_collection)
    assert collection.categories == ["blue", "green", "red"]
    assert {i.category for i in collection.items if i.relpath.startswith("red/")} == {"red"}


def test_flat_collection_has_no_categories(tmp_path: Path) -> None:
    write_collection(tmp_path, {"": 3})
    assert scan(tmp_path).categories == []


def test_content_hash_is_of_the_bytes(tmp_path: Path) -> None:
    write_collection(tmp_path, {"": 2})
    (tmp_path / "copy.png").write_bytes((tmp_path / "img_000.png").read_bytes())
    by_rel = {i.relpath: i for i in scan(tmp_path).items}
    assert by_rel["copy.png"].content_hash == by_rel["img_000.png"].content_hash
    assert by_rel["img_001.png"].content_hash != by_rel["img_000.png"].content_hash


def test_csv_metadata_joins_on_file_name_and_keeps_extra_columns(small_collection: Path, tmp_path: Path) -> None:
    meta = tmp_path / "meta.csv"
    meta.write_text(
        "File,Title,Artist,Date,Medium,Dimensions,URL,Provenance\n"
        "red/img_000.png,Sunset,Ann Example,1901,Oil on canvas,10 x 20 cm,https://example.org/1,Gift of B\n"
        'img_004.png,Sea,"Doe, Jane",,,,,\n'  # joined by base name
        "missing.png,Ghost,,,,,,\n",
        encoding="utf-8",
    )
    collection = scan(small_collection, meta)
    by_rel = {i.relpath: i for i in collection.items}
    sunset = by_rel["red/img_000.png"]
    assert (sunset.title, sunset.artist, sunset.date, sunset.medium, sunset.dimensions, sunset.url) == (
        "Sunset",
        "Ann Example",
        "1901",
        "Oil on canvas",
        "10 x 20 cm",
        "https://example.org/1",
    )
    assert sunset.extra == {"provenance": "Gift of B"}
    assert by_rel["blue/img_004.png"].artist == "Doe, Jane"
    assert by_rel["red/img_001.png"].title == "img 001"  # no record: title from the file name
    assert collection.unmatched_metadata == 1


def test_json_metadata_with_artist_lists_and_id_join(small_collection: Path, tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(
        json.dumps(
            [
                {"id": "green-img_008", "Title": "Forest", "Artist": ["A. One", "B. Two"], "category": "landscape"},
                {"id": "red-img_000", "Title": "Ünïcode ☃", "Artist": None},
            ]
        ),
        encoding="utf-8",
    )
    by_id = {i.id: i for i in scan(small_collection, meta).items}
    assert by_id["green-img_008"].artist == "A. One, B. Two"
    assert by_id["green-img_008"].category == "landscape"  # metadata category wins over the folder
    assert by_id["red-img_000"].title == "Ünïcode ☃"
    assert by_id["red-img_000"].artist == ""


def test_metadata_key_option_picks_the_join_column(small_collection: Path, tmp_path: Path) -> None:
    meta = tmp_path / "meta.csv"
    meta.write_text("image_name,title\nred/img_001.png,Chosen\n", encoding="utf-8")
    with pytest.raises(MetadataError, match="no column to join on"):
        scan(small_collection, meta)
    by_rel = {i.relpath: i for i in scan(small_collection, meta, metadata_key="image_name").items}
    assert by_rel["red/img_001.png"].title == "Chosen"


def test_metadata_naming_a_file_outside_the_collection_is_refused(small_collection: Path, tmp_path: Path) -> None:
    meta = tmp_path / "meta.csv"
    meta.write_text("file,title\n../red/img_000.png,Escape\nred/img_000.png,Inside\n", encoding="utf-8")
    warnings: list[str] = []
    by_rel = {i.relpath: i for i in scan(small_collection, meta, warn=warnings.append).items}
    assert by_rel["red/img_000.png"].title == "Inside"
    assert any("outside the collection" in w and "../red/img_000.png" in w for w in warnings)


def test_malformed_csv_and_json_name_the_line(tmp_path: Path) -> None:
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text('file,title\na.png,ok\nb.png,"unclosed\n', encoding="utf-8")
    with pytest.raises(MetadataError, match=r"bad\.csv.*line 3"):
        read_metadata(bad_csv)
    extra = tmp_path / "extra.csv"
    extra.write_text("file,title\na.png,one,two\n", encoding="utf-8")
    with pytest.raises(MetadataError, match=r"line 2 has 3 fields"):
        read_metadata(extra)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('[\n {"file": "a.png"},\n {"file": }\n]', encoding="utf-8")
    with pytest.raises(MetadataError, match=r"bad\.json: invalid JSON at line 3"):
        read_metadata(bad_json)


def test_missing_or_empty_collection_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VsisError, match="collection folder not found"):
        scan(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VsisError, match="no images found"):
        scan(tmp_path / "empty")


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    write_collection(tmp_path, {"a": 2})
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    collection = scan(tmp_path)
    assert sorted(i.relpath for i in collection.items) == ["a/img_000.png", "a/img_001.png"]
    assert any("symlink loop" in reason for _, reason in collection.skipped)


def test_the_hash_cache_reads_only_new_or_changed_files(tmp_path: Path) -> None:
    from builder.cache import FileFacts, HashCache
    from builder.collect.collection import identify

    paths = write_collection(tmp_path / "images", {"": 3})
    read: list[str] = []

    def counting(path: Path) -> FileFacts:
        read.append(path.name)
        return identify(path)

    cache = HashCache(tmp_path / "hashes.json", counting)
    first = scan(tmp_path / "images", identify=cache)
    cache.save()
    assert len(read) == 3
    assert all(i.pixels == (96, 96) for i in first.items)  # read from the header, remembered with the hash
    read.clear()
    drawing(50).save(paths[0])  # same path, new content
    cache = HashCache(tmp_path / "hashes.json", counting)
    second = scan(tmp_path / "images", identify=cache)
    cache.save()
    assert read == [paths[0].name]
    assert second.items[0].content_hash == identify(paths[0]).content_hash != first.items[0].content_hash
    assert [i.content_hash for i in second.items[1:]] == [i.content_hash for i in first.items[1:]]
    assert [i.pixels for i in second.items] == [i.pixels for i in first.items]  # remembered, not read again


def test_a_file_rewritten_in_place_with_its_size_and_time_put_back_is_read_again(tmp_path: Path) -> None:
    """Size, modification time and inode all stay when a tool rewrites a file in place and restores its
    time (`touch -r`, some editors and sync tools); its change time does not."""
    from builder.cache import HashCache
    from builder.collect.collection import identify

    (path,) = write_collection(tmp_path / "images", {"": 1})
    cache = HashCache(tmp_path / "hashes.json", identify)
    first = scan(tmp_path / "images", identify=cache).items[0].content_hash
    cache.save()
    before = os.stat(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same length
    time.sleep(0.01)  # a change time the clock can tell apart
    with path.open("r+b") as fh:  # in place: the inode stays
        fh.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    second = scan(tmp_path / "images", identify=HashCache(tmp_path / "hashes.json", identify)).items[0].content_hash
    assert second == identify(path).content_hash != first
