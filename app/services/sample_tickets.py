"""Sample tickets, created through the ticket services so they carry SLA and history."""


def create_sample_tickets(users: dict, agents: dict) -> None:
    """Filled in with the ticket services."""
