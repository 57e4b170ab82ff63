"""The bulk desk's tickets: what happened to each, as rows of plain tuples."""

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from app.services import sla
from app.services.bulk.words import (
    AGENT_REPLIES,
    CONTEXT,
    DETAILS,
    INTERNAL_NOTES,
    REQUESTER_REPLIES,
    TITLES,
)
from app.services.sla import DONE_STATUSES

CHUNK_TICKETS = 50_000
HISTORY_DAYS = 365
DAY = 86_400


def _table(weights: dict[str, int]) -> tuple[str, ...]:
    """Weights in percent as a table of 100 entries: a uniform pick draws with these weights."""
    entries = tuple(name for name, weight in weights.items() for _ in range(weight))
    assert len(entries) == 100
    return entries


PRIORITY_TABLE = _table({"critical": 10, "high": 25, "medium": 45, "low": 20})
CATEGORY_TABLE = _table({"hardware": 24, "software": 30, "network": 16, "access": 20, "other": 10})
OPEN_STATUS_TABLE = _table({"open": 45, "in_progress": 35, "pending": 20})
# Messages after the first response: 1.3 on average.
EXTRA_MESSAGES = (0, 0, 1, 1, 1, 1, 2, 2, 2, 3)
CATEGORY_TEAMS = {
    "hardware": "Hardware",
    "software": "Software",
    "network": "Network",
    "access": "Access",
    "other": None,
}
# Chances of missing the response and the resolution target, by priority: tight targets miss more.
RESPONSE_MISS = {"critical": 0.25, "high": 0.12, "medium": 0.07, "low": 0.05}
RESOLUTION_MISS = {"critical": 0.20, "high": 0.14, "medium": 0.09, "low": 0.06}


class Stamps:
    """Whole UTC seconds since 1970 as timestamp text; each day's date is formatted once.
    `just_after` gives the instant a microsecond later (`tick_format`: the time with
    `.000001`), where SLA clocks become at risk or breached."""

    def __init__(self, time_format: str, tick_format: str):
        midnight = datetime(2000, 1, 1)
        seconds = [midnight + timedelta(seconds=s) for s in range(DAY)]
        self.times = [moment.strftime(time_format) for moment in seconds]
        self.ticks = [moment.strftime(tick_format) for moment in seconds]
        self.days: dict[int, str] = {}

    def just_after(self, seconds: int) -> str:
        day, second = divmod(seconds, DAY)
        date = self.days.get(day) or self._date(day)
        return date + self.ticks[second]

    def __call__(self, seconds: int | None) -> str | None:
        if seconds is None:
            return None
        day, second = divmod(seconds, DAY)
        date = self.days.get(day) or self._date(day)
        return date + self.times[second]

    def _date(self, day: int) -> str:
        self.days[day] = (datetime(1970, 1, 1) + timedelta(days=day)).strftime("%Y-%m-%d")
        return self.days[day]


class Life(NamedTuple):
    """What happened to one ticket, in whole seconds since 1970."""

    status: str
    first_response: int | None
    resolved: int | None
    closed: int | None
    paused_seconds: int
    paused_at: int | None
    # The status changes after `created`, as (moment, old status, new status).
    changes: list[tuple[int, str, str]]


