"""Real generators against the spec: openapi-typescript (pinned in tests/package.json) and
`tsc --strict` on tests/clients/spa.ts, a module written as the SPA uses the API."""

import json
import os
import shutil
import subprocess

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
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

pytestmark = pytest.mark.skipif(
    shutil.which("npm") is None, reason="npm is not on PATH (.ci/run installs Node from Debian)"
)


def run(*command: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def generated(app, tmp_path_factory) -> str:
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


def test_the_spa_module_type_checks_against_the_generated_client(generated):
    with open(os.path.join(TESTS, "clients", "spa.ts")) as spa:
        result = type_check(generated, spa.read())
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_type_check_refuses_a_misuse_of_the_generated_types(generated):
    misuse = (
        'import type { components } from "./schema";\n'
        'type Ticket = components["schemas"]["Ticket"];\n'
        "export const name = (ticket: Ticket): string => ticket.assigned_agent.name;\n"
        'export const status: Ticket["status"] = "done";\n'
    )
    result = type_check(generated, misuse)
    assert result.returncode != 0
    assert "'ticket.assigned_agent' is possibly 'null'" in result.stdout
    assert "'\"done\"' is not assignable" in result.stdout
