# ServiceDesk image: the API (gunicorn on port 5001) and, with another command, the background
# worker, each as a non-root user in a container of its own.
#   docker build -t servicedesk .
#   docker run -p 5001:5001 -e JWT_SECRET_KEY=... -e DATABASE_URL=postgresql://... \
#     -e QUEUE_URL=redis://... servicedesk
# The worker (webhook deliveries, retention; run one or more), on the same database and queue.
# It serves no HTTP, so the health check below does not apply to it:
#   docker run --no-healthcheck -e JWT_SECRET_KEY=... -e DATABASE_URL=postgresql://... \
#     -e QUEUE_URL=redis://... servicedesk flask --app app worker
# `docker stop` sends SIGTERM: the worker finishes the deliveries it has out (up to 10 s each;
# give it --stop-timeout 15). One killed meanwhile is retried by another worker.
FROM python:3.11-slim

# Logs reach `docker logs` unbuffered; the code directory is read-only for the app user, so
# writing .pyc files would only fail.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies before the code: this layer is rebuilt only when requirements.txt changes.
# Every pinned package ships a manylinux wheel (psycopg2-binary, argon2-cffi), so the slim
# image needs no compiler.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code stays owned by root; the app user may write only instance/, where the SQLite
# database lives when DATABASE_URL is unset (mount a volume there to keep it). .dockerignore
# keeps the local instance/ out, so COPY leaves this one alone. A numeric USER lets
# Kubernetes' runAsNonRoot check it.
RUN useradd --create-home --uid 10001 --user-group servicedesk \
    && mkdir instance \
    && chown servicedesk:servicedesk instance
COPY . .
USER 10001:10001

# production makes the app refuse to start without a real JWT_SECRET_KEY.
ENV FLASK_ENV=production \
    PORT=5001
EXPOSE 5001

# The API's health check (a worker container runs with --no-healthcheck; the API's /health
# reports whether some worker's heartbeat is recent). The slim image has no curl. urlopen
# raises on a 503 (database unreachable) as on a refused connection, so either marks the
# container unhealthy. Assumes the default bind on PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '5001'), timeout=4)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:app"]
