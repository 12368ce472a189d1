FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md schema.sql ./
COPY src ./src
RUN pip install --no-cache-dir .
RUN useradd --create-home meetsrv && mkdir -p /data && chown meetsrv /data
USER meetsrv
WORKDIR /data
EXPOSE 8080
# /healthz/ready: 200 once started and its database (and Redis, with --redis) answer; 503 naming
# the failing part otherwise (compose.yaml has the same check).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz/ready', timeout=3)"
# All options can be given as MEETSRV_* variables (see README).
CMD ["twistd", "-n", "--pidfile=", "meetsrv", "--port", "tcp:8080"]
