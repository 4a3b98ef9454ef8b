"""The Whoosh index on disk: generations, the atomic swap, the writer lock, cached searchers.

Layout under ``INDEX_PATH``::

    CURRENT            name of the live generation (replaced atomically with os.replace)
    gen-<time>-<rand>/ a complete Whoosh index; reindex builds a new one beside the live one
    writer.lock        flock()ed by the single writer (queue drain, worker, reindex)

Readers resolve ``CURRENT`` on every search, so a swap is seen at the next search while
searches already running finish on the generation they opened. The previous generation is
kept (a reader may still hold it); older ones are removed at the next swap.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import operator
import os
import pickle
import re
import secrets
import shutil
import threading
import warnings
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from whoosh import index as whoosh_index
from whoosh import multiproc as whoosh_multiproc
from whoosh import scoring
from whoosh.codec import whoosh3 as w3
from whoosh.fields import ID, NUMERIC, STORED, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.multiproc import MpWriter, SubWriterTask
from whoosh.searching import Searcher
from whoosh.system import pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from portal.search.analysis import PortalText
from portal.search.fast import FAST_EXT, FAST_FIELDS, FAST_MIN, FastPostingsWriter
from portal.search.registry import Document, make_key
from portal.search.text import clean_text

log = logging.getLogger("portal.search")

POINTER = "CURRENT"
LOCK_FILE = "writer.lock"
_GENERATION = re.compile(r"^gen-[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")

#: Columns (sortable fields) that facets count.
FACET_FIELDS = ("type", "department", "stage", "year")

# BM25F as Whoosh ships it; titles get their weight from the query (see query.py).
WEIGHTING = scoring.BM25F(B=0.75, K1=1.2)


def make_schema() -> Schema:
    """The index's fields. Only what results show is stored; bodies are not (snippets are cut
    from the database text of the hits shown)."""
    return Schema(
        key=ID(stored=True, unique=True),
        type=ID(stored=True, sortable=True),
        department=ID(stored=True, sortable=True),
        stage=ID(stored=True, sortable=True),
        year=ID(stored=True, sortable=True),
        decision=ID(stored=True),
        date=NUMERIC(int, bits=64, signed=True, stored=True, sortable=True),
        ref=STORED(),
        label=STORED(),
        title=PortalText(),
        body=PortalText(),
    )


class IndexUnavailable(Exception):
    """The index is missing or cannot be read; ``reason`` is ``missing`` or ``corrupt``."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def local_timezone() -> ZoneInfo:
    """The portal's time zone (years and dates are those of the people who read them)."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    try:
        return ZoneInfo(name or "Asia/Shanghai")
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def document_fields(doc_type: str, doc: Document, tz: ZoneInfo | None = None) -> dict:
    """The Whoosh fields of one document."""
    title = clean_text(doc.title)
    body = clean_text(doc.body)
    fields = {
        "key": make_key(doc_type, doc.id),
        "type": doc_type,
        "label": title[:300],
        "ref": doc.ref or "",
        # The title is part of the body, so a query matches it with the body's statistics; the
        # separate title field only adds rank.
        "body": "\n".join(part for part in (title if doc.title_indexed else "", body, clean_text(doc.extra)) if part),
        "date": 0,
    }
    if doc.title_indexed and title:
        fields["title"] = title
    if doc.date is not None:
        when = doc.date if doc.date.tzinfo else doc.date.replace(tzinfo=UTC)
        fields["date"] = int(when.timestamp())
        fields["year"] = str(when.astimezone(tz or local_timezone()).year)
    for name in ("department", "stage", "decision"):
        value = getattr(doc, name)
        if value:
            fields[name] = str(value)
    return fields


@dataclass
class Store:
    """The index folder of one application."""

    root: Path

    @classmethod
    def for_app(cls, app=None) -> Store:
        app = app or current_app
        return cls(Path(app.config["INDEX_PATH"]))

    # Generations

    def current_name(self) -> str | None:
        try:
            name = (self.root / POINTER).read_text(encoding="ascii").strip()
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            return None
        return name if _GENERATION.match(name) else None

    def current_path(self) -> Path | None:
        name = self.current_name()
        if name is None:
            return None
        path = self.root / name
        return path if path.is_dir() else None

    def exists(self) -> bool:
        return self.current_path() is not None

    def open(self):
        """The live index; raises IndexUnavailable."""
        path = self.current_path()
        if path is None:
            raise IndexUnavailable("missing")
        storage = _TrackingStorage(str(path))
        try:
            ix = storage.open_index()
        except Exception as exc:  # Whoosh raises many types for damaged files
            storage.close_tracked()
            raise IndexUnavailable("corrupt", f"{type(exc).__name__}: {exc}") from None
        storage.forget_tracked()
        return ix

    def new_generation(self):
        """An empty index in a fresh folder beside the live one; returns (path, index)."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"gen-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        path = self.root / name
        path.mkdir()
        return path, whoosh_index.create_in(str(path), make_schema())

    def publish(self, path: Path) -> None:
        """Make ``path`` the live generation atomically, then remove all but the previous one."""
        previous = self.current_name()
        tmp = self.root / f".{POINTER}.{secrets.token_hex(4)}"
        tmp.write_text(path.name + "\n", encoding="ascii")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / POINTER)
        keep = {path.name, previous}
        for child in self.root.iterdir():
            if child.is_dir() and _GENERATION.match(child.name) and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)

    def discard(self, path: Path) -> None:
        if path.name != self.current_name():
            shutil.rmtree(path, ignore_errors=True)

    # The single writer

    @contextlib.contextmanager
    def writer_lock(self, *, blocking: bool) -> Iterator[bool]:
        """Hold the writer lock; yields False at once when ``blocking`` is off and it is taken."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a+b") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# Writing


def apply_changes(ix, changes: Iterable[tuple[str, str, Document | None]], *, limitmb: int = 64) -> tuple[int, int]:
    """Replace or remove documents ``(key, type, document or None)`` in one commit.

    Returns (documents written, documents removed).
    """
    tz = local_timezone()
    written = removed = 0
    writer = ix.writer(limitmb=limitmb)
    try:
        for key, doc_type, doc in changes:
            writer.delete_by_term("key", key)
            if doc is None:
                removed += 1
            else:
                writer.add_document(**document_fields(doc_type, doc, tz))
                written += 1
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return written, removed


class TermPool:
    """Postings grouped by term in memory, for bulk builds.

    Whoosh's own pool keeps one tuple per posting and sorts them all (spilling sorted runs to
    disk past ``limitmb`` and merging them back); documents arrive in docnum order, so grouping
    by term and sorting only the terms gives the same stream for a third of the commit time.
    Memory is about 50 bytes per posting: a 100,000-document rebuild with two processes
    holds roughly 350 MB in each.
    """

    def __init__(self) -> None:
        self.fieldnames: set[str] = set()
        self._terms: dict[tuple[str, bytes], tuple[array, array, list]] = {}
        self._unordered: set[tuple[str, bytes]] = set()

    def add(self, item) -> None:
        fieldname, tbytes, docnum, weight, vbytes = item
        key = (fieldname, tbytes)
        entry = self._terms.get(key)
        if entry is None:
            self._terms[key] = entry = (array("I"), array("f"), [])
            self.fieldnames.add(fieldname)
        elif docnum < entry[0][-1]:
            self._unordered.add(key)
        entry[0].append(docnum)
        entry[1].append(weight)
        entry[2].append(vbytes)

    def field_terms(self, fieldname: str):
        """``(term bytes, docnums, weights, values)`` of one field, terms in order, docnums ascending."""
        for key in sorted(k for k in self._terms if k[0] == fieldname):
            docnums, weights, values = self._terms[key]
            if key in self._unordered:
                order = sorted(range(len(docnums)), key=docnums.__getitem__)
                docnums = array("I", (docnums[i] for i in order))
                weights = array("f", (weights[i] for i in order))
                values = [values[i] for i in order]
            yield key[1], docnums, weights, values

    def iter_postings(self):
        for key in sorted(self._terms):
            fieldname, tbytes = key
            docnums, weights, values = self._terms[key]
            order = range(len(docnums))
            if key in self._unordered:
                order = sorted(order, key=docnums.__getitem__)
            for i in order:
                yield fieldname, tbytes, docnums[i], weights[i], values[i]

    def save(self) -> None:
        pass

    def cleanup(self) -> None:
        self._terms = {}
        self._unordered = set()


class _PreloadedLengths:
    """Field lengths read once per field instead of once per posting (a fifth of a commit)."""

    def __init__(self, pdr):
        self._pdr = pdr
        self._tables: dict[str, list[int]] = {}

    def doc_field_length(self, docnum, fieldname, default=0):
        table = self.table(fieldname)
        return table[docnum] if docnum < len(table) else default

    def table(self, fieldname: str) -> list[int]:
        table = self._tables.get(fieldname)
        if table is None:
            table = self._tables[fieldname] = self._load(fieldname)
        return table

    def _load(self, fieldname: str) -> list[int]:
        column_field = w3._lenfield(fieldname)
        if not self._pdr.has_column(column_field):
            return []
        reader = self._pdr.column_reader(column_field, w3.LENGTHS_COLUMN)
        return [byte_to_length(b) if b else 0 for b in reader]


class BulkSegmentWriter(SegmentWriter):
    """A SegmentWriter for rebuilds: ``TermPool`` and preloaded lengths; same files as Whoosh's."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        self.pool = TermPool()

    def _flush_segment(self):
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        lengths = _PreloadedLengths(pdr) if pdr is not None else None
        fieldwriter = self.fieldwriter
        if isinstance(fieldwriter, w3.W3FieldWriter) and isinstance(self.codec, w3.W3Codec):
            fast = FastPostingsWriter(self.newsegment.create_file(self.storage, FAST_EXT))
            write_term_postings(fieldwriter, self.schema, lengths, self.pool, fast)
            fast.close()
        else:  # pragma: no cover - another codec
            fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        fieldwriter.close()
        if pdr is not None:
            pdr.close()


