"""The consultation factories, shared (decisions, consultations, comments, people)."""

from tests.consultation.conftest import (  # noqa: F401 (fixtures)
    citizen,
    department,
    make_comment,
    make_consultation,
    make_decision,
    official,
    other_official,
)
