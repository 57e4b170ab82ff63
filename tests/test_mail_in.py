"""POST /api/inbound/email: real-world mails from tests/data/mail/ become messages and tickets
through the same services as the API; bad input, auto-replies, duplicates and strangers."""

import os

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Activity, Event, InboundEmail, Mail, Message, Ticket, User
from tests.helpers import assert_problem

DATA = os.path.join(os.path.dirname(__file__), "data", "mail")
TOKEN = "inbound-test-token-0123456789abcdef"


def sample(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as file:
        return file.read()


@pytest.fixture
def inbound(client, mail_config):
    mail_config["INBOUND_EMAIL_TOKEN"] = TOKEN

    def post(raw: bytes, token: str = TOKEN):
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"}
        return client.post("/api/inbound/email", data=raw, headers=headers)

    return post


@pytest.fixture
def rita(make_user):
    return make_user("requester", email="rita@example.com", name="Rita Requester")


@pytest.fixture
def sam(make_agent):
    return make_agent(email="sam@example.com", name="Sam Agent")


@pytest.fixture
def printer_ticket(client, rita, sam, auth, admin):
    """Ticket #1 of Rita, assigned to Sam: the ticket the reply samples answer."""
    body = {"title": "Printer is on fire", "description": "Third floor.", "category": "hardware"}
    response = client.post("/api/tickets", json=body, headers=auth(rita))
    ticket_id = response.get_json()["id"]
    assert ticket_id == 1  # the samples' [#1]
    response = client.patch(
        f"/api/tickets/{ticket_id}", json={"assigned_agent_id": sam.id}, headers=auth(admin)
    )
    assert response.status_code == 200
    return db.session.get(Ticket, ticket_id)


def messages_of(ticket_id: int) -> list[Message]:
    db.session.expire_all()
    statement = select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)
    return list(db.session.scalars(statement))


def test_outlook_reply_becomes_a_message_without_the_quoted_original(inbound, printer_ticket):
    response = inbound(sample("outlook_reply.eml"))

    assert response.status_code == 201, response.get_json()
    [message] = messages_of(1)
    assert response.get_json() == {
        "action": "message_created",
        "ticket_id": 1,
        "message_id": message.id,
    }
    assert message.body == (
        "Thanks, the smoke has stopped but the printer still shows error E-502.\n\n"
        "Best regards\nRita"
    )
    assert message.author.email == "rita@example.com" and message.is_internal is False
    types = db.session.scalars(select(Event.type).where(Event.ticket_id == 1)).all()
    assert "message.created" in types


def test_gmail_reply_from_staff_is_the_first_response(inbound, printer_ticket):
    assert printer_ticket.first_response_at is None

    response = inbound(sample("gmail_reply.eml"))

    assert response.status_code == 201, response.get_json()
    [message] = messages_of(1)
    assert message.body == (
        "I have ordered a new fuser unit; it arrives on Thursday.\n"
        "Until then please use the printer on the second floor."
    )
    assert message.author.email == "sam@example.com"
    db.session.expire_all()
    assert db.session.get(Ticket, 1).first_response_at == message.created_at


def test_apple_mail_reply_threads_by_references_without_a_tag(inbound, printer_ticket):
    response = inbound(sample("apple_mail_reply.eml"))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["action"] == "message_created"
    [message] = messages_of(1)
    assert message.body == "Thursday is fine — thank you!"


def test_a_reply_to_one_of_our_mails_threads_by_in_reply_to(inbound, printer_ticket, rita):
    our = Mail(
        event_id=1,
        ticket_id=1,
        recipient_id=rita.id,
        recipient=rita.email,
        kind="reply",
        subject="[#1] Printer is on fire",
        message_id="<only-in-our-table@desk.example>",
        content="",
    )
    db.session.add(our)
    db.session.commit()
    raw = (
        b"From: rita@example.com\r\nTo: support@desk.example\r\nSubject: Re: that printer\r\n"
        b"Message-ID: <r1@example.com>\r\nIn-Reply-To: <only-in-our-table@desk.example>\r\n\r\n"
        b"It works now.\r\n"
    )

    response = inbound(raw)

    assert response.get_json()["action"] == "message_created"
    assert [m.body for m in messages_of(1)] == ["It works now."]