def write_term_postings(
    fieldwriter, schema, lengths: _PreloadedLengths | None, pool: TermPool, fast: FastPostingsWriter | None = None
) -> None:
    """Write the pool's postings term by term, in Whoosh 3's file format.

    ``FieldWriter.add_postings`` takes one posting at a time through four method calls and
    type checks; this writes each term's blocks (128 postings) from the pool's arrays directly,
    with the same bytes except that blocks too small to gain from zlib are stored uncompressed
    (the block header says so; Whoosh's reader honours it). With ``fast``, the document numbers
    and frequencies of every common ``body`` term also go to the segment's fast postings file
    (see ``portal.search.fast``).
    """
    blocklimit = fieldwriter._codec._blocklimit
    compression = fieldwriter._codec._compression
    postfile = fieldwriter._postfile
    tindex_add = fieldwriter._tindex.add
    write, tell, write_int = postfile.write, postfile.tell, postfile.write_int
    dumps, compress = pickle.dumps, zlib.compress
    magic = w3.WHOOSH3_HEADER_MAGIC
    for fieldname in sorted(pool.fieldnames):
        fieldobj = schema[fieldname]
        fieldwriter.start_field(fieldname, fieldobj)
        fixedsize = fieldobj.format.fixed_value_size()
        prefix = pack_ushort(fieldwriter._fieldid)
        table = lengths.table(fieldname) if lengths is not None else []
        ntable = len(table)
        to_fast = fast.add if fast is not None and fieldname in FAST_FIELDS else None
        for tbytes, docnums, weights, values in pool.field_terms(fieldname):
            if to_fast is not None and len(docnums) >= FAST_MIN:
                to_fast(fieldname, tbytes, docnums, weights)
            info = w3.W3TermInfo()
            start = tell()
            write(magic)
            n = len(docnums)
            total_weight = 0.0
            for b in range(0, n, blocklimit):
                e = min(n, b + blocklimit)
                ids = docnums[b:e]
                ws = weights[b:e]
                if ntable and ids[-1] < ntable:
                    lens = [table[d] for d in ids]
                else:
                    lens = [table[d] if d < ntable else 0 for d in ids]
                positive = [x for x in lens if x]
                minlength = min(positive) if positive else None
                maxlength = max(lens)
                maxweight = max(ws)
                if maxweight < 0:
                    maxweight = 0
                first = ids[0]
                deltas = (first, *map(operator.sub, ids[1:], ids))
                if max(ws) == 1.0 and min(ws) == 1.0:
                    mini_weights = None
                elif max(ws) == min(ws):
                    mini_weights = ws[0]
                else:
                    mini_weights = tuple(ws)
                vs = values[b:e]
                if fixedsize is None or fixedsize < 0:
                    mini_values = tuple(filter(None, vs))
                elif fixedsize == 0:
                    mini_values = None
                else:
                    mini_values = b"".join(filter(None, vs))
                databytes = dumps((deltas, mini_weights, mini_values), 2)
                comp = compression if len(databytes) >= _COMPRESS_FROM else 0
                if comp:
                    databytes = compress(databytes, comp)
                infobytes = dumps(
                    (e - b, ids[-1], maxweight, comp, length_to_byte(minlength), length_to_byte(maxlength)), 2
                )
                blocklength = len(infobytes) + len(databytes)
                write_int(-blocklength if e == n else blocklength)
                write(infobytes)
                write(databytes)
                # W3TermInfo.add_block
                total_weight += sum(ws)
                if info._minlength is None:
                    info._minlength = minlength
                elif minlength is not None:
                    info._minlength = min(info._minlength, minlength)
                info._maxlength = max(info._maxlength, maxlength)
                info._maxweight = max(info._maxweight, maxweight)
                if info._minid is None:
                    info._minid = first
                info._maxid = ids[-1]
            info._weight = total_weight
            info._df = n
            info.set_extent(start, tell() - start)
            tindex_add(prefix + tbytes, info.to_bytes())
        fieldwriter.finish_field()


