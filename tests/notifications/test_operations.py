"""Following, notifications, due reminders, and the mail outbox/SMTP delivery."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.consultation import operations as consultation_ops
from portal.core import mail
from portal.core.models import utcnow
from portal.notifications import operations
from portal.notifications.models import Follow, Notification


def outbox(app) -> list:
    return [
        message_from_bytes(p.read_bytes(), policy=default)
        for p in sorted(Path(app.config["OUTBOX_PATH"]).glob("*.eml"))
    ]


def notifications_of(db, user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)))


def test_follow_is_idempotent_and_unfollow_removes(db, make_decision, citizen):
    decision = make_decision()
    operations.follow(citizen, decision)
    operations.follow(citizen, decision)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Follow)) == 1
    assert operations.is_following(citizen, decision)
    operations.unfollow(citizen, decision)
    operations.unfollow(citizen, decision)
    assert not operations.is_following(citizen, decision)


def test_opening_a_consultation_notifies_followers_in_site_and_by_mail(app, db, make_decision, make_user, official):
    decision = make_decision()
    follower, bystander = make_user(Role.CITIZEN), make_user(Role.CITIZEN)
    operations.follow(follower, decision)
    db.session.commit()
    start = utcnow()
    consultation_ops.open_consultation(official, decision, starts_at=start, ends_at=start + timedelta(days=30))
    assert outbox(app) == []  # nothing leaves before the transaction commits
    db.session.commit()
    [note] = notifications_of(db, follower)
    assert note.kind == "consultation_opened"
    assert decision.title in note.message
    assert notifications_of(db, bystander) == []
    mails = [m for m in outbox(app) if m["To"] == follower.email]
    assert len(mails) == 1
    assert decision.title in mails[0].get_content()


def test_notify_followers_for_a_new_version(app, db, make_decision, make_user):
    decision = make_decision()
    people = [make_user(Role.CITIZEN) for _ in range(3)]
    for person in people:
        operations.follow(person, decision)
    sent = operations.notify_followers(decision, "version_published", number=2, exclude=[people[0].id])
    db.session.commit()
    assert sent == 2
    assert notifications_of(db, people[0]) == []
    assert "第 2 版" in notifications_of(db, people[1])[0].message


def test_publishing_a_version_notifies_followers(app, db, make_decision, make_user, official):
    from portal.decisions import operations as decision_ops

    decision = make_decision()
    follower = make_user(Role.CITIZEN)
    operations.follow(follower, decision)
    operations.follow(official, decision)
    version = decision_ops.create_version(
        official, decision, body="第一条 新的内容。", explanation="说明", change_note="修改"
    )
    decision_ops.publish_version(official, version)
    db.session.commit()
    [note] = notifications_of(db, follower)
    assert f"第 {version.number} 版" in note.message
    assert notifications_of(db, official) == []  # the one who published is not told


def test_reminder_three_days_before_closing_goes_once(app, db, make_consultation, make_user):
    closing = make_consultation(started_days_ago=28)  # two days left
    later = make_consultation(started_days_ago=5)
    follower = make_user(Role.CITIZEN)
    operations.follow(follower, closing.decision)
    operations.follow(follower, later.decision)
    db.session.commit()
    lines = operations.send_due()
    db.session.commit()
    assert len(lines) == 1
    assert closing.decision.slug in lines[0]
    assert [n.kind for n in notifications_of(db, follower)] == ["consultation_closing"]
    assert operations.send_due() == []
    db.session.commit()
    assert len(notifications_of(db, follower)) == 1


def test_reminder_again_after_an_extension(app, db, make_consultation, make_user, official):
    c = make_consultation(started_days_ago=28)
    follower = make_user(Role.CITIZEN)
    operations.follow(follower, c.decision)
    operations.send_due()
    consultation_ops.extend_consultation(official, c, ends_at=c.ends_at + timedelta(days=10), reason="延长")
    db.session.commit()
    assert c.reminder_sent_at is None
    assert operations.send_due(now=c.ends_at - timedelta(days=2)) != []
    assert len(notifications_of(db, follower)) == 2


def test_response_notifies_the_author_and_not_others(app, db, make_consultation, make_comment, official, citizen):
    c = make_consultation()
    comment = make_comment(c, author=citizen, publish_by=official)
    consultation_ops.respond(official, comment, disposition="partly_adopted", reason="部分采纳。")
    db.session.commit()
    [note] = notifications_of(db, citizen)
    assert note.url.endswith(f"/comments/{comment.tracking_number}/receipt")
    assert "部分采纳" in note.message
    assert operations.unread_count(citizen) == 1
    operations.mark_all_read(citizen)
    assert operations.unread_count(citizen) == 0


def test_mark_read_refuses_someone_elses(db, make_consultation, make_comment, official, citizen, make_user):
    from portal.core.errors import NotAllowed

    c = make_consultation()
    comment = make_comment(c, author=citizen, publish_by=official)
    consultation_ops.respond(official, comment, disposition="adopted", reason="采纳。")
    [note] = notifications_of(db, citizen)
    with pytest.raises(NotAllowed):
        operations.mark_read(make_user(Role.CITIZEN), note)


# Mail ------------------------------------------------------------------------------------------


def test_mail_is_written_after_commit_and_dropped_on_rollback(app, db):
    mail.send_mail("a@example.cn", "主题一", "正文一")
    db.session.rollback()
    assert outbox(app) == []
    mail.send_mail("b@example.cn", "主题二\r\nBcc: evil@example.cn", "正文二")
    assert mail.pending_count() == 1
    db.session.commit()
    [message] = outbox(app)
    assert message["To"] == "b@example.cn"
    assert message["Bcc"] is None
    assert message["Subject"] == "主题二 Bcc: evil@example.cn"
    assert message.get_content().strip() == "正文二"
    assert not list(Path(app.config["OUTBOX_PATH"]).glob(".*.tmp"))


def test_mail_waits_for_the_outermost_commit_not_a_savepoint(app, db):
    mail.send_mail("c@example.cn", "主题三", "正文三")
    savepoint = db.session.begin_nested()
    savepoint.commit()  # releasing a SAVEPOINT fires after_commit too
    assert outbox(app) == []
    assert mail.pending_count() == 1
    db.session.rollback()
    assert outbox(app) == []


def test_bad_address_is_logged_not_raised(app, db, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.mail"):
        assert mail.send_mail("", "x", "y") is False
        assert mail.send_mail("bad\n@x", "x", "y") is False
    db.session.commit()
    assert outbox(app) == []


def test_outbox_failure_does_not_break_the_action(app, db, make_consultation, citizen, caplog, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    app.config["OUTBOX_PATH"] = str(blocker / "outbox")
    c = make_consultation()
    with caplog.at_level(logging.ERROR, logger="portal.mail"):
        comment = consultation_ops.submit_comment(citizen, c, body="邮件发不出去也要保存")
        db.session.commit()
    assert comment.id is not None
    assert "could not write mail" in caplog.text


class FakeSMTP:
    sent: list = []
    fail = False

    def __init__(self, host, port, timeout=None):
        self.host, self.port = host, port
        self.logged_in = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context=None):
        pass

    def login(self, user, password):
        self.logged_in = (user, password)

    def send_message(self, message):
        if FakeSMTP.fail:
            raise smtplib.SMTPServerDisconnected("gone")
        FakeSMTP.sent.append((self.host, self.port, self.logged_in, message))


@pytest.fixture
def fake_smtp(monkeypatch):
    FakeSMTP.sent = []
    FakeSMTP.fail = False
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


def test_smtp_delivery_in_a_background_thread(app, db, fake_smtp):
    app.config["SMTP_URL"] = "smtp://user%40x:p%3Ass@mail.example.cn:2525"
    mail.send_mail("c@example.cn", "主题", "正文")
    db.session.commit()
    mail.wait_for_deliveries()
    [(host, port, login, message)] = fake_smtp.sent
    assert (host, port, login) == ("mail.example.cn", 2525, ("user@x", "p:ss"))
    assert message["To"] == "c@example.cn"
    assert outbox(app) == []


def test_smtp_failure_is_logged(app, db, fake_smtp, caplog):
    app.config["SMTP_URL"] = "smtp://mail.example.cn"
    fake_smtp.fail = True
    with caplog.at_level(logging.ERROR, logger="portal.mail"):
        mail.send_mail("d@example.cn", "主题", "正文")
        db.session.commit()
        mail.wait_for_deliveries()
    assert "SMTP delivery" in caplog.text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://h", {"host": "h", "port": 25, "ssl": False, "starttls": False, "username": None}),
        ("smtps://u:p@h", {"host": "h", "port": 465, "ssl": True, "username": "u", "password": "p"}),
        ("smtp+starttls://h:587", {"port": 587, "starttls": True}),
    ],
)
def test_parse_smtp_url(url, expected):
    settings = mail.parse_smtp_url(url)
    for key, value in expected.items():
        assert settings[key] == value


@pytest.mark.parametrize("url", ["http://h", "smtp://", "ftp://u@h"])
def test_parse_smtp_url_refuses(url):
    with pytest.raises(ValueError, match="mail URL"):
        mail.parse_smtp_url(url)


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("held", [False, True])
def test_render_mail_writes_what_render_text_writes(app, db, make_consultation, make_comment, citizen, locale, held):
    """The intake's receipt renders with the catalogue bound directly (render_mail): the same text as
    through Flask's render_template, in each language, and the app's own gettext is left alone."""
    from flask_babel import force_locale, gettext

    comment = make_comment(make_consultation(), author=citizen, article="art-1")
    if held:
        comment.status = "unconfirmed"
    context = {
        "user": citizen,
        "comment": comment,
        "decision": comment.consultation.decision,
        "link": "https://portal.example.cn/x",
    }
    globals_before = dict(app.jinja_env.globals)
    with app.test_request_context("/"), force_locale(locale):
        fast = operations.render_mail("consultation/emails/receipt.txt", **context)
        assert fast == operations.render_text("consultation/emails/receipt.txt", **context)
    assert comment.tracking_number in fast
    assert citizen.display_name in fast
    assert ("Your comment" in fast or "received" in fast) == (locale == "en")
    assert ("尚未确认" in fast or "not been confirmed" in fast or "not yet confirmed" in fast) == held
    assert app.jinja_env.globals == globals_before
    other = "zh_CN" if locale == "en" else "en"
    with app.test_request_context("/"), force_locale(other):
        # The app's templates still translate into whatever locale is current.
        assert app.jinja_env.from_string("{{ _('意见已收到:%(no)s', no='1') }}").render() == gettext(
            "意见已收到:%(no)s", no="1"
        )


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ("a@example.cn", "意见已收到:GY-2026-000123"),
        ("citizen000123@surge-bench.cn", "Comment received: GY-2026-000123"),
        ("x" * 90 + "@example.cn", "Hearing time changed: " + "a long title " * 12),
        ("b@example.cn", "听证会时间变更:" + "很长的标题" * 20),
        ("c@example.cn", "mixed 中文 and ASCII " * 6),
    ],
)
def test_messages_are_written_as_compat32_writes_them(to, subject):
    """The mail policy writes short ASCII headers without email.header (issue 8, speed): the bytes
    are exactly what compat32 gives, for short and long, ASCII and Chinese headers."""
    from email import policy

    message = mail.build_message(to, subject, "正文。\n" * 30, sender="noreply@portal.example.cn")
    assert message.as_bytes() == message.as_bytes(policy=policy.compat32)
    assert message_from_bytes(message.as_bytes(), policy=default)["Subject"] == " ".join(subject.split())
