"""Procedure gates: what must be true before a decision may leave a stage (Decree 713).

Each feature registers checks for the stage it governs, e.g. consultation registers "period over,
every published comment answered" for leaving ``consultation``. A check returns the unmet
conditions as translated messages; an empty list means the gate is open. Moving past a closed
gate takes an admin or leader and a stated reason (an override, recorded and shown publicly).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from portal.decisions.models import Decision, Stage

Check = Callable[[Decision], list]


def add_gate(app: Flask, stage: Stage, check: Check, *, overridable: bool = True) -> None:
    """Register ``check`` as a condition for leaving ``stage``.

    ``overridable=False`` (or a check function with ``overridable = False``) means no stated reason
    can pass over it: nothing substitutes for the legality review (Decree 713 art. 25-28).
    """
    gates = app.extensions.setdefault("portal_gates", {})
    checks = gates.setdefault(Stage(stage), [])
    if check not in checks:
        checks.append(check)
    if not overridable:
        app.extensions.setdefault("portal_gates_fixed", set()).add(check)


def _is_overridable(check: Check) -> bool:
    return getattr(check, "overridable", True) and check not in current_app.extensions.get("portal_gates_fixed", ())


def blocking_conditions(decision: Decision, stage: Stage | None = None) -> list[str]:
    """Unmet conditions for leaving ``stage`` that no override may pass over."""
    stage = Stage(stage or decision.stage)
    problems: list[str] = []
    for check in current_app.extensions.get("portal_gates", {}).get(stage, []):
        if not _is_overridable(check):
            problems.extend(str(p) for p in check(decision))
    return problems


def unmet_conditions(decision: Decision, stage: Stage | None = None) -> list[str]:
    """Every unmet condition for leaving ``stage`` (default: the decision's current stage)."""
    stage = Stage(stage or decision.stage)
    problems: list[str] = []
    for check in current_app.extensions.get("portal_gates", {}).get(stage, []):
        problems.extend(str(p) for p in check(decision))
    return problems
