"""The machinery of bench/two_hosts.py: two app "hosts" in network namespaces on a bridge, a
scratch PostgreSQL and a Redis on the bridge's address, and HAProxy in front on 127.0.0.1.

Needs root (namespaces, veth pairs, a bridge; PostgreSQL runs as the `postgres` user).
Every name starts with `sd2h` and every address lies in 10.77.0.0/24, so a leftover of a
killed run is recognised and removed by the next one.
"""

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time

import psycopg2

from bench.queue_support import RedisServer
from bench.support import ROOT, VENV_BIN, SetupError, free_port

PREFIX = "sd2h"
BRIDGE = f"{PREFIX}-br0"
GATEWAY = "10.77.0.1"  # the root namespace's side: PostgreSQL and Redis listen here
SUBNET = "10.77.0.0/24"
HOSTS = {"a": "10.77.0.11", "b": "10.77.0.12"}
APP_PORT = 5001  # each namespace has its own ports, so both hosts use gunicorn's default
DATABASE = "servicedesk"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def netns_possible() -> str | None:
    """None when network namespaces can be made here, else why not."""
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is missing"
    probe = f"{PREFIX}-probe"
    result = ip("netns", "add", probe, check=False)
    if result.returncode != 0:
        return f"`ip netns add` failed: {result.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    return None


class Network:
    """A bridge in the root namespace and one namespace per host, joined by veth pairs."""

    def namespace(self, name: str) -> str:
        return f"{PREFIX}-{name}"

    def up(self) -> None:
        self.down()  # a run killed before its cleanup left these behind
        ip("link", "add", BRIDGE, "type", "bridge")
        ip("addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        ip("link", "set", BRIDGE, "up")
        for name, address in HOSTS.items():
            ns, outside, inside = self.namespace(name), f"{PREFIX}-{name}0", f"{PREFIX}-{name}1"
            ip("netns", "add", ns)
            ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            ip("link", "set", inside, "netns", ns)
            ip("link", "set", outside, "master", BRIDGE, "up")
            ip("-n", ns, "addr", "add", f"{address}/24", "dev", inside)
            ip("-n", ns, "link", "set", inside, "up")
            ip("-n", ns, "link", "set", "lo", "up")

    def kill_all(self, name: str) -> list[int]:
        """SIGKILL every process in the host's namespace (gunicorn, its workers, the worker)."""
        result = ip("netns", "pids", self.namespace(name), check=False)
        pids = [int(pid) for pid in result.stdout.split()]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def down(self) -> None:
        for name in HOSTS:
            self.kill_all(name)
            # Deleting the namespace destroys the veth pair with it.
            ip("netns", "del", self.namespace(name), check=False)
            ip("link", "del", f"{PREFIX}-{name}0", check=False)
        ip("link", "del", BRIDGE, check=False)


def _postgres_bin(program: str) -> str:
    # Debian keeps the server programs off the PATH, under /usr/lib/postgresql/<version>/bin.
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"))
    path = found[-1] if found else shutil.which(program)
    if not path:
        raise SetupError(f"PostgreSQL's {program} was not found")
    return path


class ScratchPostgres:
    """A PostgreSQL instance of our own, listening on the bridge's address only. The machine's
    cluster listens on 127.0.0.1, which no other namespace can reach; a scratch instance is
    also removed without a trace by deleting its directory."""

    def __init__(self, workdir: str) -> None:
        self.data = os.path.join(workdir, "pgdata")
        self.log_path = os.path.join(workdir, "postgres.log")
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        user = pwd.getpwnam("postgres")
        self.as_postgres = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        self.uid, self.gid = user.pw_uid, user.pw_gid

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@{GATEWAY}:{self.port}/{database}"

    def start(self) -> None:
        os.mkdir(self.data, 0o700)
        os.chown(self.data, self.uid, self.gid)
        subprocess.run(
            [_postgres_bin("initdb"), "-D", self.data, "-U", "postgres", "-A", "trust", "-N"],
            check=True,
            capture_output=True,
            **self.as_postgres,
        )
        with open(os.path.join(self.data, "pg_hba.conf"), "a") as hba:
            hba.write(f"host all all {SUBNET} trust\n")
        log = open(self.log_path, "ab")  # noqa: SIM115  (closed with the process)
        # fsync off: the test kills app hosts, never this server, and shares the disk.
        settings = ["fsync=off", "max_connections=200", f"listen_addresses={GATEWAY}"]
        command = [_postgres_bin("postgres"), "-D", self.data, "-p", str(self.port)]
        command += ["-k", self.data] + [arg for s in settings for arg in ("-c", s)]
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self.as_postgres,
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg2.connect(self.url("postgres")).close()
                break
            except psycopg2.OperationalError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SetupError(f"PostgreSQL did not start (see {self.log_path})") from error
                time.sleep(0.2)
        self.sql(f"CREATE DATABASE {DATABASE}")

    def sql(self, statement: str, database: str = "postgres") -> list:
        connection = psycopg2.connect(self.url(database))
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # "fast" shutdown: ends the sessions
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def host_env(database_url: str, redis_port: int, workdir: str, name: str, **extra) -> dict:
    """What each host's gunicorn and worker are given: the same secret, database and Redis."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    redis_url = f"redis://{GATEWAY}:{redis_port}"
    env.update(
        {
            "FLASK_ENV": "production",
            "DATABASE_URL": database_url,
            "QUEUE_URL": f"{redis_url}/0",
            "RATELIMIT_STORAGE_URI": f"{redis_url}/1",
            "BIND": f"0.0.0.0:{APP_PORT}",
            # HAProxy adds X-Forwarded-For: the rate limits per address see the client.
            "PROXY_FIX_X_FOR": "1",
            "PROMETHEUS_MULTIPROC_DIR": os.path.join(workdir, f"metrics-{name}"),
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


class Host:
    """gunicorn (gunicorn.conf.py) and `flask worker`, both inside the host's namespace."""

    def __init__(self, network: Network, name: str, env: dict, workdir: str) -> None:
        self.network, self.name, self.env = network, name, env
        self.address = HOSTS[name]
        self.log_path = os.path.join(workdir, f"host-{name}.log")
        self.processes: list[subprocess.Popen] = []

    def _spawn(self, env: dict, *command: str) -> subprocess.Popen:
        log = open(self.log_path, "ab")  # noqa: SIM115  (closed with the process)
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.network.namespace(self.name), *command],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def start(self) -> None:
        # gunicorn empties PROMETHEUS_MULTIPROC_DIR as it starts: the worker must not use it.
        worker_env = {k: v for k, v in self.env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        gunicorn = os.path.join(VENV_BIN, "gunicorn")
        self._spawn(self.env, gunicorn, "-c", "gunicorn.conf.py", "app:app")
        worker = self._spawn(worker_env, os.path.join(VENV_BIN, "flask"), "--app", "app", "worker")
        # `ip netns exec` execs the command: the pid is the worker's, as in its heartbeat's id.
        self.worker_id_suffix = f":{worker.pid}"

    def wait_ready(self, seconds: float = 60) -> None:
        """Until /health answers 200 and the worker wrote its first heartbeat."""
        deadline = time.monotonic() + seconds
        while not (self.healthy() and self._worker_beat()):
            if any(p.poll() is not None for p in self.processes) or time.monotonic() > deadline:
                raise SetupError(f"host {self.name} did not start (see {self.log_path})")
            time.sleep(0.2)

    def _worker_beat(self) -> bool:
        connection = psycopg2.connect(self.env["DATABASE_URL"])
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM worker_heartbeats WHERE worker_id LIKE %s",
                    (f"%{self.worker_id_suffix}",),
                )
                return cursor.fetchone()[0] > 0
        finally:
            connection.close()

    def healthy(self) -> bool:
        try:
            with socket.create_connection((self.address, APP_PORT), timeout=2) as sock:
                sock.sendall(b"GET /health HTTP/1.0\r\nHost: health\r\n\r\n")
                return sock.recv(64).split(b" ")[1:2] == [b"200"]
        except OSError:
            return False

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


