"""Handing a rendered mail to the SMTP server (MAIL_* settings), or, without MAIL_SERVER,
writing it as an .eml file to instance/mail/ (what `make run` shows). No database here."""

import email
import os
import smtplib
import ssl
import tempfile
from email import policy

from app.services import mail_messages


class MailNotSent(Exception):
    """The server refused the mail or could not be reached: retried later."""


def deliver(content: str, recipient: str, config: dict, mail_dir: str, name: str) -> None:
    message = email.message_from_string(content, policy=policy.default)
    if not config["MAIL_SERVER"]:
        _write_eml(message.as_bytes(), mail_dir, name)
        return
    sender = mail_messages.sender_address(config["MAIL_FROM"]).addr_spec
    try:
        with _connect(config) as smtp:
            smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
    except (smtplib.SMTPException, OSError) as error:
        raise MailNotSent(_describe(error)) from error


def _connect(config: dict) -> smtplib.SMTP:
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT_SECONDS"]
    context = ssl.create_default_context()
    if config["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls(context=context)
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _describe(error: Exception) -> str:
    """What went wrong, for the mail's record and the log (never the credentials)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in error.recipients.values()})
        return f"Recipient refused ({', '.join(map(str, codes))})"
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if error.smtp_error else ""
        return f"{type(error).__name__} {error.smtp_code}: {text}"[:500]
    return f"{type(error).__name__}: {error}"[:500]


def _write_eml(data: bytes, mail_dir: str, name: str) -> None:
    """Whole files only: written aside, then renamed into place."""
    os.makedirs(mail_dir, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=mail_dir, suffix=".tmp")
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(temporary, os.path.join(mail_dir, name))
