"""The comment POST enters on the signed session alone (rule ``signed_in``, issue 8 surge): the
account is confirmed by the intake's transaction, and read in the request only to draw a page."""

from __future__ import annotations

import secrets

import pytest
from flask_login import current_user
from sqlalchemy import func, select, update

from portal.auth import identity
from portal.auth.identity import SessionAccount, confirmed_user
from portal.auth.models import Role, User
from portal.consultation import operations, queries
from portal.consultation.models import Comment
from portal.core.errors import DomainError
from portal.core.mail import PENDING_KEY
from portal.decisions.models import Decision, DraftVersion, Stage, VersionStatus


@pytest.fixture
def account_reads(monkeypatch):
    """How many times the request read the stored account (the user loader or ``confirmed_user``)."""
    calls = []
    real = identity.stored_user

    def counting(user_id):
        calls.append(user_id)
        return real(user_id)

    monkeypatch.setattr(identity, "stored_user", counting)
    return calls


def _post(client, slug, **data):
    form = {"body": "建议把第一档水量提高到 200 立方米。", "article": "", "submission_token": secrets.token_hex(8)}
    form.update(data)
    return client.post(f"/decisions/{slug}/consultation/comments", data=form)


def _unpublish(db, decision) -> None:
    """Make a decision a draft not yet public again (no published version, still drafting)."""
    db.session.execute(
        update(DraftVersion).where(DraftVersion.decision_id == decision.id).values(status=VersionStatus.DRAFT.value)
    )
    db.session.execute(update(Decision).where(Decision.id == decision.id).values(stage=Stage.DRAFTING.value))
    db.session.commit()
    db.session.expire_all()


def _count(db) -> int:
    return db.session.scalar(select(func.count(Comment.id)))


def test_an_accepted_comment_reads_no_account_in_the_request(
    client, db, login, citizen, make_consultation, account_reads
):
    c = make_consultation()
    login(citizen)
    first = _post(client, c.decision.slug)
    assert first.status_code == 302
    # The first POST to a decision learns that it is public; the next one reads nothing at all.
    account_reads.clear()
    second = _post(client, c.decision.slug)
    assert second.status_code == 302
    assert account_reads == []
    assert "/receipt?submitted=1" in second.headers["Location"]
    assert _count(db) == 2


def test_a_refused_form_is_drawn_with_the_stored_account(client, db, login, citizen, make_consultation, account_reads):
    c = make_consultation()
    login(citizen)
    assert _post(client, c.decision.slug).status_code == 302
    account_reads.clear()
    response = _post(client, c.decision.slug, body="   ")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "此项必填。" in page
    assert citizen.display_name in page  # the header names the account: it was read for the page
    assert len(account_reads) == 1
    assert _count(db) == 1


@pytest.mark.parametrize("change", ["logged_out_everywhere", "disabled"])
def test_a_session_whose_account_changed_since_is_refused(client, db, login, citizen, make_consultation, change):
    c = make_consultation()
    login(citizen)
    assert _post(client, c.decision.slug).status_code == 302  # the decision is now known
    values = {"session_token": secrets.token_hex(16)} if change == "logged_out_everywhere" else {"is_enabled": False}
    db.session.execute(update(User).where(User.id == citizen.id).values(**values))
    db.session.commit()
    response = _post(client, c.decision.slug)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert _count(db) == 1  # nothing stored
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "您的登录已失效,请重新登录后再提交意见。" in page


def test_the_operation_refuses_a_stale_session_token(db, citizen, make_consultation):
    c = make_consultation()
    submission = operations.CommentSubmission(
        author_id=citizen.id, consultation_id=c.id, body="意见", session_token="not-the-current-token"
    )
    (result,) = operations.submit_comments([submission])
    assert isinstance(result, DomainError)
    assert result.code == "login_required"
    assert result.status == 401
    db.session.rollback()
    assert _count(db) == 0


