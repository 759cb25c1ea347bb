"""What worked: supported practices against matched comparison practices, with staggered starts handled by a
difference-in-differences estimator built for them (docs/methodology.md, "Evaluating support").

`records` (the evaluation's input: which practice received which action type from which month), `panel` (the
practice-month outcome from the store), `comparators` (matching), `did` (the estimator, through pyfixest),
`evaluate` (an ICB's estimates, its aggregate return's rows) and `pooling` (the national version, pooled from
ICBs' returns). Nothing here writes a file: publication renders and guards what leaves.
"""
