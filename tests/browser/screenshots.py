"""Save screenshots of the main pages (tests/browser/main_pages.py), desktop and phone width, in Chinese and English.

Usage: ``python -m tests.browser.screenshots docs/screenshots`` (``make screenshots``). Uses a
throwaway instance with the demo data, served on a free port, and Debian's Chromium.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from flask_migrate import upgrade

from portal import create_app
from portal.core.seed import seed_demo
from tests.browser.live import browser, serve
from tests.browser.main_pages import demo_passwords, main_pages

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="portal-shots-"))
    os.environ.pop("PORTAL_DATABASE_URL", None)
    app = create_app({"INSTANCE_PATH": str(tmp), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'shots.sqlite3'}"})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        for _line in seed_demo():
            pass
        pages = main_pages()
    passwords = demo_passwords()
    with serve(app) as url, browser() as chromium:
        for size_name, viewport in SIZES.items():
            for lang in ("zh_CN", "en"):
                context = chromium.new_context(viewport=viewport)
                context.add_cookies([{"name": "lang", "value": lang, "url": url}])
                page = context.new_page()
                logged_in = None
                for name, path, account in pages:
                    if account != logged_in:
                        context.clear_cookies()
                        context.add_cookies([{"name": "lang", "value": lang, "url": url}])
                        if account:
                            page.goto(url + "/login")
                            page.fill("#email", account)
                            page.fill("#password", passwords[account])
                            page.click("form button[type=submit].primary")
                        logged_in = account
                    response = page.goto(url + path)
                    if response is None or response.status >= 400:
                        print(f"skipped {path} ({response.status if response else 'no response'})")
                        continue
                    target = out / f"{name}-{size_name}-{lang}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(f"saved {target}")
                context.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
