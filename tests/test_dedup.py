from __future__ import annotations

import random

import pytest

from aggregator import dedup
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


# --- near-duplicates --------------------------------------------------------------------------


def _text(seed: int, words: int = 300) -> str:
    rng = random.Random(seed)
    vocabulary = [
        f"{a}{b}" for a in "bcdfghklmnprstvz" for b in ("a", "e", "i", "o", "u", "ar", "en")
    ]
    return " ".join(rng.choice(vocabulary) for _ in range(words))


def _edited(text: str, edits: int, extra: int, seed: int) -> str:
    rng = random.Random(seed)
    tokens = text.split()
    for _ in range(edits):
        tokens[rng.randrange(len(tokens))] = "edited"
    return " ".join(tokens) + " " + _text(seed + 10_000, extra)


def test_an_excerpt_overlaps_its_original() -> None:
    original = _text(5, 400)
    excerpt = " ".join(original.split()[:250])
    a, b = dedup.shingles(original), dedup.shingles(excerpt)
    assert dedup.overlap(a, b) == 1.0
    assert set(dedup.near_keys(a)) & set(dedup.near_keys(b))


def test_a_lightly_edited_copy_shares_bands_and_resembles_its_original() -> None:
    original = _text(1)
    copy = _edited(original, edits=10, extra=40, seed=2)
    a, b = dedup.shingles(original), dedup.shingles(copy)
    assert dedup.overlap(a, b) > 0.7
    shared = set(dedup.near_keys(a)) & set(dedup.near_keys(b))
    assert len(shared) >= dedup.NEAR_MIN_BANDS


def test_unrelated_texts_share_almost_no_bands() -> None:
    keys = [set(dedup.near_keys(dedup.shingles(_text(seed)))) for seed in range(200)]
    pairs_sharing = sum(
        len(keys[i] & keys[j]) >= dedup.NEAR_MIN_BANDS
        for i in range(len(keys))
        for j in range(i + 1, len(keys))
    )
    assert pairs_sharing == 0
    assert dedup.overlap(dedup.shingles(_text(1)), dedup.shingles(_text(2))) < 0.05


def test_near_keys_are_stable_and_sized() -> None:
    text = _text(3)
    keys = dedup.near_keys(dedup.shingles(text))
    assert keys == dedup.near_keys(dedup.shingles(text.upper().replace(" ", "  ")))
    assert len(keys) == dedup.NEAR_BANDS
    assert all(-(2**63) <= k < 2**63 for k in keys)  # fits SQLite's INTEGER


def test_short_texts_have_no_near_keys() -> None:
    assert dedup.shingles(_text(4, words=dedup.NEAR_MIN_WORDS - 1)) == frozenset()
    assert dedup.near_keys(frozenset()) == ()
    assert dedup.overlap(frozenset(), frozenset({1})) == 0.0
    # Just long enough: few shingles, most bins empty and filled from their neighbours.
    keys = dedup.near_keys(dedup.shingles(_text(4, words=dedup.NEAR_MIN_WORDS)))
    assert len(keys) == dedup.NEAR_BANDS
