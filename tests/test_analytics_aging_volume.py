"""Aging of open tickets (buckets, groups, list filters, the oldest) and volume per day or week."""

import pytest

from tests.test_analytics import DAY, HOUR, NOW, add_ticket, at

BUCKETS = ["0-1d", "1-3d", "3-7d", "7-30d", "30d+"]


def get_report(client, headers, name: str, query: str = "") -> dict:
    response = client.get(f"/api/tickets/analytics/{name}?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- aging --------------------------------------------------------------------------------------


@pytest.fixture
def backlog(freeze_time, make_agent, make_user, make_ticket):
    """Seven open tickets of known ages at now = 03-10 12:00, and two that are done."""
    freeze_time(NOW)
    alice = make_agent(name="Alice", team="Network")
    bob = make_agent(name="Bob", team="Hardware")
    carl = make_agent(name="Carl", team=None)
    requester = make_user("requester")
    now = at(NOW)
    rows = {
        # name: (age, priority, category, status, agent)
        "a": (0 * DAY, "high", "hardware", "open", alice),
        "b": (1 * DAY, "medium", "network", "in_progress", bob),  # exactly 1 day: 1-3d
        "c": (DAY - HOUR / 3600, "medium", "network", "pending", None),  # 1 s short: 0-1d
        "d": (3 * DAY, "low", "software", "open", alice),
        "e": (10 * DAY, "critical", "access", "open", None),
        "f": (45 * DAY, "low", "other", "pending", carl),
        "g": (30 * DAY, "high", "software", "in_progress", bob),  # exactly 30 days: 30d+
        "resolved": (50 * DAY, "low", "other", "resolved", alice),
        "closed": (2 * DAY, "high", "other", "closed", None),
    }
    tickets = {}
    for name, (age, priority, category, status, agent) in rows.items():
        tickets[name] = add_ticket(
            make_ticket,
            requester,
            (now - age).isoformat(),
            (HOUR, DAY),
            priority=priority,
            category=category,
            status=status,
            assigned_agent_id=agent.id if agent else None,
        )
    return tickets


def buckets(body) -> list[tuple]:
    return [(bucket["bucket"], bucket["count"], bucket["by"]) for bucket in body["buckets"]]


def test_aging_by_priority(client, auth, manager, backlog):
    body = get_report(client, auth(manager), "aging")
    assert body["as_of"] == NOW
    assert body["total_open"] == 7
    # Ages 0 + 86400 + 86399 + 259200 + 864000 + 3888000 + 2592000 = 7775999 s over 7 tickets.
    assert body["average_age_seconds"] == 1110857.0
    assert buckets(body) == [
        ("0-1d", 2, {"high": 1, "medium": 1}),  # a, c
        ("1-3d", 1, {"medium": 1}),  # b
        ("3-7d", 1, {"low": 1}),  # d
        ("7-30d", 1, {"critical": 1}),  # e
        ("30d+", 2, {"low": 1, "high": 1}),  # f, g
    ]
    oldest = body["oldest"]
    assert [t["id"] for t in oldest] == [backlog[name].id for name in "fgedb"]
    assert [t["age_seconds"] for t in oldest] == [3888000, 2592000, 864000, 259200, 86400]
    assert oldest[0]["sla_status"] == "breached" and oldest[0]["status"] == "pending"


@pytest.mark.parametrize(
    "group_by, expected",
    [
        (
            "category",
            [{"hardware": 1, "network": 1}, {"network": 1}, {"software": 1}, {"access": 1}]
            + [{"other": 1, "software": 1}],
        ),
        (
            "status",
            [{"open": 1, "pending": 1}, {"in_progress": 1}, {"open": 1}, {"open": 1}]
            + [{"pending": 1, "in_progress": 1}],
        ),
        (
            "team",  # c and e are unassigned, f is Carl's, who has no team
            [{"Network": 1, "none": 1}, {"Hardware": 1}, {"Network": 1}, {"none": 1}]
            + [{"none": 1, "Hardware": 1}],
        ),
    ],
)
def test_aging_by_every_group(client, auth, agent, backlog, group_by, expected):
    body = get_report(client, auth(agent.user), "aging", f"group_by={group_by}")
    assert [bucket["by"] for bucket in body["buckets"]] == expected
    assert [bucket["count"] for bucket in body["buckets"]] == [2, 1, 1, 1, 2]


@pytest.mark.parametrize(
    "query, total, counts, oldest",
    [
        ("priority=low,medium", 4, [1, 1, 1, 0, 1], "fdbc"),
        ("assigned_agent_id=none", 2, [1, 0, 0, 1, 0], "ec"),
        ("status=pending&category=network", 1, [1, 0, 0, 0, 0], "c"),
        ("created_from=2026-02-01&created_to=2026-03-07", 3, [0, 0, 1, 1, 1], "ged"),
        ("status=resolved", 0, [0, 0, 0, 0, 0], ""),
    ],
)
def test_aging_takes_the_ticket_list_filters(
    client, auth, manager, backlog, query, total, counts, oldest
):
    body = get_report(client, auth(manager), "aging", query)
    assert body["total_open"] == total
    assert [bucket["count"] for bucket in body["buckets"]] == counts
    assert [t["id"] for t in body["oldest"]] == [backlog[name].id for name in oldest]


def test_aging_with_nothing_open_has_all_five_empty_buckets(client, auth, manager, freeze_time):
    freeze_time(NOW)
    body = get_report(client, auth(manager), "aging")
    assert (body["total_open"], body["average_age_seconds"], body["oldest"]) == (0, None, [])
    assert buckets(body) == [(name, 0, {}) for name in BUCKETS]


# --- volume -------------------------------------------------------------------------------------


@pytest.fixture
def history(freeze_time, make_user, make_ticket):
    """Tickets created and resolved around 03-01 .. 03-08 (2026-03-02 is a Monday)."""
    freeze_time(NOW)
    requester = make_user("requester")
    rows = [
        # (created, resolved or None)
        ("2026-02-20T09:00:00Z", None),  # p1: in every backlog
        ("2026-02-25T09:00:00Z", "2026-03-02T10:00:00Z"),  # p2
        ("2026-02-26T09:00:00Z", "2026-02-28T09:00:00Z"),  # p3: done before 03-01
        ("2026-03-01T00:00:00Z", "2026-03-01T05:00:00Z"),  # p4: on the edge of 03-01
        ("2026-03-01T23:59:59Z", None),  # p5
        ("2026-03-03T12:00:00Z", "2026-03-04T23:59:59Z"),  # p6
        ("2026-03-05T00:00:00Z", None),  # p7: on the edge of 03-05
        ("2026-02-27T09:00:00Z", "2026-03-05T00:00:00Z"),  # p8: resolved on the edge of 03-05
        ("2026-03-08T23:00:00Z", None),  # p9: a Sunday, still in the week of 03-02
    ]
    for created, resolved in rows:
        if resolved is None:
            add_ticket(make_ticket, requester, created, (HOUR, DAY), status="open")
        else:
            # Closing sets resolved_at too; the report reads only resolved_at.
            done = at(resolved) - at(created)
            add_ticket(
                make_ticket,
                requester,
                created,
                (HOUR, DAY),
                HOUR,
                done,
                status="closed",
                closed_at=at(resolved),
            )


def series(body) -> list[tuple]:
    return [(p["period_start"], p["created"], p["resolved"], p["backlog"]) for p in body["series"]]


def test_volume_by_day_includes_empty_days(client, auth, manager, history):
    body = get_report(client, auth(manager), "volume", "from=2026-03-01&to=2026-03-04")
    assert body["interval"] == "day"
    # Open when 03-01 begins: p1, p2, p8. Each day then adds what was created, takes what was
    # resolved: 3 + 2 - 1 = 4 (p1 p2 p8 p5); 4 - 1 = 3 (p2 done); + p6 = 4; - p6 = 3. p8 is
    # resolved at 03-05 00:00, the end of 03-04, so it is still open then.
    assert series(body) == [
        ("2026-03-01T00:00:00Z", 2, 1, 4),
        ("2026-03-02T00:00:00Z", 0, 1, 3),
        ("2026-03-03T00:00:00Z", 1, 0, 4),
        ("2026-03-04T00:00:00Z", 0, 1, 3),
    ]


def test_volume_by_iso_week(client, auth, manager, history):
    query = "from=2026-02-23&to=2026-03-08&interval=week"
    body = get_report(client, auth(manager), "volume", query)
    assert body["interval"] == "week"
    # Open when 02-23 begins: p1. Week of 02-23: created p2 p3 p8 p4 p5, resolved p3 p4:
    # 1 + 5 - 2 = 4. Week of 03-02: created p6 p7 p9, resolved p2 p6 p8: 4 + 3 - 3 = 4.
    assert series(body) == [("2026-02-23T00:00:00Z", 5, 2, 4), ("2026-03-02T00:00:00Z", 3, 3, 4)]


def test_volume_counts_only_inside_the_window_of_a_cut_week(client, auth, manager, history):
    body = get_report(
        client, auth(manager), "volume", "from=2026-03-04&to=2026-03-05&interval=week"
    )
    # [03-04, 03-06) of the week of Monday 03-02. Open at 03-04 00:00: p1 p5 p6 p8; created
    # p7; resolved p6 p8: 4 + 1 - 2 = 3.
    assert series(body) == [("2026-03-02T00:00:00Z", 1, 2, 3)]


def test_volume_timestamps_cut_periods_at_the_edges(client, auth, manager, history):
    query = "from=2026-03-01T00:00:01Z&to=2026-03-05T00:00:00Z"
    body = get_report(client, auth(manager), "volume", query)
    # p4 (created 03-01 00:00:00) now falls before `from`, and is resolved inside: open at
    # `from` are p1 p2 p8 p4 (4); p7 (created exactly at `to`) is left out.
    assert series(body) == [
        ("2026-03-01T00:00:00Z", 1, 1, 4),
        ("2026-03-02T00:00:00Z", 0, 1, 3),
        ("2026-03-03T00:00:00Z", 1, 0, 4),
        ("2026-03-04T00:00:00Z", 0, 1, 3),
    ]


def test_volume_of_an_empty_range_lists_every_day(client, auth, manager, history):
    body = get_report(client, auth(manager), "volume", "from=2025-01-01&to=2025-01-03")
    assert series(body) == [(f"2025-01-0{day}T00:00:00Z", 0, 0, 0) for day in (1, 2, 3)]
    moment = "2026-03-01T10:00:00Z"
    empty = get_report(client, auth(manager), "volume", f"from={moment}&to={moment}")
    assert empty["series"] == []


def test_volume_defaults_to_the_last_30_days_by_day(client, auth, manager, history):
    body = get_report(client, auth(manager), "volume")
    points = body["series"]
    # [02-08 12:00, 03-10 12:00) touches 31 UTC days.
    assert (body["interval"], len(points)) == ("day", 31)
    assert (points[0]["period_start"], points[-1]["period_start"]) == (
        "2026-02-08T00:00:00Z",
        "2026-03-10T00:00:00Z",
    )
    # Everything created after 02-20 except p3 (resolved) is open now; p1 was open already.
    assert (sum(p["created"] for p in points), points[-1]["backlog"]) == (9, 4)
