FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md schema.sql ./
COPY src ./src
RUN pip install --no-cache-dir .
RUN useradd --create-home meetsrv && mkdir -p /data && chown meetsrv /data
USER meetsrv
WORKDIR /data
EXPOSE 8080
# All options can be given as MEETSRV_* variables (see README).
CMD ["twistd", "-n", "--pidfile=", "meetsrv", "--port", "tcp:8080"]
