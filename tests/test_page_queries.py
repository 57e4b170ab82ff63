"""The ticket list reuses the statements it built for equal arguments and scope
(pagination.cached_query): a reused statement must answer exactly what a new one would."""

from datetime import UTC, datetime, timedelta

import pytest

from app.services import pagination

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def ids(client, headers, query: str = "") -> list[int]:
    response = client.get(f"/api/tickets?per_page=100{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


@pytest.fixture
def builds(monkeypatch):
    """How many times the list built its statements."""
    calls = []
    build = pagination.page_query

    def counting(*args, **kwargs):
        calls.append(1)
        return build(*args, **kwargs)

    monkeypatch.setattr(pagination, "page_query", counting)
    return calls


def test_an_equal_request_reuses_the_statements(
    client, auth, admin, make_user, make_ticket, builds
):
    ticket = make_ticket(make_user("requester"))
    assert ids(client, auth(admin), "&status=open") == [ticket.id]
    assert ids(client, auth(admin), "&status=open") == [ticket.id]
    assert len(builds) == 1
    assert ids(client, auth(admin), "&status=closed") == []
    assert len(builds) == 2


def test_each_requester_gets_statements_of_their_own(client, auth, make_user, make_ticket):
    first, second = make_user("requester"), make_user("requester")
    mine = make_ticket(first)
    theirs = make_ticket(second)
    assert ids(client, auth(first)) == [mine.id]
    assert ids(client, auth(second)) == [theirs.id]
    assert ids(client, auth(first)) == [mine.id]


def test_filters_on_sla_values_are_built_at_each_request(
    client, auth, admin, make_user, make_ticket, freeze_time, builds
):
    freeze_time(T0)
    ticket = make_ticket(make_user("requester"), created_at=T0)
    assert ids(client, auth(admin), "&breached=true") == []
    assert ids(client, auth(admin), "&sla_status=breached") == []
    freeze_time(T0 + timedelta(days=30))
    assert ids(client, auth(admin), "&breached=true") == [ticket.id]
    assert ids(client, auth(admin), "&sla_status=breached") == [ticket.id]
    assert len(builds) == 4


def test_a_cursor_page_is_built_at_each_request(
    client, auth, admin, make_user, make_ticket, builds
):
    requester = make_user("requester")
    tickets = [make_ticket(requester) for _ in range(3)]
    first = client.get("/api/tickets?per_page=2", headers=auth(admin)).get_json()
    cursor = first["next_cursor"]
    for _ in range(2):
        second = client.get(f"/api/tickets?per_page=2&cursor={cursor}", headers=auth(admin))
        assert [item["id"] for item in second.get_json()["items"]] == [tickets[0].id]
    assert len(builds) == 3


def test_a_new_offset_cap_is_a_new_statement(
    app, client, auth, admin, make_user, make_ticket, monkeypatch
):
    requester = make_user("requester")
    for _ in range(3):
        make_ticket(requester)
    body = client.get("/api/tickets?per_page=1", headers=auth(admin)).get_json()
    assert body["total"] == 3
    monkeypatch.setitem(app.config, "PAGINATION_MAX_OFFSET_OBJECTS", 2)
    body = client.get("/api/tickets?per_page=1", headers=auth(admin)).get_json()
    assert body["total"] is None
