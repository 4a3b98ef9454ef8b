"""Shared infrastructure: extensions, base model, errors, Markdown, time helpers."""
