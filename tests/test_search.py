"""`q` on GET /api/tickets: whole-word search over title and description, alike on both databases.

Expected results are spelled out as explicit sets of tickets, so that the same test run on
SQLite (FTS5) and on PostgreSQL (tsvector) proves both find exactly the same tickets.
"""

from urllib.parse import urlencode

import pytest

from tests.helpers import assert_problem

CORPUS = {
    "vpn": ("VPN drops every hour", "Connecting to vpn.example.com fails after 60 minutes."),
    "vpns": ("VPNs for contractors", "Two new VPNs are needed for the audit team."),
    "printer": ("Printer jam", "The HR printer jams on A4 paper; error code E-42."),
    "email": ("E-mail not syncing", "Outlook shows 'Disconnected' since Monday (MAILBOX full?)."),
    "laptop": ("New laptop request", "Please order a laptop with 32GB RAM for user_name jdoe."),
    "cafe": ("Café Wi-Fi", "The guest network in the CAFÉ is down; naïve users complain."),
}


@pytest.fixture
def corpus(make_ticket, make_user, requester):
    """Tickets of CORPUS by name; `vpns` and `cafe` belong to another requester."""
    other = make_user("requester")
    tickets = {}
    for name, (title, description) in CORPUS.items():
        owner = other if name in ("vpns", "cafe") else requester
        tickets[name] = make_ticket(owner, title=title, description=description).id
    return tickets


