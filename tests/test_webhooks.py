"""/api/webhooks through HTTP: admin only, fields, secrets, event types, the SSRF guard."""

import pytest

from app.extensions import db
from app.models import Webhook, WebhookDelivery
from tests.helpers import assert_problem
from tests.receiver import Receiver

PUBLIC_URL = "https://93.184.215.14/hooks/servicedesk"  # a public address: no DNS needed


@pytest.fixture
def admin_headers(admin, auth):
    return auth(admin)


def create(client, headers, **fields):
    body = {"url": PUBLIC_URL, "events": ["ticket.created"], **fields}
    return client.post("/api/webhooks", json=body, headers=headers)


def test_admin_creates_a_webhook_and_sees_its_generated_secret_only_then(client, admin_headers):
    response = create(client, admin_headers, description="CRM sync")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/webhooks/{body['id']}")
    assert body["url"] == PUBLIC_URL
    assert body["events"] == ["ticket.created"]
    assert body["description"] == "CRM sync"
    assert body["is_active"] is True
    assert len(body["secret"]) == 64 and int(body["secret"], 16) >= 0
    assert db.session.get(Webhook, body["id"]).secret == body["secret"]

    shown = client.get(f"/api/webhooks/{body['id']}", headers=admin_headers)
    assert shown.status_code == 200
    assert "secret" not in shown.get_json()
    assert shown.headers["ETag"]
    listed = client.get("/api/webhooks", headers=admin_headers).get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert "secret" not in listed["items"][0]
    assert listed["total"] == 1


def test_a_given_secret_is_kept_and_never_returned(client, admin_headers):
    response = create(client, admin_headers, secret="s" * 20)
    assert response.status_code == 201
    assert response.get_json()["secret"] == "s" * 20
    webhook_id = response.get_json()["id"]
    assert db.session.get(Webhook, webhook_id).secret == "s" * 20
    updated = client.patch(
        f"/api/webhooks/{webhook_id}", json={"secret": "t" * 20}, headers=admin_headers
    )
    assert updated.status_code == 200
    assert "secret" not in updated.get_json()
    db.session.expire_all()
    assert db.session.get(Webhook, webhook_id).secret == "t" * 20


def test_rotating_the_secret_returns_a_new_one(client, admin_headers):
    created = create(client, admin_headers).get_json()
    response = client.post(f"/api/webhooks/{created['id']}/rotate-secret", headers=admin_headers)
    assert response.status_code == 200
    secret = response.get_json()["secret"]
    assert len(secret) == 64 and secret != created["secret"]
    db.session.expire_all()
    assert db.session.get(Webhook, created["id"]).secret == secret


def test_update_is_partial_and_honours_if_match(client, admin_headers):
    created = create(client, admin_headers, description="old").get_json()
    path = f"/api/webhooks/{created['id']}"
    etag = client.get(path, headers=admin_headers).headers["ETag"]
    response = client.patch(
        path, json={"is_active": False}, headers={**admin_headers, "If-Match": etag}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["is_active"], body["description"], body["events"]) == (
        False,
        "old",
        ["ticket.created"],
    )
    stale = client.put(
        path, json={"description": "new"}, headers={**admin_headers, "If-Match": etag}
    )
    assert_problem(stale, 412)
    assert client.get(path, headers=admin_headers).get_json()["description"] == "old"


def test_delete_removes_the_webhook_and_its_deliveries(client, admin_headers):
    created = create(client, admin_headers).get_json()
    assert (
        client.post(f"/api/webhooks/{created['id']}/ping", headers=admin_headers).status_code == 202
    )
    response = client.delete(f"/api/webhooks/{created['id']}", headers=admin_headers)
    assert response.status_code == 204 and response.data == b""
    assert_problem(client.get(f"/api/webhooks/{created['id']}", headers=admin_headers), 404)
    assert db.session.query(WebhookDelivery).count() == 0


@pytest.mark.parametrize(
    "events",
    [["ticket.exploded"], ["session.ended"], ["*", "ticket.created"], [], "ticket.created"],
)
def test_events_must_be_known_types_or_star_alone(client, admin_headers, events):
    body = assert_problem(create(client, admin_headers, events=events), 422)
    assert list(body["errors"]) == ["events"]


def test_star_subscribes_to_everything(client, admin_headers):
    response = create(client, admin_headers, events=["*"])
    assert response.status_code == 201
    assert response.get_json()["events"] == ["*"]


def test_fields_are_required_and_unknown_ones_refused(client, admin_headers):
    body = assert_problem(client.post("/api/webhooks", json={}, headers=admin_headers), 422)
    assert set(body["errors"]) == {"url", "events"}
    body = assert_problem(create(client, admin_headers, colour="blue"), 422)
    assert list(body["errors"]) == ["colour"]
    body = assert_problem(create(client, admin_headers, secret="short"), 422)
    assert list(body["errors"]) == ["secret"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.215.14/hook",
        "javascript:alert(1)",
        "https://",
        "https://user:password@93.184.215.14/hook",
        "https://93.184.215.14/" + "a" * 2048,
        "http://93.184.215.14:99999/",
    ],
)
def test_a_url_that_is_not_an_http_target_gets_422_naming_url(client, admin_headers, url):
    body = assert_problem(create(client, admin_headers, url=url), 422)
    assert list(body["errors"]) == ["url"]
    assert db.session.query(Webhook).count() == 0


