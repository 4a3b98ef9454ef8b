"""Login, logout, registration, profile and password pages."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.auth import operations
from portal.auth.confirmation import user_for_token
from portal.auth.forms import (
    ConfirmEmailForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    RegistrationForm,
    ResendConfirmationForm,
)
from portal.auth.models import Role, user_by_email
from portal.auth.permissions import authenticated, public, require
from portal.core.errors import DomainError
from portal.core.extensions import db, limiter
from portal.core.ratelimits import configured_limit, throttled
from portal.core.utils import safe_next

bp = Blueprint("auth", __name__)


def _account_key() -> str:
    email = (request.form.get("email") or "").strip().lower()[:254]
    return "login-account:" + email


def _signup_key() -> str:
    # Before there is an account, "the account" is the address being registered.
    return "signup:" + (request.form.get("email") or "").strip().lower()[:254]


def _login_failed(response) -> bool:
    # A successful login redirects; everything else counts against the limits.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@require(public)
@limiter.limit(
    configured_limit("LOGIN_LIMIT_ADDRESS"),
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-address",
)
@limiter.limit(
    configured_limit("LOGIN_LIMIT_ACCOUNT"),
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
@throttled("signup", per_account=_signup_key)
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
    flash(
        _(
            "我们已向 %(email)s 发送了一封确认邮件,请打开邮件中的链接确认邮箱。"
            "确认之前,您提交的意见和听证报名会暂缓生效。",
            email=user.email,
        ),
        "info",
    )
    return redirect(url_for("auth.profile"))


@bp.get("/confirm-email/<token>")
@require(public)
def confirm_email(token: str):
    # Showing the page changes nothing (mail scanners open links); the button below confirms.
    try:
        account = user_for_token(token)
    except DomainError as exc:
        return render_template("auth/confirm.html", problem=exc.message), exc.status
    already = account.email_confirmed_at is not None
    return render_template("auth/confirm.html", account=account, already=already, form=ConfirmEmailForm())


@bp.post("/confirm-email/<token>")
@require(public)
def confirm_email_submit(token: str):
    form = ConfirmEmailForm()
    if not form.validate_on_submit():
        return render_template("auth/confirm.html", problem=_("表单已过期,请重新打开邮件中的链接。")), 400
    try:
        account = user_for_token(token)
    except DomainError as exc:
        return render_template("auth/confirm.html", problem=exc.message), exc.status
    notices = operations.confirm_email(account)
    if notices is None:
        return render_template("auth/confirm.html", account=account, already=True)
    db.session.commit()
    flash(_("邮箱已确认。"), "success")
    for notice in notices:
        flash(str(notice), "info")
    if current_user.is_authenticated and current_user.id == account.id:
        return redirect(url_for("auth.profile"))
    return redirect(url_for("auth.login"))


@bp.post("/profile/confirm-email")
@require(authenticated)
@throttled("confirmation")
def resend_confirmation():
    form = ResendConfirmationForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.profile"))
    try:
        operations.resend_confirmation(current_user)
    except DomainError as exc:
        flash(str(exc.message), "info")
        return redirect(url_for("auth.profile"))
    db.session.commit()  # the mail is written to the outbox (or sent) after the commit
    flash(_("确认邮件已发送到 %(email)s,请查收(也请看看垃圾邮件文件夹)。", email=current_user.email), "success")
    return redirect(url_for("auth.profile"))


@bp.route("/profile", methods=["GET", "POST"])
@require(authenticated)
def profile():
    form = ProfileForm(obj=current_user if request.method == "GET" else None)
    if request.method == "GET":
        form.locale.data = current_user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    if not form.validate_on_submit():
        return render_template(
            "auth/profile.html", form=form, resend_form=ResendConfirmationForm(formdata=None)
        ), 400 if request.method == "POST" else 200
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
