"""Schemathesis hooks: fuzz as an admin that the fuzzing itself cannot lock out.

Every operation is fuzzed. Only the identity is kept usable: logout is called with a throwaway
login of its own (so it revokes that, not the token the run uses), refresh gets a refresh token,
and generated calls that would edit or delete the fuzzing admin's own account are pointed at
another user id.
"""

import json
import os
import urllib.request

import schemathesis

BASE_URL = os.environ["FUZZ_BASE_URL"]
EMAIL = os.environ["FUZZ_EMAIL"]
PASSWORD = os.environ["FUZZ_PASSWORD"]
_session: dict = {}


def _login() -> dict:
    request = urllib.request.Request(
        BASE_URL + "/api/auth/login",
        data=json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _tokens() -> dict:
    if not _session:
        _session.update(_login())
    return _session


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.operation.path
    if path == "/api/auth/logout":
        token = _login()["access_token"]
    elif path == "/api/auth/refresh":
        token = _tokens()["refresh_token"]
    else:
        token = _tokens()["access_token"]
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    own_id = _tokens()["user"]["id"]
    target = (case.path_parameters or {}).get("user_id")
    if (
        target is not None
        and str(target).strip().lstrip("0") == str(own_id)
        and case.method != "GET"
    ):
        case.path_parameters["user_id"] = own_id + 100_000


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code == 401 and case.operation.path not in (
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/refresh",
    ):
        _session.clear()  # our token was refused (e.g. revoked): log in again next time


# The raw mail that POST /api/inbound/email takes is bytes, like an octet-stream upload.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
