"""Tally's optional features, one package per folder (see `plugins/README.md`).

Folders whose name starts with `_` are shared helpers, never plugins.
"""
