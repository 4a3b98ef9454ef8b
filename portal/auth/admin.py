"""Admin pages: users, roles, departments and their members."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from portal.auth import operations
from portal.auth.forms import DepartmentForm, MemberForm, UserAdminForm, UserCreateForm, role_choices
from portal.auth.models import Department, Role, User, UserRole, user_by_email
from portal.auth.permissions import admin_only, require
from portal.core.errors import DomainError
from portal.core.extensions import db
from portal.core.utils import page_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 25


def _department_choices():
    return [(d.code, f"{d.name} ({d.code})") for d in db.session.scalars(select(Department).order_by(Department.code))]


@bp.get("/")
@require(admin_only)
def index():
    return redirect(url_for(".users"))


@bp.get("/users")
@require(admin_only)
def users():
    q = (request.args.get("q") or "").strip()[:100]
    role = request.args.get("role") or ""
    if role and role not in {r.value for r in Role}:
        role = ""
    stmt = select(User)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(User.email).like(like), User.display_name.like(f"%{q}%")))
    if role:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    pagination = db.paginate(stmt.order_by(User.id), page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template("admin/users.html", pagination=pagination, q=q, role=role, roles=list(Role))


@bp.route("/users/new", methods=["GET", "POST"])
@require(admin_only)
def create_user():
    form = UserCreateForm()
    form.roles.choices = role_choices()
    form.departments.choices = _department_choices()
    if request.method == "GET":
        form.roles.data = [Role.CITIZEN.value]
    if not form.validate_on_submit():
        return render_template("admin/user_new.html", form=form), 400 if request.method == "POST" else 200
    departments = db.session.scalars(select(Department).where(Department.code.in_(form.departments.data or []))).all()
    try:
        user = operations.create_user(
            current_user,
            email=form.email.data,
            display_name=form.display_name.data,
            password=form.password.data,
            roles=form.roles.data or [Role.CITIZEN.value],
            departments=departments,
            confirmed=True,
        )
    except DomainError as exc:
        db.session.rollback()
        field = {
            "invalid_email": form.email,
            "duplicate_email": form.email,
            "invalid_name": form.display_name,
            "weak_password": form.password,
        }.get(exc.code, form.roles)
        field.errors = [*field.errors, str(exc.message)]
        return render_template("admin/user_new.html", form=form), exc.status
    db.session.commit()
    flash(_("账号 %(email)s 已创建。", email=user.email), "success")
    return redirect(url_for(".user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@require(admin_only)
def user_detail(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserAdminForm()
    form.roles.choices = role_choices()
    form.departments.choices = _department_choices()
    if request.method == "GET":
        form.roles.data = sorted(user.roles)
        form.departments.data = [d.code for d in user.departments]
        form.enabled.data = user.is_enabled
    if not form.validate_on_submit():
        return render_template("admin/user.html", user=user, form=form), 400 if request.method == "POST" else 200
    try:
        operations.set_roles(current_user, user, form.roles.data or [])
        operations.set_departments(current_user, user, form.departments.data or [])
        operations.set_enabled(current_user, user, bool(form.enabled.data), reason=form.reason.data or "")
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return render_template("admin/user.html", user=db.get_or_404(User, user_id), form=form), exc.status
    db.session.commit()
    flash(_("已保存 %(name)s 的账号设置。", name=user.display_name), "success")
    return redirect(url_for(".user_detail", user_id=user.id))


@bp.get("/departments")
@require(admin_only)
def departments():
    rows = db.session.execute(
        select(Department, func.count(User.id))
        .outerjoin(Department.members)
        .group_by(Department.id)
        .order_by(Department.code)
    ).all()
    return render_template("admin/departments.html", rows=rows, form=DepartmentForm())


@bp.post("/departments")
@require(admin_only)
def create_department():
    form = DepartmentForm()
    if not form.validate_on_submit():
        return render_template("admin/department_new.html", form=form), 400
    try:
        department = operations.create_department(
            current_user, code=form.code.data, name=form.name.data, name_en=form.name_en.data
        )
    except DomainError as exc:
        db.session.rollback()
        form.code.errors = [*form.code.errors, str(exc.message)]
        return render_template("admin/department_new.html", form=form), exc.status
    db.session.commit()
    flash(_("单位 %(name)s 已创建。", name=department.name), "success")
    return redirect(url_for(".department_detail", code=department.code))


def _department_or_404(code: str) -> Department:
    department = db.session.scalar(select(Department).where(Department.code == code))
    if department is None:
        abort(404)
    return department


@bp.route("/departments/<code>", methods=["GET", "POST"])
@require(admin_only)
def department_detail(code: str):
    department = _department_or_404(code)
    form = DepartmentForm(obj=department if request.method == "GET" else None)
    form.code.data = department.code
    member_form = MemberForm(formdata=None, prefix="member")
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template(
            "admin/department.html", department=department, form=form, member_form=member_form
        ), status
    try:
        operations.update_department(
            current_user, department, name=form.name.data, name_en=form.name_en.data, active=bool(form.active.data)
        )
    except DomainError as exc:
        db.session.rollback()
        form.name.errors = [*form.name.errors, str(exc.message)]
        return render_template(
            "admin/department.html", department=department, form=form, member_form=member_form
        ), exc.status
    db.session.commit()
    flash(_("单位信息已保存。"), "success")
    return redirect(url_for(".department_detail", code=department.code))


@bp.post("/departments/<code>/members")
@require(admin_only)
def add_member(code: str):
    department = _department_or_404(code)
    member_form = MemberForm(prefix="member")
    user = user_by_email(member_form.email.data or "") if member_form.validate_on_submit() else None
    if user is None:
        if not member_form.errors:
            member_form.email.errors = [_("没有使用该邮箱的账号。")]
        form = DepartmentForm(obj=department)
        return render_template("admin/department.html", department=department, form=form, member_form=member_form), 400
    try:
        operations.add_member(current_user, department, user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for(".department_detail", code=code))
    db.session.commit()
    flash(_("已将 %(name)s 加入本单位。", name=user.display_name), "success")
    return redirect(url_for(".department_detail", code=code))


@bp.post("/departments/<code>/members/<int:user_id>/remove")
@require(admin_only)
def remove_member(code: str, user_id: int):
    department = _department_or_404(code)
    user = db.get_or_404(User, user_id)
    try:
        operations.remove_member(current_user, department, user)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for(".department_detail", code=code))
    db.session.commit()
    flash(_("已将 %(name)s 移出本单位。", name=user.display_name), "success")
    return redirect(url_for(".department_detail", code=code))
