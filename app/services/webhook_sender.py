"""One webhook attempt over HTTP: to an address the SSRF check returned, no redirects, a
deadline. Plain functions, no Flask."""

from dataclasses import dataclass

import certifi
import urllib3
from urllib3.exceptions import (
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    SSLError,
    TimeoutError,
)

from app.services.webhook_targets import Target

USER_AGENT = "ServiceDesk-Webhooks/1.0"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST `body` to `target`; a 2xx answer is success, anything else a failure with its
    reason. Connects to the checked addresses in turn (the next only when one refuses)."""
    headers = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    outcome = Outcome(False, error="No address to connect to.")
    for address in target.addresses:
        outcome = _post_to(address, target, body, headers, timeout)
        if outcome.error is None or not outcome.error.startswith("Connection failed"):
            break
    return outcome


def _post_to(address: str, target: Target, body: bytes, headers: dict, timeout: float) -> Outcome:
    options = {
        "timeout": urllib3.Timeout(total=timeout),
        "retries": False,
        "maxsize": 1,
    }
    if target.scheme == "https":
        # TLS to the address, with the certificate checked against the host of the URL.
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, **options)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        status = response.status
        response.release_conn()
    except (TimeoutError, MaxRetryError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, NewConnectionError):
            return Outcome(False, error=f"Connection failed: {_short(reason)}")
        if isinstance(reason, TimeoutError) or isinstance(error, TimeoutError):
            return Outcome(False, error=f"Timed out after {timeout:g} s.")
        return Outcome(False, error=_short(reason))
    except NewConnectionError as error:
        return Outcome(False, error=f"Connection failed: {_short(error)}")
    except SSLError as error:
        return Outcome(False, error=f"TLS error: {_short(error)}")
    except ProtocolError as error:
        return Outcome(False, error=f"Connection closed: {_short(error)}")
    except OSError as error:
        return Outcome(False, error=_short(error))
    finally:
        pool.close()
    if 200 <= status < 300:
        return Outcome(True, status)
    if 300 <= status < 400:
        return Outcome(False, status, f"HTTP {status}: redirects are not followed.")
    return Outcome(False, status, f"HTTP {status}.")


def _short(error: BaseException) -> str:
    return str(error)[:300] or type(error).__name__
