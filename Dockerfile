# taskrouter-emulator: a local Twilio TaskRouter. Listens on 8080; data in /data (SQLite) unless
# TASKROUTER_DATABASE_URL points at PostgreSQL.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 emulator && mkdir /data && chown emulator /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER emulator
WORKDIR /data
ENV TASKROUTER_DATABASE_URL=sqlite:////data/taskrouter.db
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/emulator/health')"
CMD ["taskrouter-emulator", "serve", "--host", "0.0.0.0", "--port", "8080"]
