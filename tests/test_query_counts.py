"""Lists cost a fixed number of SQL statements, whatever the page size (no N+1 queries).

Each request is measured with an empty session, as in production (one session per request),
so that nothing the test created can be served from the identity map instead of SQL. The
bounds include the one statement of authentication (the user, and whether the token is
revoked), and a list's total rides on its page query.
"""

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models.ticket import Activity, Message
from tests.helpers import recorded_statements

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROWS = 32


def statements_for(client, url: str, headers: dict, expected_items: int) -> list[str]:
    db.session.remove()
    with recorded_statements() as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["items"]) == expected_items
    return statements


def assert_constant(client, url: str, headers: dict, bound: int) -> None:
    """The same statements for a page of 1 and a page of 100, and exactly `bound` of them."""
    separator = "&" if "?" in url else "?"
    one = statements_for(client, f"{url}{separator}per_page=1", headers, 1)
    many = statements_for(client, f"{url}{separator}per_page=100", headers, ROWS)
    assert len(one) == len(many), "\n\n".join(many)
    assert len(many) == bound, "\n\n".join(many)


@pytest.fixture
def tickets(make_user, make_agent, make_ticket):
    """ROWS tickets, each with a requester and an assigned agent of its own."""
    created = []
    for n in range(ROWS):
        requester = make_user("requester")
        agent = make_agent(team=f"Team {n}")
        created.append(
            make_ticket(requester, assigned_agent_id=agent.id, created_at=T0 + timedelta(minutes=n))
        )
    return created


@pytest.fixture
def busy_ticket(make_user, make_ticket, requester):
    """One ticket with ROWS messages and ROWS activities, each by an author of its own."""
    ticket = make_ticket(requester)
    for n in range(ROWS):
        author = make_user("agent")
        at = T0 + timedelta(minutes=n)
        db.session.add(
            Message(ticket_id=ticket.id, author_id=author.id, body=f"m{n}", created_at=at)
        )
        db.session.add(
            Activity(
                ticket_id=ticket.id,
                actor_id=author.id,
                action="priority_changed",
                field="priority",
                old_value="low",
                new_value="high",
                created_at=at,
            )
        )
    db.session.commit()
    return ticket


def test_ticket_list_costs_three_statements_for_any_page_size(client, auth, admin, tickets):
    # auth + the page's dump keys (with its total) + the tickets not dumped yet, with their
    # requester, agent, agent's user and policy joined
    assert_constant(client, "/api/tickets", auth(admin), bound=3)


def test_a_ticket_list_page_read_again_costs_two_statements(client, auth, admin, tickets):
    headers = auth(admin)
    first = statements_for(client, "/api/tickets?per_page=100", headers, ROWS)
    again = statements_for(client, "/api/tickets?per_page=100", headers, ROWS)
    assert (len(first), len(again)) == (3, 2), "\n\n".join(again)


def test_a_page_past_the_end_counts_on_its_own(client, auth, admin, tickets):
    headers = auth(admin)
    db.session.remove()
    with recorded_statements() as statements:
        response = client.get("/api/tickets?per_page=10&page=5", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["items"], body["total"], body["pages"]) == ([], ROWS, 4)
    assert len(statements) == 3  # auth + empty page + count


def test_ticket_list_for_a_requester_costs_the_same(client, auth, make_user, make_ticket):
    requester = make_user("requester")
    for n in range(ROWS):
        make_ticket(requester, created_at=T0 + timedelta(minutes=n))
    assert_constant(client, "/api/tickets", auth(requester), bound=3)


def test_ticket_search_costs_the_same(client, auth, admin, tickets):
    assert_constant(client, "/api/tickets?q=printer&sort=priority", auth(admin), bound=3)


def test_message_list_costs_three_statements_for_any_page_size(client, auth, admin, busy_ticket):
    # auth + ticket + page (with its total) with authors joined
    assert_constant(client, f"/api/messages/ticket/{busy_ticket.id}", auth(admin), bound=3)


def test_timeline_costs_five_statements_for_any_page_size(client, auth, admin, busy_ticket):
    # auth + ticket + page of keys (with the total) + messages with authors + activities with
    # actors
    url, headers = f"/api/messages/ticket/{busy_ticket.id}/timeline", auth(admin)
    one = statements_for(client, f"{url}?per_page=1", headers, 1)
    many = statements_for(client, f"{url}?per_page=100", headers, 2 * ROWS)
    assert len(one) == len(many) == 5, "\n\n".join(many)
    # A partial last page costs the same too.
    last = statements_for(client, f"{url}?per_page=5&page=13", headers, 4)
    assert len(last) == 5, "\n\n".join(last)


def test_user_list_costs_two_statements_for_any_page_size(client, auth, admin, make_user):
    for _ in range(ROWS - 1):
        make_user("requester")
    # auth + page (with its total)
    assert_constant(client, "/api/users", auth(admin), bound=2)


def test_agent_list_costs_three_statements_for_any_page_size(
    client, auth, admin, make_agent, make_ticket, requester
):
    for n in range(ROWS):
        agent = make_agent(team=f"Team {n}")
        make_ticket(requester, assigned_agent_id=agent.id)
    # auth + page (with its total) with users joined + open-ticket counts grouped
    assert_constant(client, "/api/agents", auth(admin), bound=3)
