"""Rate limits: per user on the API and per address and e-mail on login, shared through Redis
across gunicorn workers; and the API keeps serving when Redis is down."""

import json

import pytest
import redis

from app.extensions import db
from app.services import sessions
from tests.conftest import PASSWORD, create_user, headers_for
from tests.servers import gunicorn, request

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def clean_redis():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    client.flushdb()
    yield client
    client.flushdb()


def _statuses(port, count, headers, method="GET", path="/api/auth/me", body=None):
    return [request(port, method, path, body, headers) for _ in range(count)]


def test_per_user_limit_is_shared_by_all_workers_and_hosts_through_redis(clean_redis):
    user = create_user("agent")
    env = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_DEFAULT": "6 per minute"}
    # Two servers (two "hosts") of two workers each; requests alternate between them.
    with gunicorn(workers=2, config="development", **env) as first:
        with gunicorn(workers=2, config="development", **env) as second:
            results = [
                request(port, "GET", "/api/auth/me", None, headers_for(user))
                for port in [first, second] * 7
            ]
            other_user = request(first, "GET", "/api/auth/me", None, headers_for(create_user()))
    statuses = [status for status, _, _ in results]
    # Memory storage would let each process count on its own and admit at least 12.
    assert statuses.count(200) == 6
    assert statuses.count(429) == 8
    status, headers, body = results[-1]
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == 429
    assert int(headers["Retry-After"]) > 0
    assert "X-RateLimit-Limit" in results[0][1]
    assert other_user[0] == 200  # the limit is per user


def test_login_limit_counts_per_address_and_email(clean_redis):
    create_user("agent", email="locked@example.com")
    create_user("agent", email="free@example.com")
    env = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_LOGIN": "3 per minute"}
    wrong = json.dumps({"email": "locked@example.com", "password": "wrong-password"}).encode()
    right = json.dumps({"email": "free@example.com", "password": PASSWORD}).encode()
    json_headers = {"Content-Type": "application/json"}
    with gunicorn(workers=2, config="development", **env) as port:
        attempts = _statuses(port, 5, json_headers, "POST", "/api/auth/login", wrong)
        other_email = request(port, "POST", "/api/auth/login", right, json_headers)
    assert [status for status, _, _ in attempts] == [401, 401, 401, 429, 429]
    assert other_email[0] == 200


def test_api_keeps_serving_when_redis_is_down():
    user = create_user("agent")
    env = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0", "RATELIMIT_DEFAULT": "600 per minute"}
    with gunicorn(workers=1, config="development", **env) as port:
        results = _statuses(port, 3, headers_for(user))
    assert [status for status, _, _ in results] == [200, 200, 200]


def _key_for(app, token: str) -> str:
    from app.ratelimit import rate_limit_key

    with app.test_request_context(
        headers={"Authorization": f"Bearer {token}"}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    ):
        return rate_limit_key()


def test_rate_limit_key_is_the_user_of_a_valid_token_not_of_an_expired_or_revoked_one(
    app, requester
):
    from datetime import timedelta

    from flask_jwt_extended import create_access_token, decode_token

    token = headers_for(requester)["Authorization"].removeprefix("Bearer ")
    session_id = decode_token(token)["sid"]
    expired = create_access_token(
        identity=str(requester.id),
        expires_delta=timedelta(seconds=-1),
        additional_claims={"sid": session_id},
    )
    assert _key_for(app, token) == f"user:{requester.id}"
    assert _key_for(app, expired) == "addr:10.1.2.3"
    sessions.end(session_id, requester.id)
    db.session.commit()
    # A token of an ended session spends its address's limit, not its user's.
    assert _key_for(app, token) == "addr:10.1.2.3"


def test_rate_limit_key_does_not_trust_a_token_signed_with_another_key(app):
    import jwt

    forged = jwt.encode(
        {"sub": "1", "exp": 4102444800, "type": "access", "jti": "x", "fresh": False},
        "another-secret-of-thirty-two-bytes-or-more",
        algorithm="HS256",
    )
    assert _key_for(app, forged) == "addr:10.1.2.3"
    assert _key_for(app, "not.a.token") == "addr:10.1.2.3"