#: Blocks whose pickle is shorter than this are stored uncompressed (zlib would not shrink them).
_COMPRESS_FROM = 64


class _BulkSubWriterTask(SubWriterTask):
    def run(self):
        # This runs in the forked child only: make Whoosh's task loop build a BulkSegmentWriter.
        whoosh_multiproc.SegmentWriter = BulkSegmentWriter
        super().run()


class BulkMpWriter(MpWriter):
    """Whoosh's multi-process writer, its sub-processes writing with ``BulkSegmentWriter``."""

    def _new_task(self):
        task = _BulkSubWriterTask(
            self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs, self.multisegment
        )
        self.tasks.append(task)
        task.start()
        return task


def build_into(ix, documents: Iterable[tuple[str, Document]], *, procs: int = 1, limitmb: int = 256) -> int:
    """Add ``(type, document)`` pairs to an empty index in bulk; returns the count.

    With ``procs`` > 1 the analysis runs in that many forked processes, each writing its own
    segment (``multisegment``: no final merge; searches read the few segments as one).
    """
    tz = local_timezone()
    if procs > 1:
        writer = BulkMpWriter(ix, procs=procs, batchsize=256, multisegment=True, limitmb=limitmb)
    else:
        writer = BulkSegmentWriter(ix, limitmb=limitmb)
    count = 0
    try:
        for doc_type, doc in documents:
            writer.add_document(**document_fields(doc_type, doc, tz))
            count += 1
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return count


