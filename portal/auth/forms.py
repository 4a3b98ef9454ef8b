"""Forms for accounts and the admin pages. Every text field has a length limit and a message."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.auth.models import (
    DEPARTMENT_CODE_MAX,
    DEPARTMENT_NAME_MAX,
    EMAIL_MAX,
    NAME_MAX,
    PASSWORD_MAX,
    ROLE_LABELS,
    Role,
)
from portal.auth.passwords import password_problem


def _required():
    return DataRequired(message=_l("此项必填。"))


def _max(n: int):
    return Length(max=n, message=_l("不能超过 %(max)d 个字符。"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[_required(), _max(EMAIL_MAX)])
    password = PasswordField(_l("密码"), validators=[_required(), _max(PASSWORD_MAX)])
    remember = BooleanField(_l("在此设备上保持登录"))
    submit = SubmitField(_l("登录"))


class RegistrationForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[_required(), _max(EMAIL_MAX)])
    display_name = StringField(_l("姓名或昵称"), validators=[_required(), _max(NAME_MAX)])
    password = PasswordField(
        _l("密码"),
        validators=[_required(), _max(PASSWORD_MAX)],
        description=_l("至少 10 个字符,包含字母和数字;或 16 个字符以上的密码短语。"),
    )
    confirm = PasswordField(
        _l("再次输入密码"), validators=[_required(), EqualTo("password", message=_l("两次输入的密码不一致。"))]
    )
    submit = SubmitField(_l("注册"))

    def validate_password(self, field):
        problem = password_problem(field.data or "", email=self.email.data or "", name=self.display_name.data or "")
        if problem:
            raise ValidationError(str(problem))


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[_required(), _max(PASSWORD_MAX)])
    new = PasswordField(
        _l("新密码"),
        validators=[_required(), _max(PASSWORD_MAX)],
        description=_l("至少 10 个字符,包含字母和数字;或 16 个字符以上的密码短语。"),
    )
    confirm = PasswordField(
        _l("再次输入新密码"), validators=[_required(), EqualTo("new", message=_l("两次输入的密码不一致。"))]
    )
    submit = SubmitField(_l("修改密码"))


class ProfileForm(FlaskForm):
    display_name = StringField(_l("姓名或昵称"), validators=[_required(), _max(NAME_MAX)])
    locale = SelectField(_l("界面语言"), choices=[("zh_CN", "中文"), ("en", "English")])
    submit = SubmitField(_l("保存"))


def role_choices():
    return [(r.value, str(ROLE_LABELS[r])) for r in Role]


class UserAdminForm(FlaskForm):
    roles = MultiCheckboxField(_l("角色"), choices=[])
    departments = MultiCheckboxField(_l("所属单位"), choices=[])
    enabled = BooleanField(_l("账号启用"))
    reason = StringField(_l("停用或启用的原因"), validators=[Optional(), _max(500)])
    submit = SubmitField(_l("保存"))


class UserCreateForm(FlaskForm):
    email = EmailField(_l("邮箱"), validators=[_required(), _max(EMAIL_MAX)])
    display_name = StringField(_l("姓名"), validators=[_required(), _max(NAME_MAX)])
    password = PasswordField(_l("初始密码"), validators=[_required(), _max(PASSWORD_MAX)])
    roles = MultiCheckboxField(_l("角色"), choices=[])
    departments = MultiCheckboxField(_l("所属单位"), choices=[])
    submit = SubmitField(_l("创建账号"))


class DepartmentForm(FlaskForm):
    code = StringField(
        _l("单位代码"),
        validators=[_required(), _max(DEPARTMENT_CODE_MAX)],
        description=_l("字母、数字或连字符,例如 fgw。创建后不可修改。"),
    )
    name = StringField(_l("单位名称"), validators=[_required(), _max(DEPARTMENT_NAME_MAX)])
    name_en = StringField(_l("英文名称"), validators=[Optional(), _max(DEPARTMENT_NAME_MAX)])
    active = BooleanField(_l("在用"), default=True)
    submit = SubmitField(_l("保存"))


class MemberForm(FlaskForm):
    email = EmailField(_l("成员邮箱"), validators=[_required(), _max(EMAIL_MAX)])
    submit = SubmitField(_l("添加成员"))


class ConfirmEmailForm(FlaskForm):
    submit = SubmitField(_l("确认我的邮箱"))


class ResendConfirmationForm(FlaskForm):
    submit = SubmitField(_l("重新发送确认邮件"))
