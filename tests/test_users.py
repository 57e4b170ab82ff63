"""/api/users: who may list, read, create, change and delete users, and how."""

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models.ticket import Activity, Message
from app.models.user import Agent, User
from tests.conftest import PASSWORD
from tests.helpers import assert_problem, names, pick, stored

T0 = datetime(2020, 1, 5, 9, 0, tzinfo=UTC)  # before the admin fixture, created "now"


def user_count() -> int:
    return db.session.query(User).count()


@pytest.fixture
def people(make_user, admin):
    """An admin caller plus four users with known names, e-mails, roles and creation times."""
    rows = [
        ("Carol Jones", "carol@example.com", "agent", True),
        ("alice Smith", "zed_alice@example.com", "requester", True),
        ("Bob Brown", "bob@corp.example", "manager", False),
        ("Dave 100% Davis", "dave@example.com", "requester", True),
    ]
    for hours, (name, email, role, active) in enumerate(rows, start=1):
        at = T0 + timedelta(hours=hours)
        make_user(role, name=name, email=email, is_active=active, created_at=at)
    return admin


@pytest.mark.parametrize("role", ["admin", "manager", "agent"])
def test_staff_list_all_users(client, make_user, auth, people, role):
    caller = make_user(role)
    response = client.get("/api/users", headers=auth(caller))
    assert response.get_json()["total"] == 6
    assert caller.name in names(response)


def test_requester_cannot_list_users(client, requester, auth):
    assert_problem(client.get("/api/users", headers=auth(requester)), 403)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", {"Admin 1", "Carol Jones", "alice Smith", "Bob Brown", "Dave 100% Davis"}),
        ("role=manager&role=agent", {"Carol Jones", "Bob Brown"}),
        ("role=manager,agent", {"Carol Jones", "Bob Brown"}),
        ("role=requester", {"alice Smith", "Dave 100% Davis"}),
        ("is_active=false", {"Bob Brown"}),
        ("is_active=true&role=manager", set()),
        ("q=SMITH", {"alice Smith"}),
        ("q=corp.EXAMPLE", {"Bob Brown"}),
        ("q=100%25", {"Dave 100% Davis"}),
        ("q=e%25s", set()),
        ("q=b_corp", set()),
        ("q=zed_", {"alice Smith"}),
    ],
)
def test_list_filters(client, auth, people, query, expected):
    assert set(names(client.get(f"/api/users?{query}", headers=auth(people)))) == expected


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("name", ["Admin 1", "alice Smith", "Bob Brown", "Carol Jones", "Dave 100% Davis"]),
        ("-name", ["Dave 100% Davis", "Carol Jones", "Bob Brown", "alice Smith", "Admin 1"]),
        ("email", ["Admin 1", "Bob Brown", "Carol Jones", "Dave 100% Davis", "alice Smith"]),
        ("-email", ["alice Smith", "Dave 100% Davis", "Carol Jones", "Bob Brown", "Admin 1"]),
        ("created_at", ["Carol Jones", "alice Smith", "Bob Brown", "Dave 100% Davis", "Admin 1"]),
        ("-created_at", ["Admin 1", "Dave 100% Davis", "Bob Brown", "alice Smith", "Carol Jones"]),
    ],
)
def test_list_sorts(client, auth, people, sort, expected):
    assert names(client.get(f"/api/users?sort={sort}", headers=auth(people))) == expected


@pytest.mark.parametrize(
    "query, field", [("sort=password", "sort"), ("per_page=101", "per_page"), ("page=0", "page")]
)
def test_unknown_sort_or_out_of_range_paging_gets_422(client, auth, people, query, field):
    body = assert_problem(client.get(f"/api/users?{query}", headers=auth(people)), 422)
    assert list(body["errors"]) == [field]


@pytest.mark.parametrize(
    "query, envelope, page_names",
    [
        ("per_page=2&page=3", (3, 2, 5, 3), ["Dave 100% Davis"]),
        ("per_page=2&page=4", (4, 2, 5, 3), []),
        ("per_page=100", (1, 100, 5, 1), None),
        ("", (1, 25, 5, 1), None),
    ],
)
def test_list_envelope(client, auth, people, query, envelope, page_names):
    body = client.get(f"/api/users?sort=name&{query}", headers=auth(people)).get_json()
    assert tuple(body[key] for key in ("page", "per_page", "total", "pages")) == envelope
    if page_names is not None:
        assert [item["name"] for item in body["items"]] == page_names
    assert all(not {"password", "password_hash"} & set(item) for item in body["items"])


NEW_USER = {"email": "New.Person@Example.com", "name": "New Person", "password": "s3cret-pass"}


