"""What a measure session's results depend on: the store's releases that measures read, and the code that
computes them. A server compares the first to reuse its measures across store generations; kept frames
(`storage/derived.py`) are filed under both."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from gpaccess.storage.snapshot import Snapshot

# Publications no measure reads (an ICB's uploaded local indicators): storing one leaves every shared measure as
# it was, so a server keeps its computed measures and reads the upload at once (a user sees their own write).
NOT_MEASURE_INPUTS = frozenset({"local_indicators"})


def measure_inputs(snapshot: Snapshot) -> dict[str, dict[str, str]]:
    """What a session's measures depend on: the visible release of every (publication, period) they may read."""
    return {name: periods for name, periods in snapshot.versions().items() if name not in NOT_MEASURE_INPUTS}


DERIVED_FORMAT = 1  # bump when what a derived frame holds changes shape


@functools.cache
def code_digest() -> str:
    """A digest of the code that derives a session's frames (this package and the month parsing it uses), so a
    frame kept by another version of it is never read back (`storage/derived.py`)."""
    import gpaccess
    from gpaccess.storage import periods

    here = Path(__file__).parent  # the measures package
    files = sorted([*here.glob("*.py"), *here.glob("*.toml"), *here.glob("definitions/*"), Path(periods.__file__)])
    h = hashlib.sha256(gpaccess.__version__.encode())
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:20]
