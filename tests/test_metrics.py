"""GET /metrics: Prometheus text, right across gunicorn workers, open to loopback or a token."""

import http.client

from prometheus_client.parser import text_string_to_metric_families

from app.extensions import db
from app.models import Webhook, WebhookDelivery
from tests.conftest import create_user, headers_for
from tests.helpers import assert_problem
from tests.servers import gunicorn, request

TICKET_ROUTE = "/api/tickets/<int:ticket_id>"


def samples(text: str) -> dict:
    """{(sample name, sorted label pairs): value} of a scrape."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


def requests_of(found: dict, route: str, method: str, status: str) -> float:
    labels = (("method", method), ("route", route), ("status", status))
    return found.get(("servicedesk_http_requests_total", labels), 0)


def test_requests_are_counted_by_route_template_method_and_status(
    client, requester, auth, make_ticket
):
    ticket = make_ticket(requester)
    headers = auth(requester)
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/api/tickets/{ticket.id}", headers=headers).status_code == 200
    assert client.get("/api/tickets/999999", headers=headers).status_code == 404
    after = scrape(client)
    assert (
        requests_of(after, TICKET_ROUTE, "GET", "200")
        - requests_of(before, TICKET_ROUTE, "GET", "200")
        == 3
    )
    assert (
        requests_of(after, TICKET_ROUTE, "GET", "404")
        - requests_of(before, TICKET_ROUTE, "GET", "404")
        == 1
    )
    count_key = (
        "servicedesk_http_request_duration_seconds_count",
        (("method", "GET"), ("route", TICKET_ROUTE)),
    )
    assert after[count_key] - before.get(count_key, 0) == 4
    # An unknown path is one label, not one per path.
    client.get("/no/such/path/123")
    assert requests_of(scrape(client), "unmatched", "GET", "404") >= 1


def test_deliveries_by_status_come_from_the_database(client):
    webhook = Webhook(url="https://93.184.215.14/", events=["*"], secret="x" * 64)
    db.session.add(webhook)
    db.session.flush()
    for status in ("pending", "succeeded", "succeeded", "failed"):
        db.session.add(WebhookDelivery(webhook_id=webhook.id, event_type="ping", status=status))
    db.session.commit()
    found = scrape(client)
    by_status = {
        status: found[("servicedesk_webhook_deliveries", (("status", status),))]
        for status in ("pending", "succeeded", "failed")
    }
    assert by_status == {"pending": 1, "succeeded": 2, "failed": 1}
    assert ("servicedesk_background_jobs_waiting", ()) in found


def test_open_streams_are_counted(client, requester, auth):
    before = scrape(client)[("servicedesk_event_streams_open", ())]
    response = client.get("/api/events", headers=auth(requester), buffered=False)
    assert next(iter(response.response)).startswith(b"retry:")
    assert scrape(client)[("servicedesk_event_streams_open", ())] == before + 1
    response.close()
    assert scrape(client)[("servicedesk_event_streams_open", ())] == before


def test_only_loopback_clients_may_scrape_without_a_token(client):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert_problem(response, 403, "METRICS_TOKEN")


def test_with_a_token_set_the_token_is_needed(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-me-please")
    assert_problem(client.get("/metrics"), 401)
    wrong = {"Authorization": "Bearer nope"}
    assert_problem(client.get("/metrics", headers=wrong), 401)
    right = {"Authorization": "Bearer scrape-me-please"}
    response = client.get("/metrics", headers=right, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 200


def test_counts_add_up_across_gunicorn_workers():
    user = create_user("agent")
    headers = headers_for(user)
    with gunicorn(workers=2) as port:
        for _ in range(20):
            assert request(port, "GET", "/api/auth/me", None, headers)[0] == 200
        totals = []
        for _ in range(6):  # new connections: the scrapes land on either worker
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/metrics")
            body = connection.getresponse().read().decode()
            connection.close()
            totals.append(requests_of(samples(body), "/api/auth/me", "GET", "200"))
    # Each worker counted only its own share of the 20 before the counts were shared.
    assert totals == [20] * 6
