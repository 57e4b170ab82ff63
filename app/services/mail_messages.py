"""Outgoing mail as RFC 5322 messages: headers that cannot be injected, threading ids, both parts.

Plain functions, no database. Every header value that comes from users (titles, names) goes
through `one_line` first: `email.policy.default` refuses a header value with a line break
instead of folding it into a new header, so a title with a newline must never reach it as one.
"""

import re
import secrets
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

# Line breaks of every kind (including Unicode's, which some mail software honours) and other
# control characters become one space.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


def one_line(text: str) -> str:
    return _SPACES.sub(" ", _BREAKS.sub(" ", text or "")).strip()


def sender_address(mail_from: str) -> Address:
    """The Address of the MAIL_FROM setting (`Name <addr>` or a bare address)."""
    [(name, address)] = getaddresses([one_line(mail_from)]) or [("", "")]
    local, _, domain = address.partition("@")
    return Address(display_name=one_line(name), username=local, domain=domain or "localhost")


def thread_root(ticket_id: int, domain: str) -> str:
    """The id every mail of a ticket replies to, so that mail clients show one conversation."""
    return f"<ticket-{ticket_id}@{domain}>"


def new_message_id(ticket_id: int, domain: str) -> str:
    return f"<ticket-{ticket_id}.{secrets.token_hex(10)}@{domain}>"


def ticket_of_thread_root(message_id: str, domain: str) -> int | None:
    match = re.fullmatch(rf"<ticket-(\d{{1,10}})@{re.escape(domain)}>", message_id, re.IGNORECASE)
    return int(match.group(1)) if match else None


def subject_for(ticket_id: int, title: str) -> str:
    return f"[#{ticket_id}] {one_line(title)}"


def compose(
    *,
    sender: Address,
    recipient_name: str,
    recipient_email: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    thread_id: str,
    date: datetime,
) -> EmailMessage:
    """A multipart/alternative notification (text first, HTML preferred by clients that can)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(display_name=one_line(recipient_name), addr_spec=recipient_email)
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["In-Reply-To"] = thread_id
    message["References"] = thread_id
    # RFC 3834: automatic mail; well-behaved autoresponders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    # Exchange/Outlook: no out-of-office replies to this.
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
