"""Schemathesis against /api/v1/openapi.json, in process through the WSGI app (a bounded run).

For every operation of the document, generated requests (valid and invalid) are sent in turn
anonymously, as a citizen and as an official; each must answer without a 5xx, with a status the document lists
explicitly for that operation (``default`` does not count), the declared content type and a body
that matches the declared schema. Each generated request is sent again with its path parameters
pointing at real records (a draft, an open consultation, hearings, reviews, a release), so answers
about existing records are checked too, not only 404s.

Bounded and deterministic: ``derandomize=True``, a fixed number of examples per operation, no
shrinking and no Hypothesis example database. Not ``schemathesis.pytest.from_fixture(...)``: with
pytest 9 its lazy loader reads ``request.node._nodeid``, which is gone; ``as_strategy`` is public.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ..conftest import PASSWORD
from ..security.conftest import app, scene, world  # noqa: F401 (fixtures: department A's world, built once)

MAX_EXAMPLES = 20
PERSONAS = ("anonymous", "citizen", "official_a")


def status_code_listed(ctx, response, case):
    """The status is documented for this operation by its own entry, not only by ``default``."""
    listed = {str(code) for code in case.operation.definition.raw.get("responses", {})} - {"default"}
    if str(response.status_code) not in listed:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code}, undocumented (documented: {sorted(listed)})"
        )


@pytest.fixture
def api_schema(app):  # noqa: F811 (the module's app fixture)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def cookies(app, world) -> dict[str, dict[str, str]]:  # noqa: F811
    """The session cookie of each persona (none for anonymous)."""
    name = app.config["SESSION_COOKIE_NAME"]
    found = {"anonymous": {}}
    for persona in PERSONAS[1:]:
        client = app.test_client()
        person = getattr(world.people, persona)
        response = client.post("/login", data={"email": person.email, "password": PASSWORD})
        assert response.status_code == 302, persona
        found[persona] = {name: client.get_cookie(name).value}
    return found


def _real_parameters(world, generated: dict) -> dict:  # noqa: F811
    """The generated path parameters with each replaced by an existing record's id or slug."""
    slugs = ["idor-draft", "idor-open", "idor-review", "idor-force", "idor-decided"]
    real = {
        "slug": slugs[len(str(generated.get("slug", ""))) % len(slugs)],
        "tracking": world.pending.tracking_number,
        "hearing_id": world.hearing.id,
        "review_id": world.review.id,
        "release_id": world.release.id,
        "profile_id": world.members[0].profile_id,
        "user_id": world.people.official_a.id,
        "seq": 1,
    }
    return {key: real.get(key, value) for key, value in generated.items()}


def _operations(api_schema):
    for result in api_schema.get_all_operations():
        yield result.ok()


#: Filters that name a record by code answer 422 "unknown department/decision" for a code that does
#: not exist: a typo is reported, not hidden behind an empty list. The document cannot list the codes
#: that exist, so "a schema-valid request is accepted" does not hold for these operations.
FILTERS_BY_CODE = {"GET /api/v1/decisions", "GET /api/v1/search", "GET /api/v1/decisions/{slug}/comments"}


def _can_be_invalid(operation) -> bool:
    """Whether there is invalid input to send: a query, or a typed path parameter (a slug is any
    non-empty string, and an empty one cannot be put in a path)."""
    if len(operation.query):
        return True
    return any(p.definition.get("schema", {}).get("type") != "string" for p in operation.path_parameters)


def _fuzz(operation, mode: GenerationMode, cookies: dict, world) -> None:  # noqa: F811
    """``MAX_EXAMPLES`` generated requests for one operation; raises what Schemathesis found."""
    turn = itertools.count()
    excluded = [positive_data_acceptance] if operation.label in FILTERS_BY_CODE else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report shows the failing request
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case):
        variants = [dict(case.path_parameters or {})]
        if case.path_parameters:
            variants.append(_real_parameters(world, case.path_parameters))
        for parameters in variants:
            case.path_parameters = parameters
            persona = PERSONAS[next(turn) % len(PERSONAS)]
            case.call_and_validate(
                cookies=cookies[persona], additional_checks=[status_code_listed], excluded_checks=excluded
            )

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_api_conforms_to_its_document(api_schema, cookies, world, mode):  # noqa: F811
    """Every operation, generated and real ids; the persona (anonymous, citizen, official) turns with
    each request, so all three are exercised on every operation within the time budget."""
    failures = {}
    checked = 0
    for operation in _operations(api_schema):
        checked += 1
        if mode is GenerationMode.NEGATIVE and not _can_be_invalid(operation):
            continue
        try:
            _fuzz(operation, mode, cookies, world)
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - collect every operation's failure, report all
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:2000]
    assert checked >= 30, "the document lists fewer operations than expected"
    assert failures == {}, "\n\n".join(f"{label}\n{message}" for label, message in failures.items())