def found(client, headers, **query) -> set[int]:
    query.setdefault("per_page", 100)
    response = client.get("/api/tickets?" + urlencode(query, doseq=True), headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == len(body["items"])
    return {item["id"] for item in body["items"]}


def ids(corpus: dict, *names: str) -> set[int]:
    return {corpus[name] for name in names}


@pytest.mark.parametrize(
    "q, expected",
    [
        # Whole words only: no prefixes, no stems, no substrings.
        ("vpn", {"vpn"}),
        ("vpns", {"vpns"}),
        ("print", set()),
        ("jam", {"printer"}),
        ("jams", {"printer"}),
        ("hou", set()),
        ("lap", set()),
        # Case does not matter.
        ("PRINTER", {"printer"}),
        ("pRiNtEr JaM", {"printer"}),
        # Title and description both count.
        ("outlook", {"email"}),
        ("contractors", {"vpns"}),
        # Punctuation separates words, in the text and in the query.
        ("example", {"vpn"}),
        ("com", {"vpn"}),
        ("vpn.example.com", {"vpn"}),
        ("example.vpn", {"vpn"}),
        ("mail", {"email"}),
        ("e-mail", {"email"}),
        ("e", {"email", "printer"}),
        ("disconnected", {"email"}),
        ("'disconnected'", {"email"}),
        ("mailbox", {"email"}),
        ("42", {"printer"}),
        ("e-42", {"printer"}),
        ("user", {"laptop"}),
        ("user_name", {"laptop"}),
        ("jdoe", {"laptop"}),
        # Letters and digits together make one word.
        ("32gb", {"laptop"}),
        ("32", set()),
        ("gb", set()),
        ("a4", {"printer"}),
        ("60", {"vpn"}),
        # Every word must match, anywhere in title or description.
        ("printer paper", {"printer"}),
        ("printer laptop", set()),
        ("vpn minutes", {"vpn"}),
        ("new", {"vpns", "laptop"}),
        ("new laptop", {"laptop"}),
        ("new team", {"vpns"}),
        ("the", {"vpns", "printer", "cafe"}),
        # Words that mean something to a query language are plain words here.
        ("or", set()),
        ("not", {"email"}),
        ("and", set()),
        ("full?", {"email"}),
        ('"not syncing"', {"email"}),
        ("syncing & not", {"email"}),
        ("vpn | printer", set()),
        ("printer*", {"printer"}),
        ("print*", set()),
        ("-printer", {"printer"}),
        ("!vpn", {"vpn"}),
        ("vpn:*", {"vpn"}),
        # Letters beyond ASCII are letters, matched without regard to case.
        ("café", {"cafe"}),
        ("CAFÉ", {"cafe"}),
        ("naïve", {"cafe"}),
        ("cafe", set()),
        ("wi", {"cafe"}),
        ("fi", {"cafe"}),
        # A query with no word at all matches nothing.
        ("...", set()),
        ("-", set()),
    ],
)
def test_q_matches_whole_words_case_insensitively(client, auth, agent, corpus, q, expected):
    assert found(client, auth(agent.user), q=q) == ids(corpus, *expected)


def test_q_over_200_characters_gets_422(client, auth, agent):
    response = client.get("/api/tickets?q=" + "a" * 201, headers=auth(agent.user))
    assert "q" in assert_problem(response, 422)["errors"]


def test_empty_q_gets_422(client, auth, agent):
    assert (
        "q"
        in assert_problem(client.get("/api/tickets?q=", headers=auth(agent.user)), 422)["errors"]
    )


def test_requester_search_finds_only_their_own_tickets(client, auth, requester, corpus):
    assert found(client, auth(requester), q="the") == ids(corpus, "printer")
    assert found(client, auth(requester), q="vpns") == set()
    assert found(client, auth(requester), q="vpn") == ids(corpus, "vpn")


def test_search_combines_with_other_filters(
    client, auth, agent, make_ticket, make_agent, requester, make_user
):
    other_agent = make_agent()
    second_requester = make_user("requester")
    rows = {
        "open_high": dict(status="open", priority="high", category="network"),
        "open_low": dict(status="open", priority="low", category="network"),
        "resolved_high": dict(status="resolved", priority="high", category="hardware"),
        "assigned": dict(status="in_progress", priority="high", assigned_agent_id=agent.id),
        "other_agent": dict(
            status="in_progress", priority="high", assigned_agent_id=other_agent.id
        ),
        "second_requester": dict(status="open", priority="high", requester_id=second_requester.id),
    }
    tickets = {
        name: make_ticket(requester, title="Router outage", description="Down again.", **fields).id
        for name, fields in rows.items()
    }
    unrelated = make_ticket(
        requester, title="Mouse broken", description="Clicks twice.", status="open"
    ).id
    staff = auth(agent.user)

    def expect(*names):
        return {tickets[name] for name in names}

    assert found(client, staff, q="router") == set(tickets.values())
    assert found(client, staff, q="router", status="open") == expect(
        "open_high", "open_low", "second_requester"
    )
    assert found(client, staff, q="outage", status="open", priority="high") == expect(
        "open_high", "second_requester"
    )
    assert found(client, staff, q="router", category="hardware") == expect("resolved_high")
    assert found(client, staff, q="router", assigned_agent_id=agent.id) == expect("assigned")
    assert found(client, staff, q="router", assigned_agent_id="none") == expect(
        "open_high", "open_low", "resolved_high", "second_requester"
    )
    assert found(client, staff, q="router", requester_id=second_requester.id) == expect(
        "second_requester"
    )
    assert found(client, staff, q="router", status="open,resolved", priority="low") == expect(
        "open_low"
    )
    assert found(client, staff, q="mouse", status="open") == {unrelated}
    assert found(client, staff, q="mouse", status="resolved") == set()


def test_search_results_are_paginated_and_sorted(client, auth, agent, make_ticket, requester):
    ids_in_order = [
        make_ticket(requester, title=f"Disk {n} full", description="No space left.").id
        for n in range(5)
    ]
    make_ticket(requester, title="Something else", description="Unrelated.")
    staff = auth(agent.user)
    response = client.get("/api/tickets?q=disk&sort=created_at&per_page=2&page=2", headers=staff)
    body = response.get_json()
    assert (body["total"], body["pages"]) == (5, 3)
    assert [item["id"] for item in body["items"]] == ids_in_order[2:4]


def test_changing_a_title_or_description_updates_search_results(
    client, auth, agent, make_ticket, requester
):
    ticket = make_ticket(requester, title="Keyboard sticky", description="Coffee spilled.")
    staff = auth(agent.user)
    assert found(client, staff, q="keyboard") == {ticket.id}
    response = client.patch(
        f"/api/tickets/{ticket.id}", json={"title": "Monitor flickers"}, headers=staff
    )
    assert response.status_code == 200, response.get_json()
    assert found(client, staff, q="keyboard") == set()
    assert found(client, staff, q="monitor flickers") == {ticket.id}
    assert found(client, staff, q="coffee monitor") == {ticket.id}
    response = client.patch(
        f"/api/tickets/{ticket.id}", json={"description": "Since the update."}, headers=staff
    )
    assert response.status_code == 200, response.get_json()
    assert found(client, staff, q="coffee") == set()
    assert found(client, staff, q="update monitor") == {ticket.id}


def test_changes_to_other_fields_keep_the_ticket_findable(
    client, auth, agent, make_ticket, requester
):
    ticket = make_ticket(requester, title="Keyboard sticky", description="Coffee spilled.")
    staff = auth(agent.user)
    response = client.patch(
        f"/api/tickets/{ticket.id}",
        json={"priority": "high", "status": "in_progress"},
        headers=staff,
    )
    assert response.status_code == 200, response.get_json()
    message = {"ticket_id": ticket.id, "body": "keyboard replaced"}
    assert client.post("/api/messages", json=message, headers=staff).status_code == 201
    assert found(client, staff, q="keyboard coffee") == {ticket.id}
    assert found(client, staff, q="replaced") == set()  # messages are not searched


def test_created_ticket_is_found(client, auth, requester):
    payload = {"title": "Badge reader", "description": "Door 3 rejects my badge."}
    created = client.post("/api/tickets", json=payload, headers=auth(requester)).get_json()
    assert found(client, auth(requester), q="badge door") == {created["id"]}


def test_deleted_ticket_is_no_longer_found(client, auth, admin, make_ticket, requester):
    kept = make_ticket(requester, title="Zebra printer", description="Labels misprint.")
    doomed = make_ticket(requester, title="Zebra scanner", description="Beeps forever.")
    assert found(client, auth(admin), q="zebra") == {kept.id, doomed.id}
    assert client.delete(f"/api/tickets/{doomed.id}", headers=auth(admin)).status_code == 204
    assert found(client, auth(admin), q="zebra") == {kept.id}
    assert found(client, auth(admin), q="scanner") == set()
    # A new ticket may reuse the deleted ticket's id (SQLite does): it must not inherit its words.
    payload = {"title": "Projector", "description": "No signal.", "requester_id": requester.id}
    response = client.post("/api/tickets", json=payload, headers=auth(admin))
    assert response.status_code == 201, response.get_json()
    assert found(client, auth(admin), q="scanner") == set()
    assert found(client, auth(admin), q="projector") == {response.get_json()["id"]}
