# mockserver for staging and integration environments: configured by MOCKSERVER_* variables,
# stubs in the /stubs volume (the bundled examples until one is mounted).
#
#   docker build -t mockserver . && docker run -p 8080:8080 -v "$PWD/stubs:/stubs" mockserver

# Stage 1: wheels of mockserver (from this source tree) and of every dependency.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mockserver/ mockserver/
# The fast extra: uvloop, for the most requests a second (MOCKSERVER_LOOP=asyncio opts out);
# the container extra: dumb-init, PID 1 (see ENTRYPOINT).
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[fast,container]"

# Stage 2: those wheels installed, no network needed, no build tools kept.
FROM python:3.11-slim
LABEL org.opencontainers.image.title="mockserver" \
      org.opencontainers.image.description="Stub files served as real HTTP services, for tests and staging"
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-index --find-links=/tmp/wheels /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && groupadd --gid 10001 mockserver \
    && useradd --uid 10001 --gid 10001 --no-log-init --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin mockserver
COPY stubs/ /stubs/
# Inside a container the server binds every interface; with no MOCKSERVER_ADMIN_TOKEN (or an
# empty one) it then generates an admin token that it shows only on a terminal, so the admin
# API is never open by accident (MOCKSERVER_ADMIN_OPEN=1 opens it on purpose).
ENV MOCKSERVER_HOST=0.0.0.0 \
    MOCKSERVER_PORT=8080 \
    MOCKSERVER_STUBS=/stubs \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
VOLUME ["/stubs"]
EXPOSE 8080
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["mockserver", "healthcheck"]
# dumb-init is PID 1: it handles SIGTERM from its first instruction and passes it on (a PID 1
# without a handler ignores it, and the server installs its own only once Python has started),
# and it reaps orphaned children (docker exec ... 'sleep 1 &'). It needs no writable file.
# The server is its child and stops cleanly on SIGTERM (exit 0); `args:` in Kubernetes keep
# this entrypoint, `command:` would replace it.
ENTRYPOINT ["dumb-init", "--", "mockserver"]
CMD ["serve"]
