"""A ticket's life as a Python integrator writes it, typed only by the client that
openapi-python-client generates from /api/openapi.json (the package `servicedesk_client`).

tests/test_generated_clients.py runs these functions against a live gunicorn and checks this
module with `mypy --strict`: a spec that loses a required field, a nullable reference, a typed
enum or an error body breaks the build here. Every call returns the generated model it
documents, or raises Unexpected with what came instead.
"""

from typing import TypeVar

from servicedesk_client import AuthenticatedClient, Client
from servicedesk_client.api.analytics import get_api_tickets_analytics_sla_adherence
from servicedesk_client.api.auth import post_api_auth_login
from servicedesk_client.api.messages import post_api_messages
from servicedesk_client.api.tickets import (
    get_api_tickets,
    get_api_tickets_ticket_id,
    patch_api_tickets_ticket_id,
    post_api_tickets,
)
from servicedesk_client.models import (
    GetApiTicketsAnalyticsSlaAdherenceGroupBy,
    GetApiTicketsPriorityItem,
    GetApiTicketsSort,
    GetApiTicketsStatusItem,
    Login,
    Message,
    MessageCreate,
    Problem,
    ProblemErrors,
    SlaAdherence,
    Ticket,
    TicketCreate,
    TicketCreatePriority,
    TicketPage,
    TicketUpdate,
    TicketUpdateStatus,
    Token,
)
from servicedesk_client.types import Response

Expected = TypeVar("Expected")


class Unexpected(AssertionError):
    """The server answered something other than what the call expects."""


def expect(result: object, kind: type[Expected]) -> Expected:
    if not isinstance(result, kind):
        raise Unexpected(f"expected {kind.__name__}, got {result!r}")
    return result


def answered(result: Ticket | Problem | None) -> Ticket | Problem:
    """A documented status always has a body (a problem for errors); None means it had none."""
    if result is None:
        raise Unexpected("a documented response came without a typed body")
    return result


def log_in(base_url: str, email: str, password: str) -> tuple[AuthenticatedClient, Token]:
    """A client that sends the access token (close it, or use it in a `with`), and the login's
    answer (whose user is typed)."""
    with Client(base_url=base_url, raise_on_unexpected_status=True) as anonymous:
        body = Login(email=email, password=password)
        answer = post_api_auth_login.sync(client=anonymous, body=body)
    tokens = expect(answer, Token)
    client = AuthenticatedClient(
        base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True
    )
    return client, tokens


def greeting(tokens: Token) -> str:
    return f"Hello {tokens.user.name} ({tokens.user.role})"


def open_ticket(client: AuthenticatedClient, title: str, description: str) -> Ticket | Problem:
    """A high-priority ticket, or the problem (422 for a title out of bounds)."""
    body = TicketCreate(title=title, description=description, priority=TicketCreatePriority.HIGH)
    answer = post_api_tickets.sync(client=client, body=body)
    if isinstance(answer, Problem):
        return answer
    return expect(answer, Ticket)


def open_high_tickets(client: AuthenticatedClient) -> TicketPage:
    """The list with filters: open or in progress, high priority, newest first."""
    answer = get_api_tickets.sync(
        client=client,
        status=[GetApiTicketsStatusItem.OPEN, GetApiTicketsStatusItem.IN_PROGRESS],
        priority=[GetApiTicketsPriorityItem.HIGH],
        sort=GetApiTicketsSort.CREATED_AT_DESC,
        per_page=50,
    )
    return expect(answer, TicketPage)


def assignee_name(ticket: Ticket) -> str:
    if ticket.assigned_agent is None:
        return "unassigned"
    return ticket.assigned_agent.name


def read_ticket(client: AuthenticatedClient, ticket_id: int) -> tuple[Ticket | Problem, str]:
    """The ticket (or the problem, 404 when unknown or not visible) and its ETag."""
    response: Response[Problem | Ticket] = get_api_tickets_ticket_id.sync_detailed(
        ticket_id, client=client
    )
    return answered(response.parsed), response.headers.get("ETag", "")


def change(
    client: AuthenticatedClient, ticket_id: int, body: TicketUpdate, etag: str
) -> tuple[Ticket | Problem, str]:
    """A PATCH sent with If-Match: the changed ticket and its new ETag, or the problem (409 for
    a transition the workflow refuses, 412 when the ticket changed since `etag` was read)."""
    response = patch_api_tickets_ticket_id.sync_detailed(
        ticket_id, client=client, body=body, if_match=etag
    )
    return answered(response.parsed), response.headers.get("ETag", "")


def assign(client: AuthenticatedClient, ticket: Ticket, agent_id: int, etag: str) -> Ticket:
    updated, _ = change(client, ticket.id, TicketUpdate(assigned_agent_id=agent_id), etag)
    return expect(updated, Ticket)


def move(
    client: AuthenticatedClient, ticket_id: int, status: TicketUpdateStatus, etag: str
) -> tuple[Ticket | Problem, str]:
    return change(client, ticket_id, TicketUpdate(status=status), etag)


def reply(client: AuthenticatedClient, ticket: Ticket, text: str) -> Message:
    answer = post_api_messages.sync(
        client=client, body=MessageCreate(ticket_id=ticket.id, body=text)
    )
    return expect(answer, Message)


def problem_summary(problem: Problem) -> str:
    """What a client shows for a problem: its status, detail and the fields at fault."""
    errors = problem.errors
    fields = sorted(errors.additional_properties) if isinstance(errors, ProblemErrors) else []
    return f"{problem.status} {problem.title}: {problem.detail} {fields}"


def adherence_by_agent(client: AuthenticatedClient) -> dict[int | None, int]:
    """Tickets per agent id: the groups' keys are integers for group_by=agent."""
    answer = get_api_tickets_analytics_sla_adherence.sync(
        client=client, group_by=GetApiTicketsAnalyticsSlaAdherenceGroupBy.AGENT
    )
    report = expect(answer, SlaAdherence)
    counts: dict[int | None, int] = {}
    for group in report.groups:
        if isinstance(group.key, str):
            raise Unexpected(f"an agent group's key is a string: {group.key!r}")
        counts[group.key] = group.tickets
    return counts
