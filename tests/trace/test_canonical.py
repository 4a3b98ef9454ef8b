"""The canonical encoding of ledger payloads: one spelling per value, stable, decodable."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.trace.canonical import NotCanonical, canonical

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63), st.text())
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(st.text(), children, max_size=5)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_round_trip_and_idempotence(value):
    encoded = canonical(value)
    decoded = json.loads(encoded.decode("utf-8"))
    assert decoded == value
    assert canonical(decoded) == encoded


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), scalars, max_size=8))
def test_key_order_does_not_matter(mapping):
    reordered = dict(reversed(list(mapping.items())))
    assert canonical(mapping) == canonical(reordered)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_text_is_utf8_without_escapes(text):
    encoded = canonical({"t": text})
    assert encoded.decode("utf-8")  # valid UTF-8
    if text and all(c.isprintable() and c not in '"\\' for c in text):
        assert text.encode("utf-8") in encoded


def test_no_whitespace_and_sorted_keys():
    assert canonical({"b": [1, 2], "a": {"d": None, "c": True}}) == b'{"a":{"c":true,"d":null},"b":[1,2]}'


@pytest.mark.parametrize("bad", [1.5, float("nan"), {1: "x"}, {"s": {1, 2}}, object()])
def test_values_without_one_spelling_are_refused(bad):
    with pytest.raises(NotCanonical):
        canonical(bad if isinstance(bad, dict) else {"v": bad})
