"""Who may see and do what: users, roles, scope, pseudonyms, and the audit log.

Depends only on `gpaccess.storage` (and `errors`, `config`): an import-linter contract in pyproject.toml.
"""