class Desk:
    """The generator: the same rows for the same random source, `now`, users and first ids."""

    def __init__(self, rng, now, requester_ids, agents, next_ids, stamp, policy, *, true, false):
        if not agents:
            raise RuntimeError("There is no active agent to assign generated tickets to.")
        self.random = rng.random
        self.now = int(now.timestamp())
        self.start = self.now - HISTORY_DAYS * DAY
        self.requester_ids = requester_ids
        everyone = tuple((agent_id, user_id) for agent_id, user_id, _team in agents)
        self.by_category = {
            category: tuple((a, u) for a, u, t in agents if t == team) or everyone
            for category, team in CATEGORY_TEAMS.items()
        }
        self.next_ids = dict(next_ids)
        self.stamp = stamp
        self.true, self.false = true, false
        self.policy_id = policy.id
        self.targets = {
            priority: tuple(minutes * 60 for minutes in sla.targets_for(policy, priority))
            for priority in set(PRIORITY_TABLE)
        }
        self.arrivals = self._arrival_weights()
        self.hour = 0

    def pick(self, options: tuple):
        return options[int(self.random() * len(options))]

    def _arrival_weights(self) -> list[float]:
        """Cumulative arrival weights of the hours of the year: office hours are the busiest."""
        cumulative, total = [], 0.0
        first = datetime.fromtimestamp(self.start, UTC)
        for hour in range(HISTORY_DAYS * 24):
            moment = first + timedelta(hours=hour)
            if moment.weekday() < 5:
                weight = 10.0 if 8 <= moment.hour < 18 else 3.0 if 7 <= moment.hour < 20 else 0.6
            else:
                weight = 1.2 if 8 <= moment.hour < 20 else 0.3
            total += weight
            cumulative.append(total)
        return cumulative

    def chunks(self, count: int) -> Iterator[tuple[list, list, list]]:
        """Rows of tickets, messages and activities, CHUNK_TICKETS tickets at a time."""
        for first in range(0, count, CHUNK_TICKETS):
            yield self._chunk(first, min(count, first + CHUNK_TICKETS), count)

    def _arrival(self, index: int, total: int) -> int:
        """When ticket `index` of `total` arrives: its share of the year, over weighted hours.

        The share grows with the index, so that ids follow time.
        """
        cumulative = self.arrivals
        target = (index + self.random()) / total * cumulative[-1]
        while cumulative[self.hour] < target and self.hour < len(cumulative) - 1:
            self.hour += 1
        below = cumulative[self.hour - 1] if self.hour else 0.0
        fraction = (target - below) / (cumulative[self.hour] - below)
        return min(self.now, self.start + self.hour * 3600 + int(fraction * 3600))

    def _life(self, created: int, priority: str) -> Life:
        """Status, first response, resolution, pauses and status history of one ticket."""
        rnd, now = self.random, self.now
        response_target, resolution_target = self.targets[priority]
        # Old tickets are far more often done than recent ones; about 70% overall.
        age_days = (now - created) / DAY
        done = rnd() >= min(0.95, 0.2 + 0.85 * math.exp(-age_days / 45))
        status = "resolved" if done else self.pick(OPEN_STATUS_TABLE)

        first_response = None
        if status != "open" or rnd() < 0.3:
            if rnd() < RESPONSE_MISS[priority]:
                delay = response_target * (1.05 + 3.0 * rnd())
            else:
                delay = response_target * (0.03 + 0.9 * rnd())
            first_response = created + 30 + int(delay)
            if first_response > now:
                first_response = None
        if first_response is None and status in ("resolved", "pending"):
            status = "in_progress"

        paused = 0
        paused_at = resolved = closed = None
        if status == "resolved":
            if rnd() < 0.18:
                paused = min(5 * DAY, 300 + int(-math.log(1.0 - rnd()) * 6 * 3600))
            if rnd() < RESOLUTION_MISS[priority]:
                work = resolution_target * (1.05 + 2.0 * rnd())
            else:
                work = resolution_target * (0.05 + 0.93 * rnd())
            resolved = max(created + paused + int(work), first_response + paused + 60)
            if resolved > now:
                status, paused, resolved = "in_progress", 0, None
            else:
                close_after = int(DAY * (1 + 6 * rnd()))
                if resolved + close_after <= now and rnd() < 0.88:
                    status, closed = "closed", resolved + close_after

        changes = []
        if resolved is not None:
            if paused:  # pending until the resolution, which ended the pause
                changes.append((first_response, "open", "in_progress"))
                changes.append((resolved - paused, "in_progress", "pending"))
                changes.append((resolved, "pending", "resolved"))
            else:
                changes.append((resolved, "open", "resolved"))
            if closed is not None:
                changes.append((closed, "resolved", "closed"))
        elif status != "open":
            began = first_response or created + int(rnd() * (now - created))
            changes.append((began, "open", "in_progress"))
            if status == "pending":
                paused_at = began + int(rnd() * (now - began))
                changes.append((paused_at, "in_progress", "pending"))
            elif rnd() < 0.12 and now - began > 7200:
                paused = min(3 * DAY, 300 + int(rnd() * (now - began) / 2))
                left_pending = began + paused + int(rnd() * (now - began - paused))
                changes.append((left_pending - paused, "in_progress", "pending"))
                changes.append((left_pending, "pending", "in_progress"))
        return Life(status, first_response, resolved, closed, paused, paused_at, changes)

    def _conversation(self, created, life: Life, requester: int, agent_user: int | None):
        """The messages of one ticket as (author, body, is internal, moment), oldest first.

        The first response is the agent's public reply at `first_response`; later ones come
        before the resolution. Unanswered tickets sometimes get a nudge from the requester.
        """
        rnd, pick, first_response = self.random, self.pick, life.first_response
        if first_response is None:
            if rnd() < 0.4:
                moment = created + int(rnd() * (self.now - created))
                return [(requester, pick(REQUESTER_REPLIES), False, moment)]
            return []
        conversation = [(agent_user, pick(AGENT_REPLIES), False, first_response)]
        extra = pick(EXTRA_MESSAGES)
        if extra:
            end = self.now if life.resolved is None else life.resolved
            span = end - first_response
            moments = sorted(first_response + int(rnd() * span) for _ in range(extra))
            for number, moment in enumerate(moments):
                if number % 2 == 0:
                    message = (requester, pick(REQUESTER_REPLIES), False, moment)
                elif rnd() < 0.35:
                    message = (agent_user, pick(INTERNAL_NOTES), True, moment)
                else:
                    message = (agent_user, pick(AGENT_REPLIES), False, moment)
                conversation.append(message)
        return conversation

    def _alerts(self, life: Life, response: tuple, resolution: tuple) -> tuple:
        """The alerts an open ticket's clocks, each (at risk, due) in seconds, are past by now,
        as if the SLA scan had sent them, and the text of when the next one comes."""
        if life.status in DONE_STATUSES:
            return None, None, None
        response_alert = None
        checks = []
        if life.first_response is None:
            response_alert = _alert_at(self.now, *response)
            checks.append(_next_check(response_alert, *response))
        resolution_alert = _alert_at(life.paused_at or self.now, *resolution)
        if life.paused_at is None:  # a pending ticket's resolution clock stands still
            checks.append(_next_check(resolution_alert, *resolution))
        checks = [check for check in checks if check is not None]
        next_alert = self.stamp.just_after(min(checks)) if checks else None
        return response_alert, resolution_alert, next_alert

    def _chunk(self, first: int, stop: int, count: int) -> tuple[list, list, list]:
        rnd, stamp, true, false = self.random, self.stamp, self.true, self.false
        requesters = self.requester_ids
        ticket_id = self.next_ids["tickets"]
        message_id = self.next_ids["ticket_messages"]
        activity_id = self.next_ids["ticket_activities"]
        tickets, messages, activities = [], [], []
        for index in range(first, stop):
            created = self._arrival(index, count)
            priority = self.pick(PRIORITY_TABLE)
            category = self.pick(CATEGORY_TABLE)
            # A few requesters file many tickets: the product of two uniforms favours the first.
            requester = requesters[int(rnd() * rnd() * len(requesters))]
            title = self.pick(TITLES[category])
            description = f"{title}. {self.pick(DETAILS[category])} {self.pick(CONTEXT)}"
            life = self._life(created, priority)
            agent_id = agent_user = None
            # Tickets are routed to an agent of the category's team at intake (recorded by the
            # `created` activity); some open ones still wait for triage.
            if life.status != "open" or life.first_response is not None or rnd() < 0.25:
                agent_id, agent_user = self.pick(self.by_category[category])

            updated = created
            public = 0
            conversation = self._conversation(created, life, requester, agent_user)
            for author, body, internal, moment in conversation:
                messages.append(
                    (
                        message_id,
                        ticket_id,
                        author,
                        body,
                        true if internal else false,
                        stamp(moment),
                    )
                )
                message_id += 1
                public += not internal
                updated = max(updated, moment)
            created_text = stamp(created)
            activities.append(
                (activity_id, ticket_id, requester, "created", None, None, None, created_text)
            )
            activity_id += 1
            for moment, old, new in life.changes:
                activities.append(
                    (activity_id, ticket_id, agent_user, "status_changed", "status", old, new,
                     stamp(moment))
                )  # fmt: skip
                activity_id += 1
                updated = max(updated, moment)

            response_target, resolution_target = self.targets[priority]
            # Three quarters of a target in whole minutes is whole seconds: at risk from a
            # microsecond after (sla.clock_instants).
            response = (created + response_target * 3 // 4, created + response_target)
            resolution = (
                created + resolution_target * 3 // 4 + life.paused_seconds,
                created + resolution_target + life.paused_seconds,
            )
            alerts = self._alerts(life, response, resolution)
            tickets.append(
                (
                    ticket_id, title, description, life.status, priority, category, requester,
                    agent_id, created_text, stamp(updated), stamp(life.first_response),
                    stamp(life.resolved), stamp(life.closed), stamp(response[1]),
                    stamp(resolution[1]), life.paused_seconds, stamp(life.paused_at),
                    len(conversation), public, self.policy_id, stamp.just_after(response[0]),
                    stamp.just_after(resolution[0]), *alerts,
                )
            )  # fmt: skip
            ticket_id += 1

        self.next_ids = {
            "tickets": ticket_id,
            "ticket_messages": message_id,
            "ticket_activities": activity_id,
        }
        return tickets, messages, activities


def _alert_at(reading: int, at_risk: int, due: int) -> str | None:
    """The alert a clock read at `reading` has come to: at risk from a microsecond after
    `at_risk`, breached from a microsecond after `due`."""
    if reading > due:
        return "breached"
    return "warning" if reading > at_risk else None


def _next_check(alert: str | None, at_risk: int, due: int) -> int | None:
    """The whole second a microsecond after which the clock's next alert comes."""
    return {None: at_risk, "warning": due}.get(alert)
