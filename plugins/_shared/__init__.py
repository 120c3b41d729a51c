"""Helpers shared by several plugins (not a plugin: the folder name starts with `_`)."""