def test_the_operation_refuses_an_outsider_on_a_decision_no_longer_public(db, citizen, official, make_consultation):
    c = make_consultation()
    # The request only learnt "public" from a hint; the transaction reads the decision itself.
    _unpublish(db, c.decision)
    db.session.expire_all()
    outsider = operations.CommentSubmission(author_id=citizen.id, consultation_id=c.id, body="意见")
    (result,) = operations.submit_comments([outsider])
    assert isinstance(result, DomainError)
    assert result.code == "not_found"
    # The department's own official still sees the draft.
    (own,) = operations.submit_comments(
        [operations.CommentSubmission(author_id=official.id, consultation_id=c.id, body="内部意见")]
    )
    assert isinstance(own, Comment)


def test_a_draft_not_public_is_404_for_an_outsider_and_never_remembered(
    app, client, db, login, citizen, make_decision, make_consultation
):
    c = make_consultation()
    _unpublish(db, c.decision)
    login(citizen)
    assert _post(client, c.decision.slug).status_code == 404
    with app.app_context():
        assert queries.known_comment_target(c.decision.slug) is None
    assert _count(db) == 0


def test_only_the_comment_post_gets_a_session_account(app, db, citizen):
    with app.test_request_context("/decisions/x/consultation/comments", method="POST"):
        from flask import request

        request.url_rule, request.view_args = app.url_map.bind("localhost").match(
            "/decisions/x/consultation/comments", method="POST", return_rule=True
        )
        account = identity.load_user(citizen.get_id())
        assert isinstance(account, SessionAccount)
        assert (account.id, account.session_token) == (citizen.id, citizen.session_token)
        assert not hasattr(account, "display_name")  # anything else needs confirmed_user()
    with app.test_request_context("/decisions/x/consultation", method="GET"):
        from flask import request

        request.url_rule, request.view_args = app.url_map.bind("localhost").match(
            "/decisions/x/consultation", method="GET", return_rule=True
        )
        assert isinstance(identity.load_user(citizen.get_id()), User)
    with app.test_request_context("/"):
        assert identity.load_user("garbage") is None
        assert identity.load_user(f"{citizen.id}:wrong") is None


def test_confirmed_user_reads_the_account_once_and_turns_a_stale_one_anonymous(app, db, citizen, make_user):
    with app.test_request_context("/"):
        from flask import g

        g._login_user = SessionAccount(citizen.id, citizen.session_token)
        assert confirmed_user().display_name == citizen.display_name
        assert current_user.has_role(Role.CITIZEN)
        g._login_user = SessionAccount(citizen.id, "stale")
        assert not confirmed_user().is_authenticated


def test_the_receipt_says_received_only_to_its_author_after_sending(
    client, db, login, citizen, make_user, make_consultation
):
    c = make_consultation()
    login(citizen)
    location = _post(client, c.decision.slug).headers["Location"]
    tracking = location.split("/comments/")[1].split("/")[0]
    assert f"您的意见已提交,编号 {tracking}。审核通过后将公开。" in client.get(location).get_data(as_text=True)
    assert "您的意见已提交" not in client.get(location.split("?")[0]).get_data(as_text=True)


def test_the_receipt_mail_is_in_the_authors_preferred_language_without_a_cookie(db, make_user, make_consultation):
    c = make_consultation()
    author = make_user(Role.CITIZEN)
    author.locale = "en"
    db.session.commit()
    (comment,) = operations.submit_comments(
        [operations.CommentSubmission(author_id=author.id, consultation_id=c.id, body="意见")]
    )
    assert isinstance(comment, Comment)
    (delivery,) = db.session.info[PENDING_KEY]
    assert delivery.message["To"] == author.email
    assert str(delivery.message["Subject"]).startswith("Comment received")


def test_a_language_picked_on_the_page_wins_over_the_preference(db, make_user, make_consultation):
    c = make_consultation()
    author = make_user(Role.CITIZEN)
    author.locale = "en"
    db.session.commit()
    operations.submit_comments(
        [operations.CommentSubmission(author_id=author.id, consultation_id=c.id, body="意见", locale="zh_CN")]
    )
    (delivery,) = db.session.info[PENDING_KEY]
    assert str(delivery.message["Subject"]).startswith("意见已收到")
