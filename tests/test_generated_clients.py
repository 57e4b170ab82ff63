"""Real generators against the spec: openapi-typescript (pinned in tests/package.json) and
`tsc --strict` on tests/clients/spa.ts, a module written as the SPA uses the API; and
openapi-python-client (pinned in requirements.txt), whose client drives a ticket's life against a
live gunicorn through tests/clients/ticket_life.py, which `mypy --strict` checks too."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import PASSWORD
from tests.servers import gunicorn, request

TESTS = os.path.dirname(os.path.abspath(__file__))
LIFE = os.path.join(TESTS, "clients", "ticket_life.py")
BIN = os.path.join(TESTS, "node_modules", ".bin")
TSC_OPTIONS = [
    "--strict",
    "--noEmit",
    "--target",
    "es2022",
    "--module",
    "es2022",
    "--moduleResolution",
    "bundler",
    "--lib",
    "es2022,dom",
]

needs_npm = pytest.mark.skipif(
    shutil.which("npm") is None, reason="npm is not on PATH (.ci/run installs Node from Debian)"
)


def run(*command: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def typescript_client(app, tmp_path_factory) -> str:
    """A folder with schema.d.ts generated from /api/openapi.json."""
    if not os.path.exists(os.path.join(BIN, "openapi-typescript")):
        installed = run("npm", "ci", "--no-audit", "--no-fund", cwd=TESTS)
        assert installed.returncode == 0, installed.stderr
    folder = tmp_path_factory.mktemp("typescript")
    with app.test_client() as client:
        (folder / "openapi.json").write_text(json.dumps(client.get("/api/openapi.json").json))
    generator = run(
        os.path.join(BIN, "openapi-typescript"),
        "openapi.json",
        "-o",
        "schema.d.ts",
        cwd=str(folder),
    )
    assert generator.returncode == 0, generator.stderr
    return str(folder)


def type_check(folder: str, source: str) -> subprocess.CompletedProcess:
    with open(os.path.join(folder, "module.ts"), "w") as module:
        module.write(source)
    return run(os.path.join(BIN, "tsc"), *TSC_OPTIONS, "module.ts", cwd=folder)


@needs_npm
def test_the_spa_module_type_checks_against_the_generated_client(typescript_client):
    with open(os.path.join(TESTS, "clients", "spa.ts")) as spa:
        result = type_check(typescript_client, spa.read())
    assert result.returncode == 0, result.stdout + result.stderr


@needs_npm
def test_the_type_check_refuses_a_misuse_of_the_generated_types(typescript_client):
    misuse = (
        'import type { components } from "./schema";\n'
        'type Ticket = components["schemas"]["Ticket"];\n'
        "export const name = (ticket: Ticket): string => ticket.assigned_agent.name;\n"
        'export const status: Ticket["status"] = "done";\n'
    )
    result = type_check(typescript_client, misuse)
    assert result.returncode != 0
    assert "'ticket.assigned_agent' is possibly 'null'" in result.stdout
    assert "'\"done\"' is not assignable" in result.stdout


# --- openapi-python-client ---------------------------------------------------------------------

PACKAGE = "servicedesk_client"
GENERATOR_CONFIG = os.path.join(os.path.dirname(__file__), "clients", "openapi-python-client.yaml")
TOOLS = os.path.dirname(sys.executable)  # the generator runs ruff on its output: on PATH here


@pytest.fixture(scope="module")
def python_client(app, tmp_path_factory):
    """A live gunicorn, and a folder with `servicedesk_client` generated from its spec."""
    folder = tmp_path_factory.mktemp("python")
    with app.app_context(), gunicorn(workers=1) as port:
        status, _, spec = request(port, "GET", "/api/openapi.json")
        assert status == 200
        (folder / "openapi.json").write_bytes(spec)
        environment = {**os.environ, "PATH": TOOLS + os.pathsep + os.environ["PATH"]}
        generator = subprocess.run(
            [os.path.join(TOOLS, "openapi-python-client"), "generate", "--meta", "none"]
            + ["--path", "openapi.json", "--output-path", PACKAGE, "--config", GENERATOR_CONFIG],
            cwd=folder,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = generator.stdout + generator.stderr
        assert generator.returncode == 0, output
        # Schemas the generator cannot read are left out with a warning, not an error.
        assert "Warning" not in output and "skipping" not in output.lower(), output
        yield f"http://127.0.0.1:{port}", folder


@pytest.fixture(scope="module")
def ticket_life(python_client):
    """tests/clients/ticket_life.py, imported beside the generated package, and the package's
    models."""
    _, folder = python_client
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location("ticket_life", LIFE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module, importlib.import_module(f"{PACKAGE}.models")
    finally:
        sys.path.remove(str(folder))


def mypy(folder, source: str) -> subprocess.CompletedProcess:
    (folder / "module.py").write_text(source)
    return subprocess.run(
        # The generated package's own code is read for its types, not judged.
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "module.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_python_module_type_checks_against_the_generated_client(python_client):
    _, folder = python_client
    with open(LIFE) as life:
        result = mypy(folder, life.read())
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_refuses_a_misuse_of_the_generated_types(python_client):
    _, folder = python_client
    misuse = (
        f"from {PACKAGE}.models import Problem, Ticket, TicketUpdateStatus\n"
        "def name(ticket: Ticket) -> str:\n"
        "    return ticket.assigned_agent.name\n"
        "def detail(problem: Problem) -> int:\n"
        "    return problem.detail\n"
        "done = TicketUpdateStatus.DONE\n"
    )
    result = mypy(folder, misuse)
    assert result.returncode == 1
    assert 'Item "None" of "AgentSummary | None" has no attribute "name"' in result.stdout
    assert 'Incompatible return value type (got "str", expected "int")' in result.stdout
    assert '"type[TicketUpdateStatus]" has no attribute "DONE"' in result.stdout


def test_a_tickets_whole_life_through_the_generated_python_client(
    python_client, ticket_life, make_user, make_agent
):
    life, models = ticket_life
    base_url, _ = python_client
    rita = make_user("requester", name="Rita Requester")
    alan = make_agent(name="Alan Agent", team="Hardware")

    requester, tokens = life.log_in(base_url, rita.email, PASSWORD)
    staff, _ = life.log_in(base_url, alan.user.email, PASSWORD)
    with requester, staff:  # closes their connections: gunicorn then stops without waiting
        drive_a_ticket_through_its_life(life, models, requester, staff, rita, alan, tokens)


def drive_a_ticket_through_its_life(life, models, requester, staff, rita, alan, tokens) -> None:
    assert life.greeting(tokens) == "Hello Rita Requester (requester)"
    assert tokens.token_type == "Bearer" and tokens.expires_in > 0

    invalid = life.open_ticket(requester, "", "No title at all.")
    assert isinstance(invalid, models.Problem)
    assert invalid.status == 422
    assert list(invalid.errors.additional_properties) == ["title"]
    assert life.problem_summary(invalid).startswith("422 Unprocessable ")

    ticket = life.open_ticket(requester, "Printer on fire", "Smoke from the third floor.")
    assert isinstance(ticket, models.Ticket)
    assert (ticket.status, ticket.priority, ticket.requester.name) == ("open", "high", rita.name)
    assert ticket.assigned_agent is None and life.assignee_name(ticket) == "unassigned"

    page = life.open_high_tickets(staff)
    assert (page.total, [item.id for item in page.items]) == (1, [ticket.id])

    current, first_etag = life.read_ticket(staff, ticket.id)
    assigned = life.assign(staff, current, alan.id, first_etag)
    assert isinstance(assigned.assigned_agent, models.AgentSummary)
    assert (assigned.assigned_agent.id, assigned.assigned_agent.team) == (alan.id, "Hardware")
    assert life.assignee_name(assigned) == "Alan Agent"
    assert assigned.status == "open"
    assert life.assignee_name(life.open_high_tickets(staff).items[0]) == "Alan Agent"

    message = life.reply(staff, assigned, "On my way with an extinguisher.")
    assert (message.ticket_id, message.author.name, message.is_internal) == (
        ticket.id,
        "Alan Agent",
        False,
    )
    assert message.edited_at is None

    stale, _ = life.move(staff, ticket.id, models.TicketUpdateStatus.IN_PROGRESS, first_etag)
    assert isinstance(stale, models.Problem)
    assert (stale.status, stale.title) == (412, "Precondition Failed")
    assert "If-Match" in stale.detail

    current, etag = life.read_ticket(staff, ticket.id)
    assert current.first_response_at is not None and current.message_count == 1
    for status in ("in_progress", "pending", "in_progress", "resolved", "closed"):
        current, etag = life.move(staff, ticket.id, models.TicketUpdateStatus(status), etag)
        assert isinstance(current, models.Ticket), current
        assert current.status == status
        assert etag.startswith('"')
    assert current.resolved_at is not None and current.closed_at >= current.resolved_at

    refused, _ = life.move(staff, ticket.id, models.TicketUpdateStatus.IN_PROGRESS, etag)
    assert isinstance(refused, models.Problem)
    assert (refused.status, refused.title) == (409, "Conflict")
    assert "closed" in refused.detail and "in_progress" in refused.detail

    missing, _ = life.read_ticket(staff, ticket.id + 1000)
    assert isinstance(missing, models.Problem)
    assert (missing.status, missing.title) == (404, "Not Found")
    assert missing.detail

    assert life.adherence_by_agent(staff) == {alan.id: 1}