HAPROXY_CONFIG = """\
global
    stats socket {socket} mode 600 level admin
    maxconn 2000

defaults
    mode http
    option forwardfor
    # A request that could not reach a server (connection refused: a dead host) is tried
    # again, the last time on another server. A request already sent is never resent.
    retries 3
    option redispatch 1
    timeout connect 2s
    timeout client 60s
    # Longer than the event streams' 15 s heartbeat.
    timeout server 60s
    # Without it HAProxy asks the kernel to hold small writes for more (MSG_MORE): each
    # event reached a stream about 200 ms late (p50 189 ms against 3 ms with it).
    option http-no-delay

frontend servicedesk
    bind 127.0.0.1:{port}
    default_backend app

backend app
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host servicedesk
    http-check expect status 200
    default-server check inter 500ms fall 2 rise 2
    # Which host answered: the test asserts on it (leave it out in production).
    http-response set-header X-Served-By %[srv_name]
{servers}
"""


class HAProxy:
    def __init__(self, workdir: str) -> None:
        self.port = free_port()
        self.socket_path = os.path.join(workdir, "haproxy.sock")
        self.config_path = os.path.join(workdir, "haproxy.cfg")
        self.log_path = os.path.join(workdir, "haproxy.log")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        servers = "\n".join(
            f"    server {name} {address}:{APP_PORT}" for name, address in HOSTS.items()
        )
        with open(self.config_path, "w") as config:
            config.write(
                HAPROXY_CONFIG.format(socket=self.socket_path, port=self.port, servers=servers)
            )
        log = open(self.log_path, "ab")  # noqa: SIM115  (closed with the process)
        self.process = subprocess.Popen(
            ["haproxy", "-db", "-f", self.config_path],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 20
        while self.server_states() != {name: "UP" for name in HOSTS}:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SetupError(f"HAProxy did not see both hosts up (see {self.log_path})")
            time.sleep(0.1)

    def stats(self) -> dict[str, dict[str, str]]:
        """`show stat` of the backend and its servers, by server name ("BACKEND" for the total)."""
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(self.socket_path)
                sock.sendall(b"show stat\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
        except OSError:
            return {}
        lines = data.decode().splitlines()
        if not lines or not lines[0].startswith("# "):
            return {}
        columns = lines[0][2:].split(",")
        rows = [dict(zip(columns, line.split(","), strict=False)) for line in lines[1:] if line]
        return {row["svname"]: row for row in rows if row.get("pxname") == "app"}

    def server_states(self) -> dict[str, str]:
        return {
            name: row["status"].split()[0] for name, row in self.stats().items() if name in HOSTS
        }

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def new_redis(workdir: str) -> RedisServer:
    return RedisServer(os.path.join(workdir, "redis.log"), host=GATEWAY)


def jwt_secret() -> str:
    # One secret for both hosts: a token issued by one is accepted by the other.
    return secrets.token_urlsafe(48)
