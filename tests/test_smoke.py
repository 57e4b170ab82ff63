def test_health_reports_database_ok(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_login_returns_tokens_and_user(client, make_user):
    from tests.conftest import PASSWORD

    user = make_user("admin", email="boss@example.com")
    response = client.post(
        "/api/auth/login", json={"email": "BOSS@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["user"]["id"] == user.id
    me = client.get("/api/auth/me", headers={"Authorization": "Bearer " + body["access_token"]})
    assert me.get_json()["email"] == "boss@example.com"
