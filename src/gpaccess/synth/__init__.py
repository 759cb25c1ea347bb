"""Deterministic synthetic national GP appointments data in the real published formats.

`generate(out_dir, ["2025-10"], seed=2021, icbs=3)` writes the practice-level crosstab zips (with
Mapping.csv), registered-patient list sizes and `truth.csv`. Modules: `structure` (organisations),
`model` (the generative model; its docstring says how truth.csv's columns enter), `write` (file formats),
`generate` (orchestration), `vocab` (the published vocabularies).
"""

from gpaccess.synth.generate import MonthFiles, SynthOutput, generate, month_rows, select_icbs
from gpaccess.synth.structure import Structure, build
from gpaccess.synth.vocab import month_range

__all__ = [
    "MonthFiles",
    "Structure",
    "SynthOutput",
    "build",
    "generate",
    "month_range",
    "month_rows",
    "select_icbs",
]
