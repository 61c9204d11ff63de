"""WhiteNoise's hashed, pre-compressed static files, with brotli at a quality we can afford.

Brotli's top quality (11, WhiteNoise's default) spends ~20 s of CPU on one 1.5 MB bundle (the
API docs' Swagger UI) for ~9 % smaller output than quality 9, which takes ~1 s: the whole
collectstatic went from minutes to seconds. STATIC_BROTLI_QUALITY=11 buys the last bytes at
image build time.
"""

import os
from typing import Any

import brotli
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage

BROTLI_QUALITY = int(os.environ.get("STATIC_BROTLI_QUALITY", "9"))


class AffordableCompressor(Compressor):
    @staticmethod
    def compress_brotli(data: bytes) -> bytes:
        return bytes(brotli.compress(data, quality=BROTLI_QUALITY))


class CompressedStaticStorage(CompressedManifestStaticFilesStorage):
    def create_compressor(self, **kwargs: Any) -> Compressor:
        return AffordableCompressor(**kwargs)
