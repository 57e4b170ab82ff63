"""Flask-JWT-Extended's manager, verifying each distinct token once per worker."""

import time
from functools import lru_cache

import jwt
from flask import current_app
from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config


class CachingJWTManager(JWTManager):
    """Every request decodes its bearer token, and Flask-JWT-Extended parses it four times to
    do so (claims and header, unverified for its key callbacks, then verified): a tenth of the
    CPU of a ticket list request (bench/http). A client sends the same token on every request,
    so the verified claims of a token are kept, keyed on the token and the key it was checked
    with, and only what time changes, the expiry, is checked on each use. Revocation and the
    token's user are still read on every request (app/auth). Failures are not kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._verified = lru_cache(maxsize=4096)(self._verify)

    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        if csrf_value is not None or allow_expired:
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        claims = dict(self._verified(encoded_token, current_app.config["JWT_SECRET_KEY"]))
        if "exp" in claims and claims["exp"] <= time.time() - config.leeway:
            error = jwt.ExpiredSignatureError("Signature has expired")
            # What Flask-JWT-Extended's handler for an expired token reads.
            error.jwt_header = jwt.get_unverified_header(encoded_token)
            error.jwt_data = claims
            raise error
        return claims

    def _verify(self, encoded_token: str, secret: str) -> dict:
        # `secret` is the configured one, which the decode below uses: it is an argument
        # only so that a token is never trusted under another key.
        return super()._decode_jwt_from_config(encoded_token)
