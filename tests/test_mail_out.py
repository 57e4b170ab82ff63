"""Notification mails end to end: events of the API become mails to the right people (and
never to the wrong ones), sent to a real SMTP server on 127.0.0.1 (aiosmtpd)."""

import os
import threading
from datetime import UTC, datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Event, Mail, Ticket
from app.tasks import mail as mail_tasks
from app.tasks.sla import scan_sla_clocks
from tests.mail_support import kinds_by_recipient, mails, run_mail_tasks
from tests.workers import consumer, wait_until

PUBLIC_URL = "https://desk.example"  # TestingConfig's


def raise_ticket(client, headers, **fields) -> dict:
    body = {"title": "Printer is on fire", "description": "Third floor.", **fields}
    response = client.post("/api/tickets", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def post(client, headers, ticket_id: int, body: str, internal: bool = False) -> None:
    data = {"ticket_id": ticket_id, "body": body, "is_internal": internal}
    response = client.post("/api/messages", json=data, headers=headers)
    assert response.status_code == 201, response.get_json()


def patch(client, headers, ticket_id: int, **fields) -> None:
    response = client.patch(f"/api/tickets/{ticket_id}", json=fields, headers=headers)
    assert response.status_code == 200, response.get_json()


def sla_event(ticket_id: int, event_type: str, clock: str = "response") -> None:
    """An SLA event as the SLA scan writes it to the outbox (API.md section 8)."""
    ticket = db.session.get(Ticket, ticket_id)
    payload = {"ticket": {"id": ticket.id, "title": ticket.title}, "clock": clock}
    payload["due_at"] = "2026-03-03T09:15:00Z"
    db.session.add(
        Event(
            type=event_type, ticket_id=ticket.id, requester_id=ticket.requester_id, payload=payload
        )
    )
    db.session.commit()


def text_of(received) -> str:
    return received.message.get_body(preferencelist=("plain",)).get_content()


def html_of(received) -> str:
    return received.message.get_body(preferencelist=("html",)).get_content()


def test_each_role_gets_what_concerns_it_and_nothing_else(
    client, auth, smtp, make_user, make_agent, admin
):
    requester = make_user("requester", email="rita@example.com", name="Rita")
    agent = make_agent(email="sam@example.com", name="Sam")
    colleague = make_agent(email="cole@example.com", name="Cole")
    manager = make_user("manager", email="mia@example.com", name="Mia")
    rita, sam, cole, mia = (auth(u) for u in (requester, agent.user, colleague.user, manager))

    ticket = raise_ticket(client, rita)
    patch(client, mia, ticket["id"], assigned_agent_id=agent.id)
    post(client, sam, ticket["id"], "Please unplug it.")
    post(client, sam, ticket["id"], "SECRET: the printer is ours to blame", internal=True)
    post(client, rita, ticket["id"], "Unplugged; display says E-502.")
    post(client, cole, ticket["id"], "A new fuser is on its way.")
    patch(client, mia, ticket["id"], priority="high")  # nobody is told
    patch(client, sam, ticket["id"], status="resolved")
    sla_event(ticket["id"], "ticket.sla_breached", clock="resolution")
    run_mail_tasks()

    assert kinds_by_recipient() == {
        "rita@example.com": ["created", "reply", "reply", "resolved"],
        "sam@example.com": ["assigned", "requester_message", "sla_breached"],
    }
    received = smtp.wait_for(7)
    assert len(received) == 7
    assert not smtp.to("cole@example.com") and not smtp.to("mia@example.com")
    assert not smtp.to(admin.email)
    for mail in smtp.to("rita@example.com"):
        assert "SECRET" not in mail.raw.decode() and "SECRET" not in text_of(mail)
    replies = [text_of(mail) for mail in smtp.to("rita@example.com")[1:3]]
    assert "Please unplug it." in replies[0] and "Sam replied" in replies[0]
    assert "A new fuser is on its way." in replies[1]
    [to_agent] = [m for m in smtp.to("sam@example.com") if "E-502" in text_of(m)]
    assert "Rita wrote on ticket #1" in text_of(to_agent)
    breach = text_of(smtp.to("sam@example.com")[2])
    assert "resolution time of ticket #1 has been breached" in breach
    assert "2026-03-03T09:15:00Z" in breach


def test_a_mail_has_threading_headers_both_parts_and_links_to_public_url(
    client, auth, smtp, requester
):
    ticket = raise_ticket(client, auth(requester), title="VPN drops")
    run_mail_tasks()

    [received] = smtp.wait_for(1)
    message = received.message
    [stored] = mails()
    assert received.recipients == [requester.email]
    assert received.sender == "support@desk.example"
    assert message["Subject"] == f"[#{ticket['id']}] VPN drops"
    assert message["From"] == "ServiceDesk <support@desk.example>"
    assert message["To"] == f"{requester.name} <{requester.email}>"
    assert message["Message-ID"] == stored.message_id
    assert message["Message-ID"].startswith(f"<ticket-{ticket['id']}.")
    assert message["In-Reply-To"] == f"<ticket-{ticket['id']}@desk.example>"
    assert message["References"] == f"<ticket-{ticket['id']}@desk.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    link = f"{PUBLIC_URL}/tickets/{ticket['id']}"
    assert link in text_of(received) and f'href="{link}"' in html_of(received)
    assert "opened ticket #1: VPN drops" in text_of(received)
    assert (stored.status, stored.attempts, stored.kind, stored.sent_at is not None) == (
        "sent",
        1,
        "created",
        True,
    )


def test_every_mail_of_a_ticket_is_in_one_thread_with_unique_ids(
    client, auth, smtp, requester, agent
):
    ticket = raise_ticket(client, auth(requester))
    post(client, auth(agent.user), ticket["id"], "First.")
    post(client, auth(agent.user), ticket["id"], "Second.")
    run_mail_tasks()

    received = smtp.wait_for(3)
    assert len({mail.message["Message-ID"] for mail in received}) == 3
    assert {mail.message["References"] for mail in received} == {"<ticket-1@desk.example>"}
    assert {mail.message["Subject"] for mail in received} == {"[#1] Printer is on fire"}


def test_a_title_or_name_with_line_breaks_adds_no_header(client, auth, smtp, make_user):
    requester = make_user("requester", name="Eve\r\nBcc: victim@example.com")
    title = "Help\r\nBcc: attacker@example.com\nX-Evil: 1"
    ticket = raise_ticket(client, auth(requester), title=title)
    run_mail_tasks()

    [received] = smtp.wait_for(1)
    message = received.message
    assert received.recipients == [requester.email]
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == f"[#{ticket['id']}] Help Bcc: attacker@example.com X-Evil: 1"
    headers = received.raw.decode().replace("\r\n", "\n").split("\n\n")[0]
    assert "\nBcc:" not in headers and "\nX-Evil:" not in headers
    assert message["To"].addresses[0].addr_spec == requester.email


def test_html_part_escapes_what_users_wrote(client, auth, smtp, requester):
    raise_ticket(client, auth(requester), title="<script>alert(1)</script>")
    run_mail_tasks()

    [received] = smtp.wait_for(1)
    assert "<script>" not in html_of(received)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_of(received)
    assert "<script>alert(1)</script>" in text_of(received)  # plain text needs no escaping


def test_the_confirmation_goes_to_the_requester_when_staff_raise_the_ticket(
    client, auth, smtp, requester, agent, manager
):
    raise_ticket(client, auth(manager), requester_id=requester.id, assigned_agent_id=agent.id)
    raise_ticket(client, auth(agent.user), assigned_agent_id=agent.id)  # for themself
    run_mail_tasks()

    assert kinds_by_recipient() == {
        requester.email: ["created"],
        agent.user.email: ["assigned", "created"],  # from the manager; their own confirmation
    }


def test_nobody_gets_mail_about_what_they_did(client, auth, smtp, requester, agent):
    ticket = raise_ticket(client, auth(requester))
    patch(client, auth(agent.user), ticket["id"], assigned_agent_id=agent.id)  # took it
    patch(client, auth(requester), ticket["id"], status="closed")  # withdrew it
    run_mail_tasks()

    assert kinds_by_recipient() == {requester.email: ["created"]}


def test_no_mail_to_inactive_users_or_users_who_turned_mail_off(
    client, auth, smtp, make_user, agent
):
    quiet = make_user("requester", email="quiet@example.com")
    response = client.patch(
        f"/api/users/{quiet.id}", json={"email_notifications": False}, headers=auth(quiet)
    )
    assert response.status_code == 200
    assert response.get_json()["email_notifications"] is False
    leaving = make_user("requester", email="leaving@example.com")
    leaving_ticket = raise_ticket(client, auth(leaving))
    raise_ticket(client, auth(quiet))
    run_mail_tasks()
    leaving.is_active = False
    db.session.commit()
    post(client, auth(agent.user), leaving_ticket["id"], "Anyone there?")
    run_mail_tasks()

    db.session.expire_all()
    # The confirmation went while the user was active; nothing after.
    assert kinds_by_recipient() == {"leaving@example.com": ["created"]}


def test_sla_mails_go_to_every_active_manager_when_unassigned(
    client, auth, smtp, requester, make_user
):
    managers = [make_user("manager", email=f"m{n}@example.com") for n in range(2)]
    make_user("manager", email="gone@example.com", is_active=False)
    ticket = raise_ticket(client, auth(requester))
    sla_event(ticket["id"], "ticket.sla_warning")
    run_mail_tasks()

    found = kinds_by_recipient()
    assert found == {
        requester.email: ["created"],
        managers[0].email: ["sla_warning"],
        managers[1].email: ["sla_warning"],
    }
    [warning] = smtp.to(managers[0].email)
    assert "response time of ticket #1 is at risk" in text_of(warning)


def test_one_mail_per_event_and_recipient_when_tasks_run_twice_or_at_once(
    app, client, auth, smtp, requester
):
    raise_ticket(client, auth(requester))
    errors = []

    def fan_out():
        with app.app_context():
            try:
                mail_tasks.fan_out_mails.call_local()
            except Exception as error:  # pragma: no cover (reported below)
                errors.append(error)

    threads = [threading.Thread(target=fan_out) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run_mail_tasks()
    [mail] = mails()
    mail_tasks.send_mail.call_local(mail.id)  # a second attempt of a sent mail: nothing
    db.session.execute(Mail.__table__.update().values(next_attempt_at=None))

    assert errors == []
    assert len(smtp.wait_for(2, timeout=1)) == 1
    assert db.session.scalar(select(Mail.attempts)) == 1


def test_a_failing_smtp_server_is_retried_until_it_recovers(app, client, auth, smtp, requester):
    smtp.refusing = True
    with consumer(app):
        raise_ticket(client, auth(requester))
        assert wait_until(lambda: smtp.refused >= 1)
        assert wait_until(lambda: (mails() or [None])[0] and mails()[0].last_error)
        [mail] = mails()
        assert mail.status == "pending" and "451" in mail.last_error
        smtp.refusing = False
        assert wait_until(lambda: mails()[0].status == "sent", timeout=15)
    [mail] = mails()
    assert mail.attempts == 2 and mail.last_error is None
    assert len(smtp.wait_for(1)) == 1


def test_a_server_that_is_down_is_retried_then_the_mail_fails(
    app, client, auth, smtp, requester, caplog
):
    smtp.stop()  # connection refused from now on
    with consumer(app):
        raise_ticket(client, auth(requester))
        assert wait_until(lambda: mails() and mails()[0].status == "failed", timeout=15)
    [mail] = mails()
    assert mail.attempts == 3  # MAIL_RETRY_SCHEDULE "1,1" in the tests: two retries
    assert "ConnectionRefusedError" in mail.last_error
    assert f"Mail {mail.id}" in caplog.text
    smtp.start()
    assert smtp.received == []


def test_without_mail_server_mails_are_written_as_eml_files(app, client, auth, requester):
    assert app.config["MAIL_SERVER"] is None
    ticket = raise_ticket(client, auth(requester))
    run_mail_tasks()

    [mail] = mails()
    path = os.path.join(app.instance_path, "mail", f"{mail.id:08d}.eml")
    try:
        with open(path, "rb") as file:
            content = file.read()
    finally:
        os.remove(path)
    assert mail.status == "sent"
    assert f"Subject: [#{ticket['id']}] Printer is on fire".encode() in content
    assert b"Auto-Submitted: auto-generated" in content


def test_events_before_the_position_are_not_mailed(client, auth, smtp, requester):
    """What the migration's starting position is for: old events never become mails."""
    raise_ticket(client, auth(requester))
    from app.models.background import MAIL
    from app.services import outbox_positions

    outbox_positions.lock(MAIL)
    outbox_positions.advance(MAIL, db.session.scalar(select(Event.id).order_by(Event.id.desc())))
    db.session.commit()
    run_mail_tasks()

    assert mails() == []
    assert datetime.now(UTC)  # the clock is real here


def test_metrics_count_mails_by_status(client, auth, smtp, requester):
    raise_ticket(client, auth(requester))
    run_mail_tasks()

    text = client.get("/metrics").get_data(as_text=True)

    assert 'servicedesk_mails{status="sent"} 1.0' in text
    assert 'servicedesk_mails{status="pending"} 0.0' in text


def test_the_sla_scan_mails_the_assigned_agent_each_alert_once(
    client, auth, smtp, requester, make_agent, manager, freeze_time
):
    agent = make_agent(email="ona@example.com", name="Ona")
    freeze_time("2026-03-02T09:00:00Z")
    ticket = raise_ticket(client, auth(requester), priority="critical")  # 15 min, 24/7
    patch(client, auth(manager), ticket["id"], assigned_agent_id=agent.id)
    for moment in ("2026-03-02T09:12:00Z", "2026-03-02T09:16:00Z", "2026-03-02T09:17:00Z"):
        freeze_time(moment)
        scan_sla_clocks.call_local()
    run_mail_tasks()
    assert kinds_by_recipient()["ona@example.com"] == ["assigned", "sla_warning", "sla_breached"]
    warning = text_of(smtp.wait_for(4)[2])
    assert "response time of ticket #1 is at risk" in warning
    assert "2026-03-02T09:15:00Z" in warning
