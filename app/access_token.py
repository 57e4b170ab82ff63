"""The request's bearer token, verified once per request.

The rate limiter keys its limits by user, so it needs the verified token before the view
does; verifying it again in the view would decode it twice (PyJWT's decode was the largest
single cost of a small authenticated request). What was found is kept in the request's WSGI
environ, which, unlike `g`, never outlives the request.
"""

from flask import request
from flask_jwt_extended import get_jwt, verify_jwt_in_request

_VERIFIED = "servicedesk.access_token_verified"
_CHECKED = "servicedesk.access_token_checked"


def verify_access_token() -> dict:
    """The claims of the request's valid access token; raises as `verify_jwt_in_request`.

    A token found valid is not checked again in this request; an invalid one is, so that
    the view raises its error (401) itself.
    """
    if not request.environ.get(_VERIFIED):
        verify_jwt_in_request()
        request.environ[_VERIFIED] = True
    return get_jwt()


def user_id_if_valid() -> str | None:
    """The user id of a valid access token sent with the request, else None (no token, or
    an invalid, expired or revoked one; the view answers those)."""
    if not request.environ.get(_CHECKED):
        request.environ[_CHECKED] = True
        try:
            verify_access_token()
        except Exception:  # noqa: BLE001  (any refusal: the view reports it)
            return None
    return str(get_jwt()["sub"]) if request.environ.get(_VERIFIED) else None
