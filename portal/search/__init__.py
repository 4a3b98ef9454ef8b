"""Search: Chinese-aware full-text search over every public record, kept fresh through a queue.

Pieces: ``analysis`` (NFKC, traditional->simplified, jieba words, English stems), ``registry``
and ``providers`` (which records become documents), ``queue`` (work queued with each change,
applied after commit by a single writer), ``index`` (generations, atomic swap, cached
searchers), ``query`` and ``service`` (parsing, ranking, facets, snippets), ``views``/``api``,
``cli`` (``search reindex|status|worker``, ``import-decision``).
"""

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from portal.api.base import api
    from portal.core.hooks import add_after_restore, add_decision_section, add_nav_link, add_seed_step
    from portal.search import models, providers, queue
    from portal.search.api import blp
    from portal.search.cli import import_decision_command, search_cli
    from portal.search.views import bp

    assert models.SearchQueueItem.__tablename__ == "search_queue"
    app.config.setdefault("SEARCH_DRAIN_AFTER_RESPONSE", True)
    app.config.setdefault("SEARCH_WRITER_PROCS", None)
    providers.register_all()
    queue.install()
    queue.install_request_hook(app)
    app.register_blueprint(bp)
    api.register_blueprint(blp)
    app.cli.add_command(search_cli)
    app.cli.add_command(import_decision_command)
    add_seed_step(app, "search", _seed_index)
    add_after_restore(app, _rebuild_after_restore)
    add_nav_link(app, 80, "search.index", _l("搜索"))
    add_decision_section(app, 35, "search/_decision_section.html")


def _seed_index():
    """Seed step (runs after the other features' steps): index the demo data now."""
    from portal.core.extensions import db
    from portal.search.queue import apply_pending

    db.session.commit()
    result = apply_pending(wait=True)
    yield f"search index: {result.rows} queued changes applied"


def _rebuild_after_restore() -> None:
    """After ``flask restore``: whatever index folder the instance had describes other data."""
    from portal.search.service import rebuild

    rebuild()
