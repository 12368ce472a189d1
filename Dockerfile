FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md schema.sql ./
COPY src ./src
RUN pip install --no-cache-dir .
RUN useradd --create-home meetsrv && mkdir -p /data && chown meetsrv /data
USER meetsrv
WORKDIR /data
EXPOSE 8080
# 200 once started (no answer or 503 before). /healthz/ready, when the server has it, also checks the
# database and Redis: switch to it then (compose.yaml has the same check).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"
# All options can be given as MEETSRV_* variables (see README).
CMD ["twistd", "-n", "--pidfile=", "meetsrv", "--port", "tcp:8080"]
