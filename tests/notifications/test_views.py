"""Follow buttons, the notification list, the unread count in the header, the send-due command."""

from __future__ import annotations

from sqlalchemy import select

from portal.consultation import operations as consultation_ops
from portal.notifications import operations
from portal.notifications.models import Follow, Notification


def test_follow_and_unfollow_through_the_page(client, db, login, citizen, make_consultation):
    c = make_consultation()
    slug = c.decision.slug
    login(citizen)
    page = client.get(f"/decisions/{slug}/consultation").get_data(as_text=True)
    assert "关注此事项" in page
    response = client.post(f"/decisions/{slug}/follow", data={"next": f"/decisions/{slug}/consultation"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/decisions/{slug}/consultation")
    assert db.session.get(Follow, (citizen.id, c.decision.id)) is not None
    assert "取消关注" in client.get(f"/decisions/{slug}/consultation").get_data(as_text=True)
    client.post(f"/decisions/{slug}/unfollow", data={"next": "https://evil.example/"})
    assert db.session.get(Follow, (citizen.id, c.decision.id)) is None


def test_follow_needs_login_and_a_real_decision(client, login, citizen):
    response = client.post("/decisions/whatever/follow")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    login(citizen)
    assert client.post("/decisions/no-such-decision/follow").status_code == 404


def test_notification_list_unread_count_and_mark_read(
    client, db, login, citizen, official, make_consultation, make_comment
):
    c = make_consultation()
    comment = make_comment(c, author=citizen, publish_by=official)
    consultation_ops.respond(official, comment, disposition="adopted", reason="采纳,已修改第二条。")
    db.session.commit()
    login(citizen)
    home = client.get("/").get_data(as_text=True)
    assert "通知(1)" in home
    page = client.get("/notifications").get_data(as_text=True)
    assert comment.tracking_number in page
    assert "未读" in page
    note = db.session.scalar(select(Notification).where(Notification.user_id == citizen.id))
    opened = client.post(f"/notifications/{note.id}/open")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/comments/{comment.tracking_number}/receipt")
    receipt = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert "采纳,已修改第二条" in receipt
    assert "通知(1)" not in client.get("/").get_data(as_text=True)
    assert client.post("/notifications/read").status_code == 302


def test_someone_elses_notification_is_404(
    client, db, login, citizen, official, make_user, make_consultation, make_comment
):
    c = make_consultation()
    comment = make_comment(c, author=citizen, publish_by=official)
    consultation_ops.respond(official, comment, disposition="adopted", reason="采纳。")
    db.session.commit()
    note = db.session.scalar(select(Notification))
    login(make_user())
    assert client.post(f"/notifications/{note.id}/open").status_code == 404
    assert client.post("/notifications/999999/open").status_code == 404
    db.session.refresh(note)
    assert note.read_at is None


def test_notifications_page_needs_login(client):
    response = client.get("/notifications")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_send_due_command(runner, db, make_consultation, citizen):
    c = make_consultation(started_days_ago=28)
    operations.follow(citizen, c.decision)
    db.session.commit()
    result = runner.invoke(args=["notifications", "send-due"])
    assert result.exit_code == 0, result.output
    assert "1 consultation(s)" in result.output
    again = runner.invoke(args=["notifications", "send-due"])
    assert "0 consultation(s)" in again.output
    kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == citizen.id)).all()
    assert kinds == ["consultation_closing"]