PRIVATE_TARGETS = [
    "http://127.0.0.1:{port}/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://0.0.0.0:{port}/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://100.64.0.1/hook",
    "http://localhost:{port}/hook",
]


@pytest.mark.parametrize("template", PRIVATE_TARGETS)
def test_private_and_reserved_targets_get_422_and_no_traffic(client, app, admin_headers, template):
    receiver = Receiver()
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ()
    try:
        url = template.format(port=receiver.server.server_port)
        body = assert_problem(create(client, admin_headers, url=url), 422)
        assert list(body["errors"]) == ["url"]
        assert "private" in body["errors"]["url"][0]
        allowed = create(client, admin_headers).get_json()
        changed = client.patch(
            f"/api/webhooks/{allowed['id']}", json={"url": url}, headers=admin_headers
        )
        assert list(assert_problem(changed, 422)["errors"]) == ["url"]
        assert db.session.get(Webhook, allowed["id"]).url == PUBLIC_URL
        assert receiver.requests == []
    finally:
        app.config["WEBHOOK_ALLOWED_HOSTS"] = ("127.0.0.1",)
        receiver.close()


def test_a_host_in_webhook_allowed_hosts_may_be_private(client, app, admin_headers):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ("localhost", "127.0.0.1")
    try:
        response = create(client, admin_headers, url="http://localhost:8080/hook")
        assert response.status_code == 201, response.get_json()
        assert create(client, admin_headers, url="http://10.0.0.1/hook").status_code == 422
    finally:
        app.config["WEBHOOK_ALLOWED_HOSTS"] = ("127.0.0.1",)


@pytest.mark.parametrize("role", ["manager", "agent", "requester"])
def test_only_admins_may_use_webhooks(client, admin_headers, make_user, auth, role):
    created = create(client, admin_headers).get_json()
    delivery = client.post(f"/api/webhooks/{created['id']}/ping", headers=admin_headers)
    headers = auth(make_user(role))
    base = f"/api/webhooks/{created['id']}"
    attempts = [
        client.get("/api/webhooks", headers=headers),
        client.post("/api/webhooks", json={"url": PUBLIC_URL, "events": ["*"]}, headers=headers),
        client.get(base, headers=headers),
        client.patch(base, json={"is_active": False}, headers=headers),
        client.delete(base, headers=headers),
        client.post(base + "/rotate-secret", headers=headers),
        client.get(base + "/deliveries", headers=headers),
        client.post(base + f"/deliveries/{delivery.get_json()['id']}/redeliver", headers=headers),
        client.post(base + "/ping", headers=headers),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    assert db.session.query(Webhook).count() == 1
    assert db.session.query(WebhookDelivery).count() == 1
    assert client.get("/api/webhooks").status_code == 401


def test_unknown_webhooks_and_deliveries_are_404(client, admin_headers):
    first = create(client, admin_headers).get_json()
    second = create(client, admin_headers).get_json()
    ping = client.post(f"/api/webhooks/{first['id']}/ping", headers=admin_headers).get_json()
    assert_problem(client.get("/api/webhooks/999", headers=admin_headers), 404)
    assert_problem(client.post("/api/webhooks/999/ping", headers=admin_headers), 404)
    assert_problem(client.get("/api/webhooks/999/deliveries", headers=admin_headers), 404)
    other = f"/api/webhooks/{second['id']}/deliveries/{ping['id']}/redeliver"
    assert_problem(client.post(other, headers=admin_headers), 404)


def test_the_delivery_log_is_newest_first_and_paginated(client, admin_headers):
    webhook = create(client, admin_headers).get_json()
    ids = [
        client.post(f"/api/webhooks/{webhook['id']}/ping", headers=admin_headers).get_json()["id"]
        for _ in range(3)
    ]
    path = f"/api/webhooks/{webhook['id']}/deliveries"
    page = client.get(path + "?per_page=2", headers=admin_headers).get_json()
    assert [item["id"] for item in page["items"]] == [ids[2], ids[1]]
    assert (page["total"], page["pages"], page["per_page"]) == (3, 2, 2)
    second = client.get(path + "?per_page=2&page=2", headers=admin_headers).get_json()
    assert [item["id"] for item in second["items"]] == [ids[0]]
    item = page["items"][0]
    assert list(item) == [
        "id",
        "event_id",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "created_at",
        "delivered_at",
    ]
    assert (item["event_id"], item["event_type"], item["status"], item["attempts"]) == (
        None,
        "ping",
        "pending",
        0,
    )
    assert_problem(client.get(path + "?per_page=101", headers=admin_headers), 422)
