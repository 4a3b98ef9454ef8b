"""Login, logout, registration, profile and password pages."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.auth import operations
from portal.auth.forms import LoginForm, PasswordChangeForm, ProfileForm, RegistrationForm
from portal.auth.models import Role, user_by_email
from portal.auth.permissions import authenticated, public, require
from portal.core.errors import DomainError
from portal.core.extensions import db, limiter
from portal.core.utils import safe_next

bp = Blueprint("auth", __name__)


def _account_key() -> str:
    email = (request.form.get("email") or "").strip().lower()[:254]
    return "login-account:" + email


def _login_failed(response) -> bool:
    # A successful login redirects; everything else counts against the limits.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@require(public)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ADDRESS"],
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-address",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-account",
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if request.method == "POST" else 200
    user = user_by_email(form.email.data)
    if user is None or not user.check_password(form.password.data):
        form.password.errors.append(_("邮箱或密码不正确。"))
        return render_template("auth/login.html", form=form), 400
    if not user.is_enabled:
        form.email.errors.append(_("此账号已停用。如有疑问,请联系网站管理员。"))
        return render_template("auth/login.html", form=form), 403
    login_user(user, remember=form.remember.data)
    flash(_("欢迎您,%(name)s。", name=user.display_name), "success")
    return redirect(safe_next(request.args.get("next"), url_for("core.home")))


@bp.post("/logout")
@require(authenticated)
def logout():
    logout_user()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("core.home"))


@bp.route("/register", methods=["GET", "POST"])
@require(public)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = RegistrationForm()
    if not form.validate_on_submit():
        return render_template("auth/register.html", form=form), 400 if request.method == "POST" else 200
    try:
        user = operations.create_user(
            None,
            email=form.email.data,
            display_name=form.display_name.data,
            password=form.password.data,
            roles=[Role.CITIZEN],
        )
    except DomainError as exc:
        db.session.rollback()
        target = form.email if exc.code in ("invalid_email", "duplicate_email") else form.password
        target.errors.append(str(exc.message))
        return render_template("auth/register.html", form=form), exc.status
    db.session.commit()
    login_user(user)
    flash(_("注册成功,欢迎您,%(name)s。", name=user.display_name), "success")
    return redirect(url_for("auth.profile"))


@bp.route("/profile", methods=["GET", "POST"])
@require(authenticated)
def profile():
    form = ProfileForm(obj=current_user if request.method == "GET" else None)
    if request.method == "GET":
        form.locale.data = current_user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    if not form.validate_on_submit():
        return render_template("auth/profile.html", form=form), 400 if request.method == "POST" else 200
    operations.update_profile(current_user, display_name=form.display_name.data, locale=form.locale.data)
    db.session.commit()
    flash(_("个人资料已保存。"), "success")
    response = redirect(url_for("auth.profile"))
    response.set_cookie("lang", form.locale.data, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.route("/profile/password", methods=["GET", "POST"])
@require(authenticated)
def change_password():
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return render_template("auth/password.html", form=form), 400 if request.method == "POST" else 200
    try:
        operations.change_password(current_user, current=form.current.data, new=form.new.data)
    except DomainError as exc:
        db.session.rollback()
        (form.current if exc.code == "wrong_password" else form.new).errors.append(str(exc.message))
        return render_template("auth/password.html", form=form), 400
    db.session.commit()
    # The session token changed; log in again in this browser so only the other sessions end.
    login_user(current_user._get_current_object())
    flash(_("密码已修改,其他设备上的登录已失效。"), "success")
    return redirect(url_for("auth.profile"))
