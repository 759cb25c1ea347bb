"""Charts with Vega-Altair: funnel plots (`funnel.py`) and Making Data Count SPC charts (`spc.py`). Never a
league table.

Pure functions: pandas frames and a small frozen metadata object in, an Altair chart out. What every chart
shares is `common.py`: the only I/O, `save_chart` (HTML that works offline, PNG, SVG) and `write_chart_data`
(CSV with spreadsheet formulas neutralised), the NHS.UK look, number formats and the checks on callers' words.

What the charts promise, and the tests check:

* **No rank anywhere.** Only the columns of the data contract are put into a chart, so a rank or percentile
  column a caller happens to hold never reaches it. Points are kept in practice-code order, no encoding
  sorts by value, and caller-supplied wording is refused (`PolicyError`) if it uses the guard's league-table
  vocabulary (`publication/guard.py`: best, worst, top, bottom, failing, rank, league, percentile, ...).
* **Neutral words.** A funnel point's place is "within the 95% limits", "below the lower 99.8% limit" and so
  on: never better or worse. The measure's direction is stated in the subtitle; a measure with no good
  direction (face-to-face share outside the cohort view) says so, and its points above and below the limits
  share one hue (purple), told apart by shape (▲ above, ▼ below) and by where they sit.
* **Colour-blind safe.** Directed funnels use blue for the preferred side and orange for the other (the
  Making Data Count pair); never red against green.
* **Stated method.** Every funnel carries a footnote with the measure's definition, the window, the
  overdispersion adjustment and what the limits mean; every SPC chart names its limits and rules.
"""
