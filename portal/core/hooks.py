"""Extension points that let a feature add to pages and commands it does not own."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Flask, current_app


def add_seed_step(app: Flask, name: str, step: Callable[[], Iterator[str]]) -> None:
    """Add an idempotent demo-data step (a generator of progress lines) to ``seed-demo``; runs in order added."""
    steps = app.extensions.setdefault("portal_seed_steps", {})
    steps[name] = step


def seed_steps() -> list[Callable[[], Iterator[str]]]:
    return list(current_app.extensions.get("portal_seed_steps", {}).values())


def add_decision_section(app: Flask, order: int, template: str) -> None:
    """Include ``template`` on the public decision page (context: ``decision``); lower order first."""
    sections = app.extensions.setdefault("portal_decision_sections", [])
    if (order, template) not in sections:
        sections.append((order, template))
        sections.sort()


def decision_sections() -> list[str]:
    return [template for _order, template in current_app.extensions.get("portal_decision_sections", [])]


def add_nav_link(app: Flask, order: int, endpoint: str, label, rule=None) -> None:
    """A link in the main navigation; ``rule`` (a permissions.Rule) hides it from those it does not allow."""
    links = app.extensions.setdefault("portal_nav_links", [])
    links.append((order, endpoint, label, rule))
    links.sort(key=lambda item: item[0])


def nav_links(user) -> list[tuple[str, str]]:
    return [
        (endpoint, str(label))
        for _order, endpoint, label, rule in current_app.extensions.get("portal_nav_links", [])
        if rule is None or rule.allows(user)
    ]


def add_after_restore(app: Flask, hook: Callable[[], None]) -> None:
    """Run ``hook`` after ``flask restore`` brought a backup back (e.g. rebuild the search index)."""
    hooks = app.extensions.setdefault("portal_after_restore", [])
    if hook not in hooks:
        hooks.append(hook)


def add_state_table(app: Flask, table: str) -> None:
    """Name a table that holds only the site's running state (a heartbeat row written by its
    migration): ``flask restore`` still counts an instance as empty when that table has rows."""
    tables = app.extensions.setdefault("portal_state_tables", set())
    tables.add(table)


def add_listener(app: Flask, event: str, listener: Callable[..., None]) -> None:
    """Call ``listener(**details)`` when an operation emits ``event`` (inside its transaction)."""
    listeners = app.extensions.setdefault("portal_listeners", {}).setdefault(event, [])
    if listener not in listeners:
        listeners.append(listener)


def emit(event: str, **details) -> list:
    """Tell the features that listen for ``event``; used so one feature need not import another.

    Returns what the listeners returned (None left out), in the order they were added."""
    results = []
    for listener in current_app.extensions.get("portal_listeners", {}).get(event, []):
        result = listener(**details)
        if result is not None:
            results.append(result)
    return results
