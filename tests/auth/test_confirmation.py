"""E-mail confirmation: the signed link, its refusals, and comments held until it is used."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from portal.auth import operations as auth_ops
from portal.auth.confirmation import PURPOSE, SALT, _address_digest, make_token
from portal.auth.models import Role, User
from portal.consultation import operations as consultation_ops
from portal.consultation import queries
from portal.consultation.models import Comment, CommentStatus
from portal.core.models import utcnow
from portal.trace.models import TraceEntry

from ..conftest import PASSWORD
from ..consultation.conftest import department, make_consultation, make_decision, official  # noqa: F401

LINK = re.compile(r"/confirm-email/([A-Za-z0-9_.\-]+)")


def outbox_messages(app) -> list:
    folder = Path(app.config["OUTBOX_PATH"])
    return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(folder.glob("*.eml"))]


def confirmation_links(app, to: str) -> list[str]:
    links = []
    for message in outbox_messages(app):
        if message["To"] == to:
            links += LINK.findall(message.get_content())
    return links


def entries(db, action: str) -> list[TraceEntry]:
    return list(db.session.scalars(select(TraceEntry).where(TraceEntry.action == action).order_by(TraceEntry.seq)))


def sign_up(client, email="new.citizen@example.cn", name="新用户"):
    return client.post(
        "/register",
        data={"email": email, "display_name": name, "password": PASSWORD, "confirm": PASSWORD},
    )


@pytest.fixture
def unconfirmed(make_user):
    return make_user(Role.CITIZEN, confirmed=False, name="未确认")


# The link ---------------------------------------------------------------------------------------


def test_registration_sends_a_link_that_confirms_once(app, client, db):
    response = sign_up(client)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.citizen@example.cn"))
    assert user.email_confirmed_at is None
    links = confirmation_links(app, user.email)
    assert len(links) == 1
    assert "确认" in client.get("/profile").get_data(as_text=True)

    page = client.get(f"/confirm-email/{links[0]}")
    assert page.status_code == 200
    db.session.refresh(user)
    assert user.email_confirmed_at is None, "showing the page must not confirm (mail scanners open links)"

    done = client.post(f"/confirm-email/{links[0]}")
    assert done.status_code == 302
    db.session.refresh(user)
    confirmed_at = user.email_confirmed_at
    assert confirmed_at is not None
    recorded = entries(db, "user.email_confirmed")
    assert len(recorded) == 1
    assert recorded[0].visibility == "internal"
    assert "new.citizen" not in (recorded[0].payload or "")

    # Replayed: says so, changes nothing.
    again = client.post(f"/confirm-email/{links[0]}")
    assert again.status_code == 200
    assert "已经确认" in again.get_data(as_text=True)
    db.session.refresh(user)
    assert user.email_confirmed_at == confirmed_at
    assert len(entries(db, "user.email_confirmed")) == 1
    assert "已经确认" in client.get(f"/confirm-email/{links[0]}").get_data(as_text=True)


def _forged(app, payload, salt=SALT, key=None):
    return URLSafeTimedSerializer(key or app.config["SECRET_KEY"], salt=salt).dumps(payload)


@pytest.mark.parametrize(
    "kind",
    ["garbage", "tampered", "other_key", "other_purpose_salt", "other_purpose_field", "no_user", "too_long"],
)
def test_bad_links_are_refused_and_change_nothing(app, client, db, unconfirmed, kind):
    good = make_token(unconfirmed)
    digest = _address_digest(unconfirmed.email)
    token = {
        "garbage": "not-a-token",
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "other_key": _forged(app, {"u": unconfirmed.id, "e": digest, "p": PURPOSE}, key="another-site"),
        "other_purpose_salt": _forged(app, {"u": unconfirmed.id, "e": digest, "p": PURPOSE}, salt="portal.export"),
        "other_purpose_field": _forged(app, {"u": unconfirmed.id, "e": digest, "p": "reset-password"}),
        "no_user": _forged(app, {"u": 999_999, "e": digest, "p": PURPOSE}),
        "too_long": "x" * 600,
    }[kind]
    before = db.session.scalar(select(func.count(TraceEntry.seq)))
    for method in (client.get, client.post):
        response = method(f"/confirm-email/{token}")
        assert response.status_code == 400, (kind, response.status_code)
        assert "确认链接无效" in response.get_data(as_text=True)
    db.session.refresh(unconfirmed)
    assert unconfirmed.email_confirmed_at is None
    assert db.session.scalar(select(func.count(TraceEntry.seq))) == before


def test_expired_link_is_refused(app, client, db, unconfirmed):
    token = make_token(unconfirmed)
    app.config["EMAIL_CONFIRMATION_MAX_AGE"] = -1
    response = client.post(f"/confirm-email/{token}")
    assert response.status_code == 400
    assert "已过期" in response.get_data(as_text=True)
    db.session.refresh(unconfirmed)
    assert unconfirmed.email_confirmed_at is None


def test_link_for_a_changed_address_is_refused(client, db, unconfirmed):
    token = make_token(unconfirmed)
    unconfirmed.email = "moved@example.cn"
    db.session.commit()
    response = client.post(f"/confirm-email/{token}")
    assert response.status_code == 400
    assert "以前使用的邮箱" in response.get_data(as_text=True)
    db.session.refresh(unconfirmed)
    assert unconfirmed.email_confirmed_at is None


def test_resend_from_the_profile_is_rate_limited(app, client, db, unconfirmed, login):
    sent_at_creation = len(confirmation_links(app, unconfirmed.email))
    assert sent_at_creation == 1
    login(unconfirmed)
    assert client.post("/profile/confirm-email").status_code == 302
    links = confirmation_links(app, unconfirmed.email)
    assert len(links) == 2
    response = client.post("/profile/confirm-email")
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert "操作过于频繁" in response.get_data(as_text=True)
    assert len(confirmation_links(app, unconfirmed.email)) == 2
    # Every link sent works (the newest first), once.
    assert client.post(f"/confirm-email/{links[-1]}").status_code == 302
    assert "已经确认" in client.post(f"/confirm-email/{links[0]}").get_data(as_text=True)
    # Once confirmed, resending says so and sends nothing.
    app.config["CONFIRMATION_RATE_PER_ACCOUNT"] = ""
    page = client.post("/profile/confirm-email", follow_redirects=True)
    assert "已经确认" in page.get_data(as_text=True)
    assert len(confirmation_links(app, unconfirmed.email)) == 2


def test_accounts_made_by_admins_and_the_cli_are_confirmed(app, db, runner, client, make_user, login):
    login(make_user(Role.ADMIN))
    response = client.post(
        "/admin/users/new",
        data={"email": "staff@example.cn", "display_name": "工作人员", "password": "Xinren-2026a", "roles": "official"},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(User.email_confirmed_at).where(User.email == "staff@example.cn")) is not None
    assert confirmation_links(app, "staff@example.cn") == []
    result = runner.invoke(args=["create-user", "cli@example.cn", "--password", PASSWORD, "--name", "命令行"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.email_confirmed_at).where(User.email == "cli@example.cn")) is not None


# Comments held until confirmation --------------------------------------------------------------


def test_unconfirmed_comment_is_held_out_of_moderation_and_counts(app, db, unconfirmed, make_consultation):  # noqa: F811
    consultation = make_consultation()
    comment = consultation_ops.submit_comment(unconfirmed, consultation, body="阶梯水价第一档应当提高。")
    db.session.commit()
    assert comment.tracking_number.startswith("GY-")  # the receipt is a promise: number issued now
    assert comment.status == CommentStatus.UNCONFIRMED.value
    counts = queries.status_counts(consultation)
    assert sum(counts.values()) == 0
    assert queries.pending_groups(consultation, 1).total == 0
    assert queries.build_report(consultation).received == 0
    assert queries.build_report(consultation).distinct_texts == 0
    assert queries.all_comments_for_export(consultation) == []
    accepted = entries(db, "comment.accepted")
    assert len(accepted) == 1
    assert '"awaiting_confirmation":true' in accepted[0].payload
    receipt = [m for m in outbox_messages(app) if comment.tracking_number in str(m["Subject"])]
    assert receipt
    assert "尚未确认" in receipt[0].get_content()


def test_confirmation_releases_held_comments_in_the_same_transaction(client, db, unconfirmed, make_consultation):  # noqa: F811
    consultation = make_consultation()
    comment = consultation_ops.submit_comment(unconfirmed, consultation, body="建议增加低保减免。")
    db.session.commit()
    response = client.post(f"/confirm-email/{make_token(unconfirmed)}")
    assert response.status_code == 302
    db.session.refresh(comment)
    assert comment.status == CommentStatus.PENDING.value
    assert queries.status_counts(consultation)[CommentStatus.PENDING.value] == 1
    released = entries(db, "comment.released")
    assert len(released) == 1
    confirmed = entries(db, "user.email_confirmed")[0]
    assert released[0].seq == confirmed.seq + 1
    assert released[0].visibility == "internal"
    # Later comments go straight to moderation.
    later = consultation_ops.submit_comment(unconfirmed, consultation, body="另一条意见。")
    assert later.status == CommentStatus.PENDING.value


def test_comment_submitted_in_time_counts_when_confirmed_after_the_close(db, unconfirmed, make_consultation):  # noqa: F811
    consultation = make_consultation(started_days_ago=31, days=30.5)
    submitted_at = utcnow() - timedelta(hours=13)
    comment = consultation_ops.submit_comment(unconfirmed, consultation, body="按时提交的意见。", now=submitted_at)
    db.session.commit()
    assert consultation.is_closed()
    assert auth_ops.confirm_email(unconfirmed) is not None
    db.session.commit()
    db.session.refresh(comment)
    assert comment.status == CommentStatus.PENDING.value
    assert comment.created_at == submitted_at


def test_held_comment_is_not_public(client, db, unconfirmed, make_consultation):  # noqa: F811
    consultation = make_consultation()
    comment = consultation_ops.submit_comment(unconfirmed, consultation, body="不应公开的暂存意见ZX9")
    db.session.commit()
    page = client.get(f"/decisions/{consultation.decision.slug}/consultation")
    assert "ZX9" not in page.get_data(as_text=True)
    assert client.get(f"/api/v1/comments/{comment.tracking_number}").status_code == 404


def test_unconfirmed_citizen_is_told_on_the_receipt(client, db, unconfirmed, login, make_consultation):  # noqa: F811
    consultation = make_consultation()
    login(unconfirmed)
    response = client.post(
        f"/decisions/{consultation.decision.slug}/consultation/comments",
        data={"body": "网页提交的意见。", "article": "", "submission_token": "tok-1"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "请先确认您的邮箱" in text
    assert "尚未确认" in text
    stored = db.session.scalar(select(Comment).where(Comment.author_id == unconfirmed.id))
    assert stored.status == CommentStatus.UNCONFIRMED.value
