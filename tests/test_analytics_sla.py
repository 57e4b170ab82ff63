"""SLA adherence: overall and by priority, category, team and agent, at the window's edges."""

import pytest

from app.services.analytics import percent, round_2
from tests.test_analytics import DAY, HOUR, MINUTE, NOW, WINDOW, add_ticket, at


def metrics(tickets, responded, met, breached, pct, resolved, res_met, res_breached, res_pct, ob):
    return {
        "tickets": tickets,
        "responded": responded,
        "response_met": met,
        "response_breached": breached,
        "response_adherence_pct": pct,
        "resolved": resolved,
        "resolution_met": res_met,
        "resolution_breached": res_breached,
        "resolution_adherence_pct": res_pct,
        "open_breached": ob,
    }


# Due (response, resolution) after creation, by priority, as the default SLA targets.
DUE = {
    "critical": (15 * MINUTE, 4 * HOUR),
    "high": (HOUR, 8 * HOUR),
    "medium": (4 * HOUR, DAY),
    "low": (8 * HOUR, 72 * HOUR),
}


@pytest.fixture
def desk(freeze_time, make_agent, make_user, make_ticket):
    """Seven tickets in the window [03-01, 03-10) and two just outside it; now is 03-10 12:00."""
    freeze_time(NOW)
    alice = make_agent(name="Alice", team="Network")
    bob = make_agent(name="Bob", team="Hardware")
    carl = make_agent(name="Carl", team=None)
    requester = make_user("requester")

    def add(created, priority, category, agent, status, responded=None, resolved=None, **extra):
        due = extra.pop("due", DUE[priority])
        agent_id = agent.id if agent else None
        fields = {"priority": priority, "category": category, "status": status, **extra}
        return add_ticket(
            make_ticket,
            requester,
            created,
            due,
            responded,
            resolved,
            assigned_agent_id=agent_id,
            **fields,
        )

    # t1: on the lower edge; response met (30 min), resolution met (4 h).
    add("2026-03-01T00:00:00Z", "high", "network", alice, "resolved", 30 * MINUTE, 4 * HOUR)
    # t2: response late (2 h > 1 h), resolution met (6 h); closing set resolved_at too.
    add("2026-03-02T10:00:00Z", "high", "network", alice, "closed", 2 * HOUR, 6 * HOUR,
        closed_at=at("2026-03-02T16:00:00Z"))  # fmt: skip
    # t3: no response, not resolved, both due times long past: both breached.
    add("2026-03-03T09:00:00Z", "critical", "hardware", bob, "open")
    # t4: pending since 18:00, before its resolution due (03-06 08:00): paused, not breached.
    add("2026-03-05T08:00:00Z", "medium", "software", bob, "pending", HOUR,
        sla_paused_at=at("2026-03-05T18:00:00Z"))  # fmt: skip
    # t5: pending only since after its resolution due (03-07 08:00): resolution breached.
    add("2026-03-06T08:00:00Z", "medium", "software", None, "pending", 3 * HOUR,
        sla_paused_at=at("2026-03-07T14:00:00Z"))  # fmt: skip
    # t6: response late (9 h > 8 h); resolution due 03-11, not yet passed.
    add("2026-03-08T23:59:59Z", "low", "other", carl, "in_progress", 9 * HOUR)
    # t7: resolved at 80 h, after the 72 h target but before the due time moved by 24 h paused.
    add("2026-03-04T00:00:00Z", "low", "access", alice, "resolved", HOUR, 80 * HOUR,
        due=(8 * HOUR, 96 * HOUR), sla_paused_seconds=86400)  # fmt: skip
    # Outside: created exactly at `to` (exclusive), and a second before `from`.
    add("2026-03-10T00:00:00Z", "high", "other", None, "open")
    add("2026-02-28T23:59:59Z", "high", "other", None, "open")
    return {"alice": alice, "bob": bob, "carl": carl, "requester": requester}


