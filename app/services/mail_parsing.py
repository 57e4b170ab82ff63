"""Inbound mail as the service needs it: sender, subject, threading ids, the new text.

Plain functions, no database. Parsed with the standard library's `email` package (policy
`default`), which decodes headers and parts in any charset and transfer encoding; HTML-only
mail becomes text through html2text.
"""

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import html2text

from app.services.mail_messages import one_line

MESSAGE_ID_MAX = 255
_MESSAGE_IDS = re.compile(r"<[^<>\s]{1,998}>")
_TICKET_TAG = re.compile(r"\[#(\d{1,10})\]")
_REPLY_PREFIXES = re.compile(r"^(\s*(re|fw|fwd|aw|wg|sv|vs|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)
# Lines that start the quoted original in a reply, as mail clients write them.
_ATTRIBUTION = re.compile(
    r"^(on\b.*\bwrote:|am\b.*\bschrieb\b.*:|le\b.*\ba écrit\s*:|el\b.*\bescribió:)$", re.I
)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(original message|ursprüngliche nachricht)\s*-{2,}$", re.I
)
# A horizontal rule in plain text, or as html2text writes <hr>.
_RULE = re.compile(r"_{8,}|-{8,}|\* \* \*")
_OUTLOOK_HEADER = re.compile(r"^(from|von|de):\s", re.I)
_OUTLOOK_NEXT = re.compile(r"^(sent|date|gesendet|envoyé|to|an|subject|betreff):\s", re.I)


class NotAMail(ValueError):
    """The bytes are not an RFC 5322 message with a sender."""


@dataclass
class InboundMail:
    sender: str  # lower-case address
    sender_name: str
    subject: str
    message_id: str | None
    references: list[str] = field(default_factory=list)  # In-Reply-To first, then References
    text: str = ""
    automatic: bool = False

    @property
    def ticket_tag(self) -> int | None:
        """The ticket id of a `[#id]` in the subject."""
        match = _TICKET_TAG.search(self.subject)
        return int(match.group(1)) if match else None

    @property
    def bare_subject(self) -> str:
        """The subject without reply prefixes and ticket tags."""
        return one_line(_TICKET_TAG.sub(" ", _REPLY_PREFIXES.sub("", self.subject)))


def parse(raw: bytes) -> InboundMail:
    if not raw or not raw.strip():
        raise NotAMail("The body is empty.")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    sender, name = _sender(message)
    return InboundMail(
        sender=sender,
        sender_name=name,
        subject=one_line(_header(message, "Subject")),
        message_id=_message_id(_header(message, "Message-ID")),
        references=_references(message),
        text=_text(message),
        automatic=is_automatic(message),
    )


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the policy cannot parse at all: as if absent
        return ""
    return str(value) if value is not None else ""


def _sender(message: EmailMessage) -> tuple[str, str]:
    try:
        addresses = message["From"].addresses if message["From"] is not None else ()
    except Exception:
        addresses = ()
    for address in addresses:
        if address.username and address.domain:
            return address.addr_spec.lower(), one_line(address.display_name)
    raise NotAMail("The body is not an e-mail message with a From address.")


def _message_id(value: str) -> str | None:
    value = one_line(value)
    if not value:
        return None
    if len(value) > MESSAGE_ID_MAX:  # kept comparable, in the column's size
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


def _references(message: EmailMessage) -> list[str]:
    found: list[str] = []
    for name in ("In-Reply-To", "References"):
        for message_id in _MESSAGE_IDS.findall(_header(message, name)):
            if message_id not in found and len(message_id) <= MESSAGE_ID_MAX:
                found.append(message_id)
    return found[:100]


def is_automatic(message: EmailMessage) -> bool:
    """Auto-replies, bounces and list mail (RFC 3834 and what common software sends)."""
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if _header(message, "Precedence").strip().lower() in ("bulk", "junk", "list"):
        return True
    if message.get_content_type() == "multipart/report":  # delivery and read reports
        return True
    return any(message.get(name) for name in ("X-Autoreply", "X-Autorespond"))


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        return _normalise(_content(part))
    part = message.get_body(preferencelist=("html",))
    if part is not None:
        return _normalise(html_to_text(_content(part)))
    return ""


def _content(part: EmailMessage) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError, AssertionError):  # an unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0  # keep paragraphs as lines: quoting and reading both want that
    converter.ignore_images = True
    return converter.handle(html)


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def without_quotes(text: str) -> str:
    """The new text of a reply: lines from the first attribution line (`On ... wrote:`, also
    wrapped over two or three lines, Outlook's header block or `Original Message` line) on are
    dropped, and so is every line starting with `>`."""
    lines = text.split("\n")
    kept = []
    for index, line in enumerate(lines):
        if _starts_quote(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def _starts_quote(lines: list[str], index: int) -> bool:
    line = _plain(lines[index])
    for span in (1, 2, 3):  # Gmail wraps a long attribution line
        joined = " ".join(_plain(part) for part in lines[index : index + span])
        if _ATTRIBUTION.match(joined):
            return True
    if _ORIGINAL_MESSAGE.match(line):
        return True
    following = [_plain(part) for part in lines[index + 1 : index + 5]]
    if _RULE.fullmatch(lines[index].strip()):  # Outlook's rule above its header block
        return any(_OUTLOOK_HEADER.match(part) for part in following)
    if _OUTLOOK_HEADER.match(line):
        return any(_OUTLOOK_NEXT.match(part) for part in following)
    return False


def _plain(line: str) -> str:
    """A line without the emphasis html2text adds (`**From:**`) and outer spaces."""
    return line.replace("**", "").replace("__", "").strip()
