"""How archived pages are stored: zstandard-compressed (zlib in archives from before).

Outside the store package: pool workers compress pages without importing the store.
"""

from __future__ import annotations

import zlib

import zstandard

from aggregator.errors import StoreError

#: Level 3: ~0.2 ms for a 55 KB news page, against ~4 ms for zlib's level 6, at about the same
#: size (measured on benchmarks/farm.py's pages: 21.1 KB vs 20.4 KB).
ZSTD_LEVEL = 3
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def compress_page(body: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)


def decompress_page(blob: bytes) -> bytes:
    """A page as archived: zstandard frames, or zlib streams from older archives.

    Raises StoreError for a blob that is neither (a damaged archive).
    """
    try:
        if blob.startswith(_ZSTD_MAGIC):
            return zstandard.ZstdDecompressor().decompress(blob)
        return zlib.decompress(blob)
    except (zstandard.ZstdError, zlib.error) as exc:
        raise StoreError(f"the archived page cannot be decompressed: {exc}") from exc