def test_admin_creates_a_user(client, admin, auth):
    response = client.post("/api/users", json={**NEW_USER, "department": "HR"}, headers=auth(admin))
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/users/{body['id']}")
    expected = ("new.person@example.com", "requester", "HR", True, None)
    assert pick(body, "email", "role", "department", "is_active", "phone") == expected
    assert not {"password", "password_hash"} & set(body)
    assert stored(User, body["id"])["email"] == "new.person@example.com"
    credentials = {"email": NEW_USER["email"], "password": NEW_USER["password"]}
    assert client.post("/api/auth/login", json=credentials).get_json()["user"]["id"] == body["id"]


@pytest.mark.parametrize("role", ["manager", "agent", "requester"])
def test_only_an_admin_creates_users(client, make_user, auth, role):
    caller = make_user(role)
    assert_problem(client.post("/api/users", json=NEW_USER, headers=auth(caller)), 403)
    assert user_count() == 1


TAKEN = "the admin's e-mail in upper case"


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({**NEW_USER, "email": TAKEN}, 409, "email"),
        ({**NEW_USER, "password": "short12"}, 422, "password"),
        ({**NEW_USER, "is_admin": True}, 422, "is_admin"),
        ({**NEW_USER, "role": "superuser"}, 422, "role"),
        ({k: v for k, v in NEW_USER.items() if k != "name"}, 422, "name"),
        ({**NEW_USER, "email": "not-an-email"}, 422, "email"),
    ],
)
def test_invalid_or_duplicate_user_gets_an_error_naming_the_field(
    client, admin, auth, body, status, field
):
    body = {**body, "email": admin.email.upper()} if body["email"] == TAKEN else body
    problem = assert_problem(client.post("/api/users", json=body, headers=auth(admin)), status)
    assert list(problem["errors"]) == [field]
    assert user_count() == 1


@pytest.mark.parametrize("role", ["admin", "manager", "agent"])
def test_staff_read_any_user(client, make_user, auth, requester, role):
    response = client.get(f"/api/users/{requester.id}", headers=auth(make_user(role)))
    assert response.get_json()["email"] == requester.email
    assert response.headers["ETag"].startswith('"')


def test_requester_reads_only_themself(client, make_user, auth, requester):
    other = make_user("requester")
    assert client.get(f"/api/users/{requester.id}", headers=auth(requester)).status_code == 200
    body = assert_problem(client.get(f"/api/users/{other.id}", headers=auth(requester)), 404)
    assert other.email not in body["detail"]
    assert_problem(client.get("/api/users/9999", headers=auth(requester)), 404)


def update(client, method: str, user, body: dict, headers: dict):
    return client.open(f"/api/users/{user.id}", method=method, json=body, headers=headers)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_admin_changes_any_field_of_any_user(client, admin, auth, requester, method):
    body = {"email": "Moved@Example.com", "role": "manager", "is_active": False, "phone": "42"}
    response = update(client, method, requester, body, auth(admin))
    assert response.status_code == 200, response.get_json()
    row = stored(User, requester.id)
    expected = ("moved@example.com", "manager", False, "42")
    assert pick(row, "email", "role", "is_active", "phone") == expected
    assert row["name"] == requester.name  # left out, so unchanged


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_user_changes_own_profile_fields_and_password(client, auth, make_user, method):
    user = make_user("agent", department="Ops", phone="1")
    body = {"name": "Renamed", "phone": None, "password": "brand-new-password"}
    response = update(client, method, user, body, auth(user))
    assert response.get_json()["name"] == "Renamed"
    assert response.get_json()["department"] == "Ops"
    assert stored(User, user.id)["phone"] is None
    login = {"email": user.email, "password": "brand-new-password"}
    assert client.post("/api/auth/login", json=login).status_code == 200
    login["password"] = PASSWORD
    assert client.post("/api/auth/login", json=login).status_code == 401


@pytest.mark.parametrize(
    "field, value", [("role", "admin"), ("is_active", False), ("email", "x@y.io")]
)
def test_user_cannot_change_own_privileged_fields(client, auth, requester, field, value):
    response = update(client, "PATCH", requester, {"name": "Sneaky", field: value}, auth(requester))
    body = assert_problem(response, 403, field)
    assert list(body["errors"]) == [field]
    row = stored(User, requester.id)
    assert pick(row, "name", "role", "is_active") == (requester.name, "requester", True)


@pytest.mark.parametrize("role, status", [("manager", 403), ("agent", 403), ("requester", 404)])
def test_only_an_admin_changes_other_users(client, make_user, auth, admin, role, status):
    headers = auth(make_user(role))
    assert_problem(update(client, "PATCH", admin, {"name": "Hijacked"}, headers), status)
    assert stored(User, admin.id)["name"] == admin.name


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"email": TAKEN}, 409, "email"),
        ({"nickname": "boss"}, 422, "nickname"),
        ({"role": None}, 422, "role"),
    ],
)
def test_invalid_or_conflicting_update_changes_nothing(
    client, admin, auth, requester, body, status, field
):
    body = {"email": admin.email.upper()} if body.get("email") == TAKEN else body
    before = stored(User, requester.id)
    problem = assert_problem(update(client, "PATCH", requester, body, auth(admin)), status)
    assert field in problem["errors"]
    assert stored(User, requester.id) == before