def test_a_reply_on_a_resolved_ticket_reopens_it(inbound, printer_ticket, client, auth, sam):
    response = client.patch("/api/tickets/1", json={"status": "resolved"}, headers=auth(sam.user))
    assert response.status_code == 200

    assert inbound(sample("outlook_reply.eml")).status_code == 201

    db.session.expire_all()
    assert db.session.get(Ticket, 1).status == "open"
    actions = db.session.scalars(select(Activity.action).where(Activity.ticket_id == 1)).all()
    assert actions[-1] == "reopened"


def test_a_reply_to_a_closed_ticket_opens_a_new_one_naming_it(
    inbound, printer_ticket, client, auth, rita
):
    response = client.patch("/api/tickets/1", json={"status": "closed"}, headers=auth(rita))
    assert response.status_code == 200

    response = inbound(sample("outlook_reply.eml"))

    assert response.status_code == 201
    assert response.get_json() == {"action": "ticket_created", "ticket_id": 2}
    ticket = db.session.get(Ticket, 2)
    assert ticket.title == "Printer is on fire"
    assert ticket.description == (
        "Follow-up to closed ticket #1.\n\n"
        "Thanks, the smoke has stopped but the printer still shows error E-502.\n\n"
        "Best regards\nRita"
    )
    assert ticket.requester_id == rita.id and messages_of(1) == []


def test_a_tag_of_somebody_elses_ticket_makes_a_new_ticket(inbound, printer_ticket, make_user):
    make_user("requester", email="mallory@example.com", name="Mallory")
    raw = sample("outlook_reply.eml").replace(b"rita@example.com", b"mallory@example.com")

    response = inbound(raw)

    assert response.get_json() == {"action": "ticket_created", "ticket_id": 2}
    assert messages_of(1) == []
    assert db.session.get(Ticket, 2).title == "RE: [#1] Printer is on fire"


def test_iso_8859_1_quoted_printable_mail_becomes_a_ticket(inbound, make_user):
    juergen = make_user("requester", email="juergen@example.com", name="Jürgen Müller")

    response = inbound(sample("iso_8859_1_quoted_printable.eml"))

    assert response.status_code == 201
    ticket = db.session.get(Ticket, response.get_json()["ticket_id"])
    assert ticket.title == "Drucker im 3. Stock fällt ständig aus"
    assert ticket.description == (
        "Hallo,\n\nder Drucker im 3. Stock fällt seit gestern ständig aus; "
        "die Anzeige zeigt »Papierstau«.\n\nGrüße\nJürgen"
    )
    assert ticket.requester_id == juergen.id and ticket.status == "open"
    actions = db.session.scalars(select(Activity.action).where(Activity.ticket_id == ticket.id))
    assert list(actions) == ["created"]


def test_base64_utf8_mail_becomes_a_ticket(inbound, make_user):
    make_user("requester", email="zoe@example.com", name="Zoë Dupont")

    response = inbound(sample("base64_utf8.eml"))

    ticket = db.session.get(Ticket, response.get_json()["ticket_id"])
    assert ticket.title == "VPN en panne à 東京"
    assert ticket.description == (
        "Bonjour,\n\nle VPN ne fonctionne plus depuis l'aéroport de 東京 (Tokyo).\n"
        "Merci d'avance — Zoë"
    )


def test_html_only_mail_becomes_text(inbound, rita):
    response = inbound(sample("html_only.eml"))

    ticket = db.session.get(Ticket, response.get_json()["ticket_id"])
    assert ticket.title == "Laptop screen flickers"
    assert ticket.description == (
        "My **laptop** screen flickers when I connect the dock.\n\n"
        "  * Since Monday\n  * Model: ThinkPad T14\n\n\n\nRita"
    )
    assert "<" not in ticket.description and "alert" not in ticket.description


@pytest.mark.parametrize("name", ["auto_reply.eml", "bounce.eml"])
def test_auto_replies_and_bounces_are_ignored(inbound, printer_ticket, name):
    response = inbound(sample(name))

    assert response.status_code == 200
    assert response.get_json() == {"action": "ignored", "reason": "auto_reply"}
    assert messages_of(1) == [] and db.session.query(Ticket).count() == 1


