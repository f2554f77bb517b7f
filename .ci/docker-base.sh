# Sourced by .ci/run: a Docker engine for tests/container, on a private socket.
#
# Starts dockerd with its own socket, data root and exec root in a temporary folder, with no
# bridge and no iptables rules (containers use --network host, so nothing leaves 127.0.0.1);
# makes the Dockerfile's base image locally when it is missing, because Docker Hub cannot be
# reached here (debootstrap a Debian rootfs with Python and `docker import` it under the base's
# tag, as shared/research/containers.md shows); exports DOCKER_HOST, and MOCKSERVER_BUILD_BASE
# (that tag, the build's BASE) for the tests; and stops dockerd when the sourcing shell exits.
# Environment-specific: the Dockerfile stays standard.
#
# Settings (environment):
#   CI_DOCKER_DATA_ROOT  keep images here between runs (default: in the temporary folder)
#   CI_DEBIAN_MIRROR     debootstrap mirror (default: the first one apt's sources name)

_ci_docker_dir=$(mktemp -d /tmp/mockserver-docker.XXXXXX)
_ci_docker_pid=""

_ci_docker_stop() {
    local rc=$?
    if [ -n "$_ci_docker_pid" ]; then
        echo "docker-base: stopping dockerd (pid $_ci_docker_pid)"
        kill "$_ci_docker_pid" 2>/dev/null || true
        wait "$_ci_docker_pid" 2>/dev/null || true
        _ci_docker_pid=""
    fi
    # dockerd leaves its default network namespace mounted under the exec root.
    umount "$_ci_docker_dir/exec/netns/default" 2>/dev/null || true
    rm -rf "$_ci_docker_dir" 2>/dev/null || true
    exit "$rc"
}

_ci_docker_mirror() {
    if [ -n "${CI_DEBIAN_MIRROR:-}" ]; then
        echo "$CI_DEBIAN_MIRROR"
        return
    fi
    local uri
    uri=$(
        {
            grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
            grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                sed -E 's/^deb +(\[[^]]*\] +)?//' | awk '{print $1}'
        } | grep -v security | head -n 1
    )
    echo "${uri:-http://deb.debian.org/debian}"
}

_ci_docker_wait() {
    local deadline=$((SECONDS + 30))
    until docker version >/dev/null 2>&1; do
        if ! kill -0 "$_ci_docker_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            echo "docker-base: dockerd did not come up; its log:" >&2
            tail -n 30 "$_ci_docker_dir/dockerd.log" >&2
            return 1
        fi
        sleep 0.2
    done
}

# The stand-in for python:3.11-slim-bookworm: Debian bookworm's Python 3.11 with pip, trusting the
# machine's TLS egress CA (PyPI is reached through an intercepting proxy).
_ci_docker_base_image() {
    local image=$1 rootfs="$_ci_docker_dir/rootfs" mirror started=$SECONDS
    mirror=$(_ci_docker_mirror)
    echo "docker-base: making $image with debootstrap from $mirror"
    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
        bookworm "$rootfs" "$mirror" >"$_ci_docker_dir/debootstrap.log" 2>&1 || {
        tail -n 30 "$_ci_docker_dir/debootstrap.log" >&2
        return 1
    }
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    fi
    chroot "$rootfs" update-ca-certificates >>"$_ci_docker_dir/debootstrap.log" 2>&1
    rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED # pip behaves as in the official image
    ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
    ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV PIP_ROOT_USER_ACTION=ignore' \
        --change 'CMD ["python3"]' - "$image" >/dev/null
    rm -rf "$rootfs"
    echo "docker-base: $image made in $((SECONDS - started)) s"
}

trap _ci_docker_stop EXIT
export DOCKER_HOST="unix://$_ci_docker_dir/docker.sock"
_ci_docker_data=${CI_DOCKER_DATA_ROOT:-$_ci_docker_dir/data}
mkdir -p "$_ci_docker_data"
dockerd --host "$DOCKER_HOST" --data-root "$_ci_docker_data" --exec-root "$_ci_docker_dir/exec" \
    --pidfile "$_ci_docker_dir/docker.pid" --bridge=none --iptables=false \
    >"$_ci_docker_dir/dockerd.log" 2>&1 &
_ci_docker_pid=$!
_ci_docker_wait
echo "docker-base: dockerd $(docker version --format '{{.Server.Version}}') on $DOCKER_HOST"
# The Dockerfile's base is ARG BASE, pinned by digest. A digest names an image only as the
# registry served it, so the stand-in is made under the tag before the "@" and the build is
# given it as BASE: the tests' image fixture passes MOCKSERVER_BUILD_BASE on.
_ci_docker_from=$(sed -nE 's/^ARG BASE=([^@[:space:]]+).*$/\1/p' Dockerfile | head -n 1)
if [ -z "$_ci_docker_from" ]; then
    echo "docker-base: no ARG BASE=... line in the Dockerfile" >&2
    exit 1
fi
if ! docker image inspect "$_ci_docker_from" >/dev/null 2>&1; then
    _ci_docker_base_image "$_ci_docker_from"
fi
export MOCKSERVER_BUILD_BASE=$_ci_docker_from
# The container tests fail, rather than skip, when this engine cannot be reached.
export MOCKSERVER_REQUIRE_DOCKER=1
