# mockserver for staging and integration environments: configured by MOCKSERVER_* variables,
# stubs in the /stubs volume (the bundled examples until one is mounted).
#
#   docker build -t mockserver . && docker run -p 8080:8080 -v "$PWD/stubs:/stubs" mockserver
#
# Labels for a release: --build-arg REVISION="$(git rev-parse HEAD)" --build-arg SOURCE=<repo URL>.

# Both stages start from the same base, pinned by digest (the multi-platform index of
# python:3.11-slim-bookworm, Python 3.11.16, as docker-library/repo-info records it): a tag
# moves, a digest does not. Where Docker Hub cannot be reached, --build-arg BASE=<a local
# image> builds from a stand-in (.ci/docker-base.sh makes one and passes it).
ARG BASE=python:3.11-slim-bookworm@sha256:0bee7276f83efd4a1ee05bbbf4281d95ed28e079220a9457f25a93e3f1e3c31b

# Stage 1: a virtual environment at /opt/mockserver, with no pip in it, holding mockserver and
# exactly the files locks/image.txt names, each checked against its hash.
FROM ${BASE} AS build
WORKDIR /src
COPY locks/ locks/
# hatchling, hash-checked too, builds mockserver's wheel in a venv that is not shipped.
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: \
       -r locks/image-build.txt \
    && python -m venv --without-pip /opt/mockserver \
    && /opt/build/bin/pip --python /opt/mockserver/bin/python install --no-cache-dir \
       --require-hashes --only-binary=:all: -r locks/image.txt
# The source after the dependencies, so an edit of it reuses the layer above.
COPY pyproject.toml README.md ./
COPY mockserver/ mockserver/
RUN /opt/build/bin/pip wheel --no-cache-dir --no-build-isolation --no-deps --wheel-dir /tmp/dist . \
    && /opt/build/bin/pip --python /opt/mockserver/bin/python install --no-cache-dir --no-deps \
       --no-index /tmp/dist/mockserver-*.whl

# Stage 2: the base, a user, the venv and the bundled stubs; no pip or apt runs here, and no
# layer holds what a later one replaces (tests/container/test_image_build.py).
FROM ${BASE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="mockserver" \
      org.opencontainers.image.description="Stub files served as real HTTP services, for tests and staging" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --gid 10001 mockserver \
    && useradd --uid 10001 --gid 10001 --no-log-init --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin mockserver
COPY --from=build /opt/mockserver /opt/mockserver
COPY stubs/ /stubs/
# Inside a container the server binds every interface; with no MOCKSERVER_ADMIN_TOKEN (or an
# empty one) it then generates an admin token that it shows only on a terminal, so the admin
# API is never open by accident (MOCKSERVER_ADMIN_OPEN=1 opens it on purpose).
ENV PATH=/opt/mockserver/bin:$PATH \
    MOCKSERVER_HOST=0.0.0.0 \
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
