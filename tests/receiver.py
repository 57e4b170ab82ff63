"""A webhook receiver on 127.0.0.1 for the tests: records every request and answers from a
script (statuses, a redirect, a hang, a closed connection)."""

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Every worker thread may connect at once (the benchmark's hundreds a second): the
    # default backlog of 5 would drop connections, which then wait a second to retry.
    request_queue_size = 128


class Receiver:
    """`answers` is consumed one per request: an int status, ("redirect", url),
    ("hang", seconds) or "close"; when it runs out, `default` answers."""

    def __init__(self, answers=(), default=200):
        self.answers = list(answers)
        self.default = default
        self.requests: list[Received] = []
        self.condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.condition:
                    receiver.requests.append(
                        Received(self.path, dict(self.headers.items()), body, time.time())
                    )
                    answer = receiver.answers.pop(0) if receiver.answers else receiver.default
                    receiver.condition.notify_all()
                receiver.answer(self, answer)

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def answer(self, handler, answer) -> None:
        if answer == "close":
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        if isinstance(answer, tuple) and answer[0] == "hang":
            time.sleep(answer[1])
            answer = 200
        if isinstance(answer, tuple) and answer[0] == "redirect":
            handler.send_response(302)
            handler.send_header("Location", answer[1])
        else:
            handler.send_response(answer)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """The first `count` requests, waiting up to `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.condition.wait(remaining)
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
