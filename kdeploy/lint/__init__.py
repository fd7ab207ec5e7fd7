"""Offline checks of rendered releases: values schemas, Kubernetes schemas and best-practice rules.

Every check is a pure function from rendered objects to `Finding`s; `engine.lint_releases` runs them
all and applies the disable settings. Only `schema` reads files (the bundled Kubernetes schemas).
"""