def test_agent_with_an_active_profile_cannot_become_requester_or_admin(client, admin, auth, agent):
    def set_role(role: str):
        return update(client, "PATCH", agent.user, {"role": role}, auth(admin))

    assert_problem(set_role("requester"), 409, "deactivate the agent profile")
    assert_problem(set_role("admin"), 409, "deactivate the agent profile")
    assert stored(User, agent.user_id)["role"] == "agent"
    assert set_role("manager").status_code == 200
    client.patch(f"/api/agents/{agent.id}", json={"is_active": False}, headers=auth(admin))
    assert set_role("requester").get_json()["role"] == "requester"


def test_etag_changes_with_the_object_and_matches_the_next_get(client, admin, auth, requester):
    before = client.get(f"/api/users/{requester.id}", headers=auth(admin)).headers["ETag"]
    response = update(client, "PATCH", requester, {"department": "Legal"}, auth(admin))
    after = response.headers["ETag"]
    assert after != before
    assert client.get(f"/api/users/{requester.id}", headers=auth(admin)).headers["ETag"] == after
    put = update(client, "PUT", requester, {"department": "Legal"}, auth(admin))
    assert put.headers["ETag"] == after


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_if_match_with_current_etag_or_star_succeeds(client, admin, auth, requester, method):
    etag = client.get(f"/api/users/{requester.id}", headers=auth(admin)).headers["ETag"]
    headers = {**auth(admin), "If-Match": etag}
    assert update(client, method, requester, {"name": "One"}, headers).status_code == 200
    headers["If-Match"] = "*"
    assert update(client, method, requester, {"name": "Two"}, headers).get_json()["name"] == "Two"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_stale_if_match_gets_412_and_changes_nothing(client, admin, auth, requester, method):
    stale = client.get(f"/api/users/{requester.id}", headers=auth(admin)).headers["ETag"]
    update(client, "PATCH", requester, {"department": "Finance"}, auth(admin))
    headers = {**auth(admin), "If-Match": stale}
    assert_problem(update(client, method, requester, {"name": "Lost"}, headers), 412)
    row = stored(User, requester.id)
    assert pick(row, "name", "department") == (requester.name, "Finance")


def test_admin_deletes_an_unreferenced_user_who_has_logged_out(client, admin, auth, requester):
    assert client.post("/api/auth/logout", headers=auth(requester)).status_code == 204
    response = client.delete(f"/api/users/{requester.id}", headers=auth(admin))
    assert (response.status_code, response.get_data()) == (204, b"")
    assert stored(User, requester.id) is None
    assert_problem(client.delete(f"/api/users/{requester.id}", headers=auth(admin)), 404)


@pytest.mark.parametrize(
    "role, target, status",
    [
        ("manager", "other", 403),
        ("agent", "other", 403),
        ("requester", "self", 403),
        ("requester", "other", 404),
    ],
)
def test_only_an_admin_deletes_users(client, make_user, auth, role, target, status):
    caller = make_user(role)
    victim = caller if target == "self" else make_user("requester")
    assert_problem(client.delete(f"/api/users/{victim.id}", headers=auth(caller)), status)
    assert stored(User, victim.id) is not None


def _reference(kind: str, user, other, make_ticket):
    """A row referencing `user`: a ticket, an agent profile, or a message or activity."""
    if kind == "ticket":
        return make_ticket(user)
    if kind == "agent profile":
        row = Agent(user_id=user.id, team="Access", skills=[])
    elif kind == "message":
        row = Message(ticket_id=make_ticket(other).id, author_id=user.id, body="On it.")
    else:
        row = Activity(ticket_id=make_ticket(other).id, actor_id=user.id, action="created")
    db.session.add(row)
    db.session.commit()
    return row


@pytest.mark.parametrize("kind", ["ticket", "message", "activity", "agent profile"])
def test_deleting_a_referenced_user_gets_409_saying_to_deactivate(
    client, admin, auth, make_user, make_ticket, kind
):
    user, other = make_user("agent"), make_user("requester")
    reference = _reference(kind, user, other, make_ticket)
    response = client.delete(f"/api/users/{user.id}", headers=auth(admin))
    assert_problem(response, 409, "deactivate")
    assert stored(User, user.id)["is_active"] is True
    assert stored(type(reference), reference.id) is not None
