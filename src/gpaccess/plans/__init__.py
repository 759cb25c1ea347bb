"""Support plans: the action catalogue, suggestion rules, plans with their actions and versions, cycles.

On `storage` only (and `access` for the audit log): the profile suggestions read and the progress verdicts are
built by `services`, which composes the measures with the plan store.
"""
