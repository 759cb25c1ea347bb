"""Files as the store identifies them: by the sha256 of their bytes (a zip counts as a whole).

Kept apart from the warehouse so that opening and checking an input's first bytes never loads the engine.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
