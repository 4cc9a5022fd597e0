# One image for every process: `serve` (default), `worker` or `scheduler`.
FROM python:3.11-slim AS build
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY api ./api
COPY cases ./cases
COPY core ./core
COPY migrations ./migrations
COPY reminders ./reminders
COPY schema ./schema
RUN uv sync --locked --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app dispensary
WORKDIR /app
COPY --from=build --chown=dispensary:dispensary /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    DISPENSARY_ENVIRONMENT=production \
    DISPENSARY_LOG_JSON=true
USER dispensary
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["dispensary"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
