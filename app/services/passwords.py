"""Password hashing with Argon2id."""

import sys

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# Verifying against this when the e-mail is unknown makes both failures take the same time.
_DUMMY_HASH = PasswordHasher().hash("not-a-real-password")


def _hasher() -> PasswordHasher:
    return PasswordHasher(**current_app.config["PASSWORD_HASH_PARAMS"])


def _off_the_event_loop(function, *args):
    """Run `function` where it cannot stall a gevent worker.

    Argon2 keeps a core busy for about a tenth of a second by design. In a gevent worker that
    would freeze every other request and event stream of the process meanwhile; the hub's
    thread pool runs it on a real thread instead (argon2 releases the GIL while it hashes).
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        from gevent import get_hub

        return get_hub().threadpool.apply(function, args)
    return function(*args)


def hash_password(password: str) -> str:
    return _off_the_event_loop(_hasher().hash, password)


def verify_password(password_hash: str | None, password: str) -> bool:
    ok = _off_the_event_loop(_verify, _hasher(), password_hash or _DUMMY_HASH, password)
    return ok and bool(password_hash)


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    # A mismatch is an answer, not an error: raised in gevent's thread pool, it would also be
    # printed to stderr with a traceback on every failed login.
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
