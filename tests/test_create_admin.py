"""`flask create-admin`: the first admin of a production database, without the sample data."""

from sqlalchemy import func, select

from app.extensions import db
from app.models.user import User
from tests.conftest import PASSWORD
from tests.test_auth import login, me, tokens_for


def create_admin(app, *args: str, password: str = "first-admin-password"):
    runner = app.test_cli_runner()
    return runner.invoke(args=["create-admin", *args], input=password + "\n")


def test_creates_an_admin_who_can_log_in(app, client):
    result = create_admin(
        app, "--email", "Boss@Example.com", "--name", "The Boss", "--password-stdin"
    )
    assert result.exit_code == 0, result.output
    assert "boss@example.com" in result.output
    body = login(client, "boss@example.com", "first-admin-password").get_json()
    assert body["user"]["role"] == "admin"
    assert body["user"]["name"] == "The Boss"
    assert db.session.scalar(select(func.count()).select_from(User)) == 1  # no sample data


def test_the_password_can_come_from_a_prompt(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-admin", "--email", "p@example.com", "--name", "P"],
        input="prompted-password\nprompted-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "prompted-password" not in result.output
    assert login(client, "p@example.com", "prompted-password").status_code == 200


def test_an_existing_email_fails_without_promote(app, client, make_user):
    user = make_user("requester", email="taken@example.com")
    result = create_admin(app, "--email", "taken@example.com", "--name", "X", "--password-stdin")
    assert result.exit_code != 0
    assert "--promote" in result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).role == "requester"
    assert login(client, "taken@example.com").status_code == 200  # password unchanged


def test_promote_makes_an_existing_user_an_active_admin_and_ends_their_sessions(
    app, client, make_user
):
    user = make_user("requester", email="promoted@example.com", is_active=False)
    result = create_admin(
        app, "--email", "promoted@example.com", "--name", "X", "--password-stdin", "--promote"
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    promoted = db.session.get(User, user.id)
    assert (promoted.role, promoted.is_active, promoted.name) == ("admin", True, user.name)
    assert login(client, "promoted@example.com", PASSWORD).status_code == 401
    tokens = tokens_for_password(client, "promoted@example.com", "first-admin-password")
    assert me(client, tokens["access_token"]).get_json()["role"] == "admin"


def tokens_for_password(client, email, password):
    response = login(client, email, password)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_short_password_or_a_bad_email_is_refused(app):
    short = create_admin(
        app, "--email", "a@example.com", "--name", "A", "--password-stdin", password="short"
    )
    assert short.exit_code != 0 and "password" in short.output
    bad = create_admin(app, "--email", "not-an-email", "--name", "A", "--password-stdin")
    assert bad.exit_code != 0 and "email" in bad.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_promoting_ends_the_users_sessions(app, client, make_user):
    user = make_user("agent", email="old@example.com")
    session = tokens_for(client, user)
    create_admin(app, "--email", "old@example.com", "--name", "X", "--password-stdin", "--promote")
    assert me(client, session["access_token"]).status_code == 401
