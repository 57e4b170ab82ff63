"""What the benchmark scripts share: progress lines, the flask CLI, gunicorn, ports, workers.

Every script runs from the project root's virtualenv and talks to 127.0.0.1 only.
"""

import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
HOST = "127.0.0.1"
_STARTED = time.monotonic()


class SetupError(Exception):
    """The benchmark could not be set up; the scripts exit with status 2."""


def say(text: str) -> None:
    """A progress line, stamped with the seconds since the script started."""
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {text}", flush=True)


def flask_cli(env: dict, timeout: float, *command: str) -> str:
    """`flask --app app COMMAND` in the project root; its output, or SetupError."""
    try:
        result = subprocess.run(
            [os.path.join(VENV_BIN, "flask"), "--app", "app", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise SetupError(f"flask {' '.join(command)} took more than {timeout:.0f} s") from exc
    if result.returncode != 0:
        raise SetupError(f"flask {' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_gunicorn(env: dict, wsgi_app: str, log_path: str) -> subprocess.Popen:
    """`gunicorn -c gunicorn.conf.py WSGI_APP`, its output in `log_path`."""
    log = open(log_path, "wb")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(
        [os.path.join(VENV_BIN, "gunicorn"), "-c", "gunicorn.conf.py", wsgi_app],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a Ctrl-C of the bench reaches gunicorn only through us
    )
    log.close()
    return process


def stop_gunicorn(process: subprocess.Popen, timeout: float = 45) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"warning: gunicorn {process.pid} ignored SIGTERM; killing it", file=sys.stderr)
        process.kill()
        process.wait(timeout=10)


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn master's children (its workers), from /proc."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # pid (comm) state ppid ...: comm may hold spaces, so split after the ')'.
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == master_pid:
                    children.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(children)
