"""Services: the compositions the CLI and the web application share (DESIGN "Layers after this round").

Each function takes the acting `Principal` keyword-only, checks its scope, audits reads of named data, and
reads the analytical store through one snapshot. The CLI and the web routes only parse, call a service and
render what it returns; `App` maps `Settings` to each layer's settings in one place.
"""