# Reading: one searcher per thread and index folder, refreshed only when the index changed.

_local = threading.local()


@dataclass
class _Open:
    root: Path
    name: str
    searcher: Searcher


def searcher(store: Store) -> Searcher:
    """A searcher on the live generation, reused across requests of this thread.

    Raises IndexUnavailable. Opening costs milliseconds and drops Whoosh's caches, so the
    searcher is kept and only reopened when a commit or a swap changed the index.
    """
    held: _Open | None = getattr(_local, "held", None)
    name = store.current_name()
    if held is not None and held.root == store.root and held.name == name:
        try:
            if held.searcher.up_to_date():
                return held.searcher
        except Exception:  # a generation removed under us: open the live one afresh
            log.info("search: reopening the index after a failed check", exc_info=True)
    # Not Searcher.refresh(): whoosh-reloaded 2.7.5 reuses the reader of a segment whose
    # deletions changed, so deleted documents would still be found. Opening costs a few ms.
    close_searcher()
    if name is None:
        raise IndexUnavailable("missing")
    ix = store.open()
    ix.storage.tracking = True
    try:
        opened = ix.searcher(weighting=WEIGHTING)
    except Exception as exc:
        ix.storage.close_tracked()
        raise IndexUnavailable("corrupt", f"{type(exc).__name__}: {exc}") from None
    ix.storage.forget_tracked()
    _local.held = _Open(store.root, name, opened)
    return opened


class _TrackingStorage(FileStorage):
    """A FileStorage that can close the files Whoosh opened while it failed on a damaged index.

    Whoosh does not close the file it was decoding when decoding fails; without this the file
    is closed by the garbage collector, with a ResourceWarning.
    """

    def __init__(self, path: str):
        super().__init__(path)
        self.tracking = True
        self.opened: list = []

    def open_file(self, name, **kwargs):
        f = super().open_file(name, **kwargs)
        if self.tracking:
            self.opened.append(f)
        return f

    def close_tracked(self) -> None:
        for f in self.opened:
            with contextlib.suppress(Exception):
                f.close()
        self.forget_tracked()

    def forget_tracked(self) -> None:
        self.opened = []
        self.tracking = False


def release_abandoned_files() -> None:
    """Close files Whoosh left open while failing on a damaged index.

    Whoosh does not close a file it was reading when decoding fails; the exception's
    traceback keeps it alive until a collection, which then warns. Collect now, quietly.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def close_searcher() -> None:
    """Close this thread's cached searcher (tests call it; a new one opens when needed)."""
    held: _Open | None = getattr(_local, "held", None)
    _local.held = None
    if held is not None:
        with contextlib.suppress(Exception):
            held.searcher.close()
