"""The password strength rule, shared by the forms and the CLI."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.auth.models import PASSWORD_MAX, PASSWORD_MIN

# The most common passwords that would pass the length rule; a full list belongs to a later
# change that can ship a data file, but these are the ones attackers try first.
COMMON = frozenset(
    {
        "1234567890",
        "12345678910",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "password123",
        "password1234",
        "passw0rd123",
        "abc1234567",
        "a1234567890",
        "woaini1314520",
        "iloveyou123",
        "qwerty123456",
        "admin123456",
        "zxcvbnm123",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "0123456789",
        "9876543210",
        "aa123456789",
        "abcd123456",
    }
)


def password_problem(password: str, *, email: str = "", name: str = ""):
    """A translatable message saying what is wrong with ``password``, or None when it is strong enough.

    Rule: 10 to 128 characters; letters and digits both present (or 16+ characters, a passphrase);
    not a well-known password; not containing the e-mail name or the display name.
    """
    if len(password) < PASSWORD_MIN:
        return _l("密码至少需要 %(n)s 个字符。", n=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return _l("密码不能超过 %(n)s 个字符。", n=PASSWORD_MAX)
    lowered = password.lower()
    if lowered in COMMON or len(set(password)) < 4:
        return _l("这个密码太常见或太简单,请换一个。")
    has_letter = any(c.isalpha() for c in password)
    has_digit = any(c.isdigit() for c in password)
    if len(password) < 16 and not (has_letter and has_digit):
        return _l("密码需同时包含字母和数字(16 个字符以上的长密码短语除外)。")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        return _l("密码不能包含您的邮箱用户名。")
    if len(name) >= 3 and name.lower() in lowered:
        return _l("密码不能包含您的姓名。")
    return None