@pytest.mark.parametrize(
    "header", [b"Precedence: bulk", b"Precedence: list", b"Auto-Submitted: auto-generated"]
)
def test_bulk_and_generated_mail_is_ignored(inbound, rita, header):
    raw = b"From: rita@example.com\r\nSubject: Newsletter\r\n" + header + b"\r\n\r\nHello\r\n"

    assert inbound(raw).get_json() == {"action": "ignored", "reason": "auto_reply"}
    assert db.session.query(Ticket).count() == 0


def test_auto_submitted_no_is_taken_in(inbound, rita):
    raw = b"From: rita@example.com\r\nSubject: Mouse\r\nAuto-Submitted: no\r\n\r\nBroken\r\n"

    assert inbound(raw).get_json()["action"] == "ticket_created"


def test_the_same_message_id_is_taken_in_once(inbound, rita):
    first = inbound(sample("html_only.eml"))
    second = inbound(sample("html_only.eml"))

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.get_json() == {"action": "ignored", "reason": "duplicate"}
    assert db.session.query(Ticket).count() == 1
    record = db.session.scalar(select(InboundEmail))
    assert (record.message_id, record.action, record.ticket_id) == (
        "<html-only-1@example.com>",
        "ticket_created",
        first.get_json()["ticket_id"],
    )


def test_unknown_and_inactive_senders_are_ignored(inbound, make_user):
    make_user("requester", email="zoe@example.com", is_active=False)

    for raw in (sample("base64_utf8.eml"), sample("iso_8859_1_quoted_printable.eml")):
        response = inbound(raw)
        assert response.status_code == 200
        assert response.get_json() == {"action": "ignored", "reason": "unknown_sender"}
    assert db.session.query(Ticket).count() == 0
    assert db.session.query(InboundEmail).count() == 0


def test_unknown_senders_become_requesters_without_a_password_when_configured(
    inbound, mail_config, client
):
    mail_config["INBOUND_EMAIL_CREATE_REQUESTERS"] = True

    response = inbound(sample("iso_8859_1_quoted_printable.eml"))

    assert response.status_code == 201
    user = db.session.scalar(select(User).where(User.email == "juergen@example.com"))
    assert (user.name, user.role, user.is_active) == ("Jürgen Müller", "requester", True)
    ticket = db.session.get(Ticket, response.get_json()["ticket_id"])
    assert ticket.requester_id == user.id
    for password in ("", "not-a-real-password", "anything at all"):
        login = {"email": "juergen@example.com", "password": password}
        assert client.post("/api/auth/login", json=login).status_code in (401, 422)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"hello world\n",
        b'{"title": "not a mail"}',
        b"\x00\xff\xfe binary",
        b"Subject: x\r\n\r\nno sender\r\n",
    ],
)
def test_a_body_that_is_not_a_mail_gets_400(inbound, raw):
    assert_problem(inbound(raw), 400)
    assert db.session.query(Ticket).count() == 0


def test_over_10_mib_gets_413(inbound, rita):
    raw = b"From: rita@example.com\r\nSubject: big\r\n\r\n" + b"x" * (10 * 1024 * 1024)

    assert_problem(inbound(raw), 413)


def test_a_mail_between_1_and_10_mib_is_taken_in(inbound, rita):
    raw = b"From: rita@example.com\r\nSubject: big\r\n\r\n" + (b"y" * 76 + b"\r\n") * 30_000

    response = inbound(raw)

    assert response.status_code == 201
    ticket = db.session.get(Ticket, response.get_json()["ticket_id"])
    assert len(ticket.description) == 20_000 and ticket.description.endswith("…")


def test_a_wrong_token_gets_401(inbound, rita):
    for token in ("wrong", TOKEN + "x", ""):
        assert_problem(inbound(sample("html_only.eml"), token=token), 401)
    assert db.session.query(Ticket).count() == 0


def test_the_endpoint_is_404_without_a_configured_token(client, mail_config, rita):
    mail_config["INBOUND_EMAIL_TOKEN"] = None
    headers = {"Authorization": "Bearer anything", "Content-Type": "message/rfc822"}

    response = client.post("/api/inbound/email", data=sample("html_only.eml"), headers=headers)

    assert_problem(response, 404)
    assert db.session.query(Ticket).count() == 0
