"""Which records become search documents: one provider per document type.

A provider names the model classes whose changes affect its documents, maps a changed
instance to the ids of the documents it affects, and builds a document from the database
(or answers None when the record must not be indexed: unpublished, rejected, withdrawn,
private). The session hook (``portal.search.queue``) and the writer use nothing else, so
adding a type is writing one provider and registering it; see docs/DECISIONS.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

#: Document types, in the order facets list them. Codes are part of the public API.
TYPES = ("decision", "comment", "hearing", "release", "review", "report")


@dataclass
class Document:
    """What the index holds for one record. Everything here must be public."""

    #: The record's id within its type.
    id: int
    #: Title shown in results (and indexed, with a boost, unless ``title_indexed`` is false).
    title: str
    #: Searchable text (Markdown or plain) that snippets are cut from; the title is added to it when indexed.
    body: str
    #: Searchable but never shown: department name, category, document number...
    extra: str = ""
    #: The date results sort and facet by (publication, submission...), aware UTC.
    date: datetime | None = None
    #: Code of the responsible department.
    department: str | None = None
    #: Stage code (decisions).
    stage: str | None = None
    #: Slug of the decision the record belongs to, so a decision page can search its own records.
    decision: str | None = None
    #: Whatever ``Provider.url`` needs to link to the record (a slug, an anchor...).
    ref: str = ""
    #: False when the title only labels the record (a comment's "对《…》的意见"): not ranked on.
    title_indexed: bool = True


@dataclass(frozen=True)
class Provider:
    """How one document type is found, built and linked."""

    #: A code of ``TYPES``.
    type: str
    #: Model classes whose inserts, updates and deletes may change documents of this type.
    models: tuple[type, ...]
    #: A new, changed or deleted instance of one of ``models`` -> ids of the documents affected.
    affected: Callable[[object], Iterable[int]]
    #: Ids -> {id: Document or None}; None (or a missing id) removes the document from the index.
    load: Callable[[list[int]], dict[int, Document | None]]
    #: Every id that may have a document (reindex walks them in batches through ``load``).
    all_ids: Callable[[], Iterable[int]]
    #: Stored fields of a hit (``ref``, ``decision``, ``key``) -> URL; called in a request.
    url: Callable[[dict], str]


_providers: dict[str, Provider] = {}
_by_class: dict[type, list[Provider]] = {}


def register_provider(provider: Provider) -> None:
    """Add (or replace) the provider of ``provider.type``; safe to call once per app created."""
    if provider.type not in TYPES:
        raise ValueError(f"unknown document type {provider.type!r}; add it to TYPES first")
    old = _providers.get(provider.type)
    if old is not None:
        for model in old.models:
            _by_class[model] = [p for p in _by_class.get(model, []) if p.type != old.type]
    _providers[provider.type] = provider
    for model in provider.models:
        _by_class.setdefault(model, []).append(provider)


def providers() -> list[Provider]:
    """Registered providers, in ``TYPES`` order."""
    return [_providers[t] for t in TYPES if t in _providers]


def provider(doc_type: str) -> Provider | None:
    return _providers.get(doc_type)


def providers_for(instance) -> list[Provider]:
    """Providers whose documents a change to ``instance`` may affect."""
    found: list[Provider] = []
    for cls in type(instance).__mro__:
        found.extend(_by_class.get(cls, ()))
    return found


def make_key(doc_type: str, ident: int) -> str:
    return f"{doc_type}:{ident}"


def split_key(key: str) -> tuple[str, int] | None:
    """``"decision:12"`` -> ``("decision", 12)``; None for anything malformed."""
    doc_type, _, ident = key.partition(":")
    if doc_type not in TYPES or not ident.isdigit():
        return None
    return doc_type, int(ident)
