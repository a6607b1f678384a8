# taskrouter-emulator: a local Twilio TaskRouter. Listens on 8080; data in the /data volume (SQLite)
# unless TASKROUTER_DATABASE_URL points at PostgreSQL. Dependency versions are pinned by
# constraints.txt (regenerate with `make constraints`).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini constraints.txt ./
COPY src ./src
COPY migrations ./migrations
# Wheels of the emulator and of every dependency, at the pinned versions.
RUN pip wheel --no-cache-dir --wheel-dir /wheels --constraint constraints.txt .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 emulator && mkdir /data && chown emulator /data
COPY --from=build /wheels /wheels
# Only the pinned wheels built above: nothing is resolved again here.
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
USER emulator
WORKDIR /data
ENV TASKROUTER_DATABASE_URL=sqlite:////data/taskrouter.db
# The SQLite file (and its -wal/-shm companions) live here: mount a volume to keep them.
VOLUME ["/data"]
EXPOSE 8080
# Migrations run before the server listens, so give a first start (empty database) time.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/emulator/health', timeout=2)"]
CMD ["taskrouter-emulator", "serve", "--host", "0.0.0.0", "--port", "8080"]
