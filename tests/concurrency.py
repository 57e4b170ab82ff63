"""Running requests at once in threads, and holding them at a chosen point to force a race."""

import threading


def run_concurrently(app, requests: list) -> list:
    """Run each `request(client)` in a thread of its own, in its own app context (and session).

    Returns what each request returned, in order; an exception in any thread fails the test.
    """
    results: list = [None] * len(requests)
    errors: list = []

    def run(index, request):
        from app.extensions import db

        try:
            with app.app_context():
                try:
                    results[index] = request(app.test_client())
                finally:
                    db.session.remove()
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    assert not errors, errors
    return results


def meet_before(monkeypatch, module, name: str, parties: int = 2) -> None:
    """Make `module.name` wait, on its first call in each thread, until `parties` threads call it.

    So every racing request has done all it does before that call (e.g. read a row) before
    any of them goes on.
    """
    barrier = threading.Barrier(parties, timeout=10)
    original = getattr(module, name)
    seen = threading.local()

    def waiting(*args, **kwargs):
        if not getattr(seen, "done", False):
            seen.done = True
            barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, waiting)


def meet_after(monkeypatch, module, name: str, parties: int = 2) -> None:
    """Like `meet_before`, but the threads meet once their first call has returned."""
    barrier = threading.Barrier(parties, timeout=10)
    original = getattr(module, name)
    seen = threading.local()

    def waiting(*args, **kwargs):
        result = original(*args, **kwargs)
        if not getattr(seen, "done", False):
            seen.done = True
            barrier.wait()
        return result

    monkeypatch.setattr(module, name, waiting)
