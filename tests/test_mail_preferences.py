"""`email_notifications` on users, and quoting styles the inbound parser removes."""

from app.services import mail_parsing
from tests.helpers import assert_problem


def test_email_notifications_defaults_to_true_and_users_may_turn_it_off(client, auth, requester):
    me = client.get(f"/api/users/{requester.id}", headers=auth(requester)).get_json()
    assert me["email_notifications"] is True

    response = client.patch(
        f"/api/users/{requester.id}", json={"email_notifications": False}, headers=auth(requester)
    )

    assert response.status_code == 200
    assert response.get_json()["email_notifications"] is False
    again = client.get("/api/auth/me", headers=auth(requester)).get_json()
    assert again["email_notifications"] is False


def test_users_may_not_set_it_on_others_but_admins_may(client, auth, requester, agent, admin):
    body = {"email_notifications": False}
    assert_problem(
        client.patch(f"/api/users/{requester.id}", json=body, headers=auth(agent.user)), 403
    )
    response = client.patch(f"/api/users/{requester.id}", json=body, headers=auth(admin))
    assert response.get_json()["email_notifications"] is False
    created = client.post(
        "/api/users",
        json={"email": "new@example.com", "name": "New", "password": "long-enough-1"},
        headers=auth(admin),
    )
    assert created.status_code == 201 and created.get_json()["email_notifications"] is True


def test_email_notifications_must_be_a_boolean(client, auth, requester):
    response = client.patch(
        f"/api/users/{requester.id}", json={"email_notifications": "often"}, headers=auth(requester)
    )
    assert_problem(response, 422)


def test_quoting_styles_are_removed():
    gmail = (
        "Fine.\n\nOn Tue, Mar 3, 2026 at 9:31 AM Someone With A Long Name <\n"
        "support@desk.example> wrote:\n> old"
    )
    german = "Danke!\n\nAm 03.03.2026 um 09:14 schrieb ServiceDesk <a@b.example>:\n> alt"
    outlook = "Yes.\n\n-----Original Message-----\nFrom: ServiceDesk\nSent: Tuesday\n\nold"
    outlook_html = "Ok.\n\n* * *\n\n**From:** ServiceDesk <a@b.example>\n**Sent:** Tuesday\nold"
    sentence = "From: the start of a sentence is kept.\nNo header block follows."
    cases = {
        gmail: "Fine.",
        german: "Danke!",
        outlook: "Yes.",
        outlook_html: "Ok.",
        "First\n> quoted\nSecond": "First\nSecond",
        sentence: sentence,
    }
    for text, expected in cases.items():
        assert mail_parsing.without_quotes(text) == expected, text


def test_html_is_turned_into_text_without_markup():
    text = mail_parsing.html_to_text("<p>A &amp; B</p><script>x()</script><img src='t.png'>")
    assert text.strip() == "A & B"
