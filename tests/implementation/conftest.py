"""The factories of tests/releases (people, decisions at a stage, a published decision)."""

from tests.releases.conftest import (  # noqa: F401 (fixtures)
    auditor,
    citizen,
    department,
    leader,
    make_decision,
    official,
    published_decision,
    spokesperson,
)
