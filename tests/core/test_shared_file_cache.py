"""The file cache of an installation without Redis lists its folder (to cull it) now and
then, not on every write: the live visitor map writes a key per online visitor each second."""

from saruna.core import cache as shared


def test_writes_list_the_folder_only_every_few_seconds(tmp_path, monkeypatch):
    cache = shared.SharedFileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 10}})
    listings = []
    original = cache._list_cache_files
    monkeypatch.setattr(cache, "_list_cache_files", lambda: listings.append(1) or original())
    for number in range(50):
        cache.set(f"visitor-{number}", {"page": number})
    assert len(listings) == 1
    assert cache.get("visitor-49") == {"page": 49}

    later = shared.time.monotonic() + shared.CULL_CHECK_SECONDS
    monkeypatch.setattr(shared.time, "monotonic", lambda: later)
    cache.set("visitor-50", {"page": 50})
    assert len(listings) == 2
    assert len(original()) < 51  # culled (a third of the entries, as Django culls)