def adherence(client, headers, query=""):
    response = client.get(f"/api/tickets/analytics/sla-adherence?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_sla_adherence_overall_and_by_priority(client, auth, manager, desk):
    body = adherence(client, auth(manager), WINDOW)
    assert (body["from"], body["to"], body["group_by"]) == (
        "2026-03-01T00:00:00Z",
        "2026-03-10T00:00:00Z",
        "priority",
    )
    # Responses met: t1 t4 t5 t7; breached: t2 t6 late, t3 none. Resolutions met: t1 t2 t7;
    # breached: t3 (open, past due), t5 (paused after due). Open and breached: t3 t5 t6.
    assert body["overall"] == metrics(7, 6, 4, 3, 57.14, 3, 3, 2, 60.0, 3)
    assert body["groups"] == [
        {"key": "low", **metrics(2, 2, 1, 1, 50.0, 1, 1, 0, 100.0, 1)},  # t6 t7
        {"key": "medium", **metrics(2, 2, 2, 0, 100.0, 0, 0, 1, 0.0, 1)},  # t4 t5
        {"key": "high", **metrics(2, 2, 1, 1, 50.0, 2, 2, 0, 100.0, 0)},  # t1 t2
        {"key": "critical", **metrics(1, 0, 0, 1, 0.0, 0, 0, 1, 0.0, 1)},  # t3
    ]


def test_sla_adherence_by_category(client, auth, agent, desk):
    groups = adherence(client, auth(agent.user), WINDOW + "&group_by=category")["groups"]
    assert [(group["key"], group["tickets"]) for group in groups] == [
        ("hardware", 1),
        ("software", 2),
        ("network", 2),
        ("access", 1),
        ("other", 1),
    ]
    assert groups[1] == {"key": "software", **metrics(2, 2, 2, 0, 100.0, 0, 0, 1, 0.0, 1)}


def test_sla_adherence_by_team_puts_unassigned_and_teamless_under_null(client, auth, admin, desk):
    groups = adherence(client, auth(admin), WINDOW + "&group_by=team")["groups"]
    assert groups == [
        {"key": "Hardware", **metrics(2, 1, 1, 1, 50.0, 0, 0, 1, 0.0, 1)},  # t3 t4
        {"key": "Network", **metrics(3, 3, 2, 1, 66.67, 3, 3, 0, 100.0, 0)},  # t1 t2 t7
        {"key": None, **metrics(2, 2, 1, 1, 50.0, 0, 0, 1, 0.0, 2)},  # t5 unassigned, t6 Carl
    ]


def test_sla_adherence_by_agent(client, auth, manager, desk):
    groups = adherence(client, auth(manager), WINDOW + "&group_by=agent")["groups"]
    assert groups == [
        {"key": desk["alice"].id, **metrics(3, 3, 2, 1, 66.67, 3, 3, 0, 100.0, 0)},
        {"key": desk["bob"].id, **metrics(2, 1, 1, 1, 50.0, 0, 0, 1, 0.0, 1)},
        {"key": desk["carl"].id, **metrics(1, 1, 0, 1, 0.0, 0, 0, 0, None, 1)},
        {"key": None, **metrics(1, 1, 1, 0, 100.0, 0, 0, 1, 0.0, 1)},
    ]


def test_sla_adherence_agrees_with_each_tickets_own_sla_flags(client, auth, manager, desk):
    headers = auth(manager)
    listed = client.get("/api/tickets?per_page=100", headers=headers).get_json()["items"]
    in_window = [t for t in listed if "2026-03-01" <= t["created_at"] < "2026-03-10"]
    overall = adherence(client, headers, WINDOW)["overall"]
    assert overall["response_breached"] == sum(t["response_breached"] for t in in_window)
    assert overall["resolution_breached"] == sum(t["resolution_breached"] for t in in_window)
    open_breached = [
        t
        for t in in_window
        if t["status"] not in ("resolved", "closed") and t["sla_status"] == "breached"
    ]
    assert overall["open_breached"] == len(open_breached)


@pytest.mark.parametrize(
    "query, tickets",
    [
        ("from=2026-03-01T00:00:00Z&to=2026-03-08T23:59:59Z", 6),  # t6 is exactly at `to`
        ("from=2026-03-01T00:00:01Z&to=2026-03-10", 7),  # t1 before `from`; `to` day: +1 at 03-10
        ("from=2026-02-28T23:59:59Z&to=2026-03-09T23:59:59.999999Z", 8),
        ("from=2026-03-09&to=2026-03-09", 0),  # the whole day of 03-09
        ("from=2026-03-05T08:00:00Z&to=2026-03-05T08:00:00Z", 0),  # t4's moment, `to` excludes it
    ],
)
def test_sla_adherence_window_edges(client, auth, manager, desk, query, tickets):
    assert adherence(client, auth(manager), query)["overall"]["tickets"] == tickets


def test_sla_adherence_of_an_empty_window(client, auth, manager, desk):
    body = adherence(client, auth(manager), "from=2025-01-01&to=2025-01-31&group_by=agent")
    assert body["overall"] == metrics(0, 0, 0, 0, None, 0, 0, 0, None, 0)
    assert body["groups"] == []


def test_sla_adherence_defaults_to_the_last_30_days_by_priority(
    client, auth, manager, freeze_time, make_ticket, requester
):
    freeze_time(NOW)
    for created in ("2026-02-08T12:00:00Z", "2026-03-10T11:59:59Z", "2026-02-08T11:59:59Z"):
        add_ticket(make_ticket, requester, created, (HOUR, DAY))
    body = adherence(client, auth(manager))
    assert (body["from"], body["to"], body["group_by"]) == (
        "2026-02-08T12:00:00Z",
        NOW,
        "priority",
    )
    assert body["overall"]["tickets"] == 2


def test_adherence_rounds_half_up_to_two_decimals():
    assert [percent(1, 32), percent(2, 3), percent(1, 3)] == [3.13, 66.67, 33.33]
    assert percent(0, 0) is None
    assert (round_2(3599.9999999), round_2(0.125), round_2(None)) == (3600.0, 0.13, None)
