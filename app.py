"""WSGI entry point (`gunicorn app:app`); `python app.py` runs the development server."""

import os

from app import create_app
from app.request_log import DevRequestHandler

app = create_app()

if __name__ == "__main__":
    if os.environ.get("INIT_DB", "").lower() in ("1", "true", "yes"):
        from app.cli import init_database

        with app.app_context():
            init_database()
    app.run(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", 5001)),
        threaded=True,
        request_handler=DevRequestHandler,
    )
