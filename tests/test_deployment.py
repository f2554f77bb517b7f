"""What staging deploys: the Kubernetes manifests (valid against the API schemas, meeting the
"restricted" Pod Security Standard), the compose files' hardening, the image's pinned base and
its locks of what it installs. tests/container builds and runs the image itself."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

from mockserver import load_paths
from mockserver.core.version import __version__

REPO = Path(__file__).resolve().parents[1]
KUBERNETES = REPO / "examples" / "kubernetes"
COMPOSE = REPO / "examples" / "compose"
MANIFESTS = sorted(KUBERNETES.glob("*.yaml"))
IMAGE = f"mockserver:{__version__}"
PINNED = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")
# The image's platform, for the markers of what it installs.
IMAGE_PLATFORM = default_environment() | {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.11",
    "python_full_version": "3.11.16",
}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def by_kind(path: Path) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in documents(path)}


def validate(*paths: Path, version: str | None = None) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "kubernetes-validate"
    assert tool.exists(), "kubernetes-validate comes with the test extra"
    option = ["--kubernetes-version", version] if version else []
    return subprocess.run(
        [str(tool), "--strict", *option, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- Kubernetes ----------------------------------------------------------------------------


def test_every_manifest_is_an_example_of_kubernetes() -> None:
    """No manifest elsewhere in examples/ escapes the checks below."""
    elsewhere = [
        path
        for path in (REPO / "examples").rglob("*.y*ml")
        if path.parent != KUBERNETES and re.search(r"^kind:", path.read_text(), re.MULTILINE)
    ]
    assert elsewhere == []
    assert [p.name for p in MANIFESTS] == ["mockserver.yaml", "redis.yaml"]


# 1.30: the first release where the preStop `sleep` action is on by default.
@pytest.mark.parametrize("version", [None, "1.30.0"], ids=["newest", "1.30"])
def test_the_manifests_pass_strict_schema_validation(version: str | None) -> None:
    result = validate(*MANIFESTS, version=version)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = [line for line in result.stdout.splitlines() if " passed for resource " in line]
    assert len(passed) == sum(len(documents(p)) for p in MANIFESTS), result.stdout


def test_strict_validation_rejects_a_misspelled_field(tmp_path: Path) -> None:
    """The check above can fail: a key Kubernetes would silently drop is an error."""
    text = (KUBERNETES / "mockserver.yaml").read_text(encoding="utf-8")
    misspelled = tmp_path / "mockserver.yaml"
    misspelled.write_text(text.replace("readOnlyRootFilesystem", "readOnlyRootFileSystem"))
    result = validate(misspelled)
    assert result.returncode != 0
    assert "'readOnlyRootFileSystem' was unexpected" in result.stdout + result.stderr


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_pod_meets_the_restricted_pod_security_standard(path: Path) -> None:
    deployment = by_kind(path)["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"].get("runAsUser", 1) != 0
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
    # Only the volume types the standard allows (these, among others; no hostPath).
    assert all(set(v) - {"name"} <= {"configMap", "emptyDir", "secret"} for v in pod["volumes"])
    for container in pod["containers"]:
        assert all("hostPort" not in port for port in container["ports"])
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert ":" in container["image"]
        assert not container["image"].endswith(":latest")
        assert "limits" in container["resources"]


def test_three_mockserver_replicas_share_the_redis_service() -> None:
    docs = by_kind(KUBERNETES / "mockserver.yaml")
    redis = by_kind(KUBERNETES / "redis.yaml")
    assert (set(docs), set(redis)) == (
        {"ConfigMap", "Deployment", "Service"},
        {"Deployment", "Service", "NetworkPolicy"},
    )
    deployment = docs["Deployment"]
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,  # the image's numeric user, so any uid a platform assigns works
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["containers"]
    assert container["image"] == IMAGE  # the release it runs, the package's version
    assert container["args"] == ["serve", "--watch"]
    env = {e["name"]: e for e in container["env"]}
    state = env["MOCKSERVER_STATE"]["value"]
    host, port = re.fullmatch(r"redis://([\w-]+):(\d+)/0", state).groups()  # type: ignore[union-attr]
    assert host == redis["Service"]["metadata"]["name"]
    assert int(port) in [p["port"] for p in redis["Service"]["spec"]["ports"]]
    redis_labels = redis["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert redis["Service"]["spec"]["selector"] == redis_labels
    # The token is one Secret every replica reads; required, so no pod runs without it.
    assert env["MOCKSERVER_ADMIN_TOKEN"]["valueFrom"] == {
        "secretKeyRef": {"name": "mockserver-admin", "key": "token"}
    }
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/__admin/health", "port": "users"}
    # Endpoints drain before SIGTERM; then the server's own shutdown (5 s) fits in the grace.
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pause > 0
    assert pause + 5 < pod["terminationGracePeriodSeconds"]
    assert container["volumeMounts"] == [
        {"name": "stubs", "mountPath": "/stubs", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    assert {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}} in pod["volumes"]
    selector = docs["Service"]["spec"]["selector"]
    assert selector == deployment["spec"]["template"]["metadata"]["labels"]
    # Only the mockserver pods reach Redis.
    policy = redis["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"] == redis_labels
    assert policy["ingress"][0]["from"] == [{"podSelector": {"matchLabels": selector}}]


def test_redis_keeps_nothing_and_is_pinned_by_digest() -> None:
    pod = by_kind(KUBERNETES / "redis.yaml")["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert PINNED.match(container["image"]), container["image"]
    args = container["args"]
    assert args[:5] == ["redis-server", "--save", "", "--appendonly", "no"]
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (999, 999)


def test_the_configmap_stubs_load_on_the_ports_the_pod_declares(tmp_path: Path) -> None:
    docs = by_kind(KUBERNETES / "mockserver.yaml")
    for name, text in docs["ConfigMap"]["data"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    stubs = load_paths([str(tmp_path)])
    (container,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    declared = {name: spec.port or 8080 for name, spec in stubs.services.items()}
    assert declared == ports
    service_ports = {p["targetPort"] for p in docs["Service"]["spec"]["ports"]}
    assert service_ports == set(ports)
    volumes = docs["Deployment"]["spec"]["template"]["spec"]["volumes"]
    configmap = docs["ConfigMap"]["metadata"]["name"]
    assert {"name": "stubs", "configMap": {"name": configmap}} in volumes


# -- compose -------------------------------------------------------------------------------


def test_the_compose_replicas_share_redis_and_are_hardened() -> None:
    services = yaml.safe_load((COMPOSE / "replicas.yml").read_text(encoding="utf-8"))["services"]
    double, redis = services["mockserver"], services["redis"]
    assert double["deploy"]["replicas"] == 3
    assert double["environment"]["MOCKSERVER_STATE"] == "redis://redis:6379/0"
    # Required: compose refuses to start without it (one token shared by the replicas).
    assert double["environment"]["MOCKSERVER_ADMIN_TOKEN"].startswith("${MOCKSERVER_ADMIN_TOKEN:?")
    assert double["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert (double["image"], (COMPOSE / double["build"]).resolve()) == (IMAGE, REPO)
    for service in (double, redis):
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert service["security_opt"] == ["no-new-privileges:true"]
    assert double["tmpfs"] == ["/tmp:size=16m"]
    assert redis["user"] == "999:999"
    # The same Redis, pinned by the same digest, as the Kubernetes example.
    (k8s_redis,) = by_kind(KUBERNETES / "redis.yaml")["Deployment"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert PINNED.match(redis["image"]), redis["image"]
    assert redis["image"] == k8s_redis["image"]
    assert redis["command"] == k8s_redis["args"]
    (stubs,) = double["volumes"]
    host, inside, mode = stubs.split(":")
    assert (inside, mode) == ("/stubs", "ro")
    assert sorted(load_paths([str(COMPOSE / host)]).services) == ["users"]


def test_no_example_runs_an_unpinned_mockserver() -> None:
    for path in (COMPOSE / "docker-compose.yml", COMPOSE / "replicas.yml"):
        services = yaml.safe_load(path.read_text(encoding="utf-8"))["services"]
        images = {s["image"] for s in services.values() if "build" in s}
        assert images == {IMAGE}, path


# -- the image's base and locks ------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.replace("\\\n", " ").splitlines() if line.strip()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in lines)
        if not word.startswith("#")
    ]


def dockerfile_args() -> dict[str, str]:
    """The Dockerfile's ARG defaults."""
    return dict(r.split("=", 1) for w, r in dockerfile_instructions() if w == "ARG" and "=" in r)


