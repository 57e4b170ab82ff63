"""Contract fuzzing: schemathesis against a live gunicorn server's /api/openapi.json.

Usage: DATABASE_URL=... python tests/contract/run.py [--max-examples N]
Migrates and seeds DATABASE_URL, serves it with gunicorn, fuzzes every operation as the sample
admin with the checks for server errors, response schemas, status codes and content types,
and exits with schemathesis's status.
"""

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tests.servers import free_port, start_server_process, stop  # noqa: E402

CHECKS = (
    "not_a_server_error,response_schema_conformance,"
    "status_code_conformance,content_type_conformance"
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=15)
    args = parser.parse_args()
    bin_dir = os.path.dirname(sys.executable)
    env = {**os.environ, "FLASK_APP": "app"}
    for command in (["db", "upgrade"], ["seed"]):
        subprocess.run([os.path.join(bin_dir, "flask"), *command], cwd=ROOT, env=env, check=True)
    port = free_port()
    # The testing config hashes passwords cheaply: the fuzzer creates and logs in many users.
    server = start_server_process(
        port,
        workers=2,
        config="testing",
        TEST_DATABASE_URL=os.environ["DATABASE_URL"],
        RATELIMIT_DEFAULT="1000000 per minute",
        RATELIMIT_LOGIN="1000000 per minute",
        EVENTS_MAX_STREAM_SECONDS="0.2",
    )
    base_url = f"http://127.0.0.1:{port}"
    fuzz_env = {
        **env,
        "PYTHONPATH": ROOT,
        "SCHEMATHESIS_HOOKS": "tests.contract.hooks",
        "FUZZ_BASE_URL": base_url,
        "FUZZ_EMAIL": "admin@example.com",
        "FUZZ_PASSWORD": "admin123!",
    }
    try:
        result = subprocess.run(
            [
                os.path.join(bin_dir, "schemathesis"),
                "run",
                f"{base_url}/api/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                str(args.max_examples),
                "--request-timeout",
                "10",
                "--workers",
                "2",
                "--seed",
                "1",
            ],
            cwd=ROOT,
            env=fuzz_env,
        )
    finally:
        stop(server)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
