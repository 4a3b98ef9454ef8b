"""The interface shell: languages, error pages, CSRF, health check, security headers, config."""

from __future__ import annotations

import pytest

from portal import create_app


def test_healthz_is_json_without_templates(client, app):
    app.jinja_env.cache = {}
    response = client.get("/healthz")
    assert response.get_json() == {"status": "ok"}


def test_language_switch_is_remembered(client):
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)
    response = client.post("/language", data={"lang": "en", "next": "/trace/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/trace/"
    body = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in body
    client.post("/language", data={"lang": "zh_CN", "next": "//evil.example"})
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.post("/language", data={"lang": "xx"})
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("lang", "text"), [("zh_CN", "找不到您要访问的页面"), ("en", "could not be found")])
def test_404_page_in_both_languages(client, lang, text):
    client.set_cookie("lang", lang)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert text in response.get_data(as_text=True)


def test_500_page(app, client):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("boom")

    from portal.auth.permissions import declare_endpoint, public

    declare_endpoint(app, "boom", public)
    response = client.get("/boom-for-test")
    assert response.status_code == 500
    assert "服务器内部错误" in response.get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_form_without_csrf_token_gets_400_page_in_users_language(client, app_config):
    response = client.post("/login", data={"email": "a@b.cn", "password": "x"})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    client.set_cookie("lang", "en")
    response = client.post("/register", data={})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Referrer-Policy" in response.headers


def test_pages_have_landmarks_and_skip_link(client):
    body = client.get("/").get_data(as_text=True)
    assert 'href="#main"' in body
    assert '<main id="main"' in body
    assert "<nav" in body
    assert "<header" in body
    assert "<footer" in body


def test_secret_key_generated_once_per_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "inst"))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    first = create_app()
    second = create_app()
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    assert (tmp_path / "inst" / "secret_key").stat().st_mode & 0o077 == 0
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'portal.sqlite3'}"
    for sub in ("index", "uploads", "outbox"):
        assert (tmp_path / "inst" / sub).is_dir()


def test_environment_and_instance_config(tmp_path, monkeypatch):
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.py").write_text('MAIL_SENDER = "from-file@example.cn"\nBASE_URL = "https://file"\n')
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("PORTAL_BASE_URL", "https://env.example.cn")
    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql://u@db.example/portal")
    monkeypatch.setenv("PORTAL_REDIS_URL", "redis://127.0.0.1:6379/3")
    app = create_app()
    assert app.config["MAIL_SENDER"] == "from-file@example.cn"
    assert app.config["BASE_URL"] == "https://env.example.cn"  # the variable wins over the file
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/portal"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"


def test_no_hard_coded_secret_key_in_code():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "portal"
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "SECRET_KEY = " not in text, path
        assert '"SECRET_KEY": "' not in text, path


def test_content_security_policy_forbids_inline_script_and_framing(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    assert "max-age=" in client.get("/", base_url="https://localhost").headers["Strict-Transport-Security"]


def test_secure_cookies_when_served_over_https(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_BASE_URL", "https://portal.example.gov.cn")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_templates_have_no_inline_script_or_style():
    from pathlib import Path

    for path in (Path(__file__).resolve().parents[2] / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text, path
        assert " style=" not in text, path
        assert " onclick=" not in text, path


def test_anonymous_page_views_set_no_session_cookie(client):
    response = client.get("/")
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_language_switch_works_without_a_session(client, app_config):
    response = client.post("/language", data={"lang": "en", "next": "/"})
    assert response.status_code == 302
    assert "lang=en" in response.headers["Set-Cookie"]