def test_both_stages_start_from_the_base_pinned_by_digest() -> None:
    instructions = dockerfile_instructions()
    args = dockerfile_args()
    assert PINNED.match(args["BASE"]), args["BASE"]
    froms = [rest for word, rest in instructions if word == "FROM"]
    assert froms == ["${BASE} AS build", "${BASE}"]
    assert args["VERSION"] == __version__  # the version label's default
    # The compose example's app runs on the same Python.
    services = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text(encoding="utf-8"))
    assert services["services"]["app"]["image"] == args["BASE"]


def test_ci_makes_its_stand_in_under_the_base_tag() -> None:
    """.ci/docker-base.sh reads the tag out of ARG BASE (a digest cannot name a local image)."""
    script = (REPO / ".ci" / "docker-base.sh").read_text(encoding="utf-8")
    (line,) = [x for x in script.splitlines() if x.startswith("_ci_docker_from=")]
    shown = subprocess.run(
        ["bash", "-c", f'{line}\nprintf %s "$_ci_docker_from"'],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert shown == dockerfile_args()["BASE"].partition("@")[0] == "python:3.11-slim-bookworm"
    assert "export MOCKSERVER_BUILD_BASE=$_ci_docker_from" in script


def test_the_final_stage_runs_no_package_manager() -> None:
    instructions = dockerfile_instructions()
    last = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    runs = [rest for word, rest in instructions[last:] if word == "RUN"]
    assert runs, "the final stage adds its user"
    assert not [run for run in runs if re.search(r"\b(pip|apt|apt-get|dpkg)\b", run)]
    # ... and the build stage installs nothing a lock does not name with its hash.
    commands = [c for word, rest in instructions[:last] if word == "RUN" for c in rest.split("&&")]
    from_locks = [c for c in commands if "pip" in c and " install " in c and " -r " in c]
    assert len(from_locks) == 2, commands
    assert all("--require-hashes" in c for c in from_locks)


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """{name: (version, number of hashes)} of a `--generate-hashes` requirements file."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        found = re.match(r"^([A-Za-z0-9._-]+)==(\S+)(.*)$", line)
        if found:
            name, version, rest = found.groups()
            pins[name.lower().replace("_", "-")] = (version, rest.count("--hash=sha256:"))
    return pins


def assert_locked(requirements: list[str], lock: Path) -> None:
    pins = locked(lock)
    assert pins, lock
    assert all(hashes > 0 for _, hashes in pins.values()), lock
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate(IMAGE_PLATFORM):  # type: ignore[arg-type]
            continue
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{lock.name} lacks {text}: run the command at its top"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (text, pins[name])


def test_the_image_lock_satisfies_what_the_project_needs() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    extras = project["optional-dependencies"]
    assert_locked(
        project["dependencies"] + extras["fast"] + extras["container"], REPO / "locks/image.txt"
    )
    assert_locked(pyproject["build-system"]["requires"], REPO / "locks/image-build.txt")
