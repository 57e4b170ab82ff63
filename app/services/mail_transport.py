"""Handing a rendered mail to the SMTP server (MAIL_* settings), or, without MAIL_SERVER,
writing it as an .eml file to instance/mail/ (what `make run` shows). No database here."""

import functools
import os
import smtplib
import ssl
import tempfile

from app.services import mail_messages


class MailNotSent(Exception):
    """The server refused the mail or could not be reached: retried later."""


def deliver(content: str, recipient: str, config: dict, mail_dir: str, name: str) -> None:
    """Send `content` (the stored message: ASCII, as email's generator wrote it) as it is:
    parsing it again would cost more than the SMTP conversation itself."""
    if not config["MAIL_SERVER"]:
        _write_eml(content.encode("utf-8"), mail_dir, name)
        return
    sender = mail_messages.sender_address(config["MAIL_FROM"]).addr_spec
    # SMTP lines end in CRLF (smtplib converts only str messages, which must be ASCII).
    data = content.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    try:
        with _connect(config) as smtp:
            smtp.sendmail(sender, [recipient], data)
    except (smtplib.SMTPException, OSError) as error:
        raise MailNotSent(_describe(error)) from error


def _connect(config: dict) -> smtplib.SMTP:
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT_SECONDS"]
    if config["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls(context=_tls_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Certificates verified against the system's CAs; made once (loading them costs more than
    sending a mail)."""
    return ssl.create_default_context()


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
