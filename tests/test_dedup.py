from __future__ import annotations

import pytest

from aggregator.dedup import canonical_url, content_hash, entry_fingerprint, words
from aggregator.models import Entry


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/a", "http://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://user:pw@example.com/a", "https://example.com/a"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/a/b/..", "https://example.com/a/"),
        ("https://example.com/%7euser/%41", "https://example.com/~user/A"),
        ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
        ("https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9"),
        ("https://example.com/café", "https://example.com/caf%C3%A9"),
        ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://example.com/Path/", "https://example.com/Path/"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        (
            "https://example.com/a?utm_source=rss&utm_medium=feed&id=7&fbclid=x&gclid=y&mc_cid=z",
            "https://example.com/a?id=7",
        ),
        ("https://example.com/a?UTM_Campaign=x", "https://example.com/a"),
        ("https://example.com/a?q=a+b", "https://example.com/a?q=a%20b"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("not a url", "not a url"),
        ("https://[::1]:8080/x", "https://[::1]:8080/x"),
        ("https://example.com:99999/x", "https://example.com:99999/x"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent() -> None:
    for url in ("HTTP://Ex.com:80/a/../b?utm_x=1&z=2&a=%7e", "https://ex.com/caf%c3%a9?x=a+b"):
        once = canonical_url(url)
        assert canonical_url(once) == once


def test_words_fold_case_and_drop_punctuation() -> None:
    assert words("Hello, WORLD! Straße…") == ["hello", "world", "strasse"]


def test_content_hash_ignores_spacing_case_and_punctuation() -> None:
    text = " ".join(f"word{i}" for i in range(40))
    assert content_hash(text) == content_hash("  " + text.upper().replace(" ", " ,\n "))
    assert content_hash(text) != content_hash(text + " more")


def test_content_hash_refuses_short_texts() -> None:
    assert content_hash("Read more") is None


def test_entry_fingerprint_tracks_what_the_feed_says() -> None:
    entry = Entry(id="1", title="A", url="https://example.com/a", summary="s")
    same = Entry(id="1", title="A", url="https://example.com/a", summary="s", tags=("x",))
    edited = Entry(id="1", title="A (updated)", url="https://example.com/a", summary="s")
    assert entry_fingerprint(entry) == entry_fingerprint(same)
    assert entry_fingerprint(entry) != entry_fingerprint(edited)
