"""Sample tickets, made through the ticket services so they carry SLA state and history."""

from app.models.user import Agent, User
from app.services import messages, tickets


def create_sample_tickets(users: dict[str, User], agents: dict[int, Agent]) -> None:
    requester = users["requester@example.com"]
    agent_user = users["agent@example.com"]
    network_agent = agents[users["bob.agent@example.com"].id]
    software_agent = agents[agent_user.id]

    vpn = tickets.create_ticket(
        requester,
        {
            "title": "VPN drops every few minutes",
            "description": "Since this morning the VPN disconnects every 5 minutes from home.",
            "priority": "high",
            "category": "network",
        },
    )
    tickets.update_ticket(
        agent_user, vpn, {"assigned_agent_id": network_agent.id, "status": "in_progress"}
    )
    messages.post_message(
        agent_user,
        {
            "ticket_id": vpn.id,
            "body": "Looking into it; which client version?",
            "is_internal": False,
        },
    )
    messages.post_message(
        requester, {"ticket_id": vpn.id, "body": "Version 5.2 on Windows 11.", "is_internal": False}
    )

    laptop = tickets.create_ticket(
        requester,
        {
            "title": "Laptop battery swollen",
            "description": "The trackpad is lifting; the battery looks swollen.",
            "priority": "critical",
            "category": "hardware",
        },
    )
    messages.post_message(
        agent_user,
        {
            "ticket_id": laptop.id,
            "body": "Please stop using it; a loaner is on its way.",
            "is_internal": False,
        },
    )
    messages.post_message(
        agent_user,
        {"ticket_id": laptop.id, "body": "Order loaner from stock room B.", "is_internal": True},
    )
    tickets.update_ticket(agent_user, laptop, {"status": "in_progress"})
    tickets.update_ticket(agent_user, laptop, {"status": "pending"})

    access = tickets.create_ticket(
        requester,
        {
            "title": "Access to the finance share",
            "description": "I need read access to \\\\files\\finance for the audit.",
            "priority": "medium",
            "category": "access",
        },
    )
    tickets.update_ticket(agent_user, access, {"assigned_agent_id": software_agent.id})
    messages.post_message(
        agent_user, {"ticket_id": access.id, "body": "Access granted.", "is_internal": False}
    )
    tickets.update_ticket(agent_user, access, {"status": "resolved"})
