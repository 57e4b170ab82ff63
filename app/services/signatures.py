"""Webhook signatures: `X-ServiceDesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.

The HMAC is keyed with the webhook's secret and covers "<t>.<raw body>", so a receiver can
check both the body and how old it is. Plain functions, no Flask: receivers may copy them.
"""

import hashlib
import hmac
import time

HEADER = "X-ServiceDesk-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" keyed with `secret`."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for `body` signed now (or at `timestamp`)."""
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},v1={signature(secret, moment, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """True when `header` signs `body` with `secret` within `tolerance_seconds` of `now`."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))
