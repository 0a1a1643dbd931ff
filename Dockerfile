# The Taskly server image: `taskly-server run|worker|migrate` (see docker-compose.yml).
FROM python:3.11-slim AS build

RUN pip install --no-cache-dir uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app

# Dependencies first (cached while only our code changes), then the server and shared packages.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY server/pyproject.toml server/pyproject.toml
COPY cli/pyproject.toml cli/pyproject.toml
RUN uv sync --frozen --no-dev --package taskly-server --no-install-workspace
COPY shared shared
COPY server server
RUN uv sync --frozen --no-dev --package taskly-server --no-editable

FROM python:3.11-slim

RUN useradd --system --create-home --home-dir /home/taskly taskly
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 TASKLY_HOME=/home/taskly
USER taskly
WORKDIR /home/taskly
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2)"
CMD ["taskly-server", "run", "--host", "0.0.0.0", "--port", "8000"]
