"""The images the compose labs build on, proven on a real engine the way those labs use them: postgres:17
(the POSTGRES_* contract, secrets, first start versus later starts, password auth from another container,
clean stop) and MLflow's tracking server writing to it. The tests hold for the official images too, so a
machine that pulled them runs the same proofs. Everything a test makes carries the grading labels and is
removed when it ends; the images under test are left alone."""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import docker.errors
import pytest
import requests
from docker.models.containers import Container

from graders import engine, images
from graders.engine import client
from graders.exec_probe import exec_in
from graders.labels import RUN_LABEL, image_tag, new_run_id, run_labels

pytestmark = [pytest.mark.engine, pytest.mark.slow]

POSTGRES = images.POSTGRES_IMAGE
MLFLOW = images.MLFLOW_IMAGE
LAB = "stand-ins"  # the lab id on the labels, so a sweep can find what a crashed test left
PGDATA = "/var/lib/postgresql/data"
READY_S = 90  # PostgreSQL initialises in seconds; this bounds a broken image, not a slow one
MLFLOW_READY_S = 240  # MLflow creates its schema in PostgreSQL on first start (about 25 s here)


@pytest.fixture(scope="module", autouse=True)
def images_present() -> None:
    """Pulled where a registry answers, else the stand-ins (built here if missing: minutes)."""
    images.prepare([POSTGRES, MLFLOW, images.REGISTRY_IMAGE], say=lambda _message: None)


def _tar(files: dict[str, tuple[str, int]]) -> bytes:
    """A tar of text files with their modes, owned by root, with the folders they sit in."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folders = {name.rsplit("/", 1)[0] for name in files if "/" in name}
        for folder in sorted(folders):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, (text, mode) in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Scene:
    """The containers, network, volumes and image one test makes, all under one run id."""

    def __init__(self) -> None:
        self.run_id = new_run_id()
        self.labels = run_labels(self.run_id, LAB)
        self.network = client().networks.create(f"mastery-{self.run_id}", labels=self.labels)
        self.built: list[str] = []

    def name(self, role: str) -> str:
        return f"mastery-{self.run_id}-{role}"

    def volume(self, role: str) -> str:
        return str(client().volumes.create(self.name(role), labels=self.labels).name)

    def build(self, dockerfile: str) -> str:
        tag = image_tag(LAB, self.run_id)
        self.built.append(tag)
        client().images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, forcerm=True, timeout=900)
        return tag

    def start(self, image: str, command: list[str] | None = None, *, role: str | None = None,
              env: dict[str, str] | None = None, volume: str | None = None,
              files: dict[str, dict[str, tuple[str, int]]] | None = None, publish: int | None = None) -> Container:
        """A container on the scene's network, started with files put in first (as a bind mount or a
        secret would have them there from the first instant)."""
        container = client().containers.create(
            image, command, name=self.name(role) if role else None, environment=env or {}, labels=self.labels,
            network=self.network.name, volumes={volume: {"bind": PGDATA, "mode": "rw"}} if volume else None,
            ports={f"{publish}/tcp": (engine.site().publish_on, None)} if publish else None)
        for folder, members in (files or {}).items():
            assert container.put_archive(folder, _tar(members))
        container.start()
        return container

    def once(self, image: str, command: list[str] | None = None, env: dict[str, str] | None = None,
             timeout: float = 90) -> tuple[int, str]:
        """Run a container to its end; its exit code and output. It is removed afterwards."""
        container = self.start(image, command, env=env)
        try:
            code = int(container.wait(timeout=timeout)["StatusCode"])
            return code, container.logs().decode(errors="replace")
        finally:
            container.remove(force=True, v=True)

    def close(self) -> None:
        for container in client().containers.list(all=True, filters={"label": f"{RUN_LABEL}={self.run_id}"}):
            container.remove(force=True, v=True)
        for tag in self.built:
            with suppress(docker.errors.ImageNotFound):
                client().images.remove(tag, force=True)  # pruned: its layers were made for this test only
        engine.sweep(self.run_id)


@contextmanager
def scene() -> Iterator[Scene]:
    made = Scene()
    try:
        yield made
    finally:
        made.close()


def wait_until(what: str, probe: Callable[[], bool], timeout: float, container: Container) -> float:
    """Poll probe until it holds; fail with the container's log tail if it exits or time runs out."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if probe():
            return time.monotonic() - start
        container.reload()
        if container.status == "exited":
            pytest.fail(f"{what}: the container exited ({container.attrs['State']['ExitCode']}):\n{_tail(container)}")
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {timeout:.0f} s:\n{_tail(container)}")


def _tail(container: Container, lines: int = 30) -> str:
    return "\n".join(container.logs().decode(errors="replace").splitlines()[-lines:])


def in_container(container: Container, *argv: str) -> tuple[int, str]:
    code, output = exec_in(container.id, list(argv), 60)
    return code, output.strip()


def wait_for_postgres(db: Container, user: str, database: str) -> None:
    """Ready over TCP: the server the entrypoint runs while initialising listens on its socket only."""
    probe = ("pg_isready", "-h", "127.0.0.1", "-U", user, "-d", database)
    wait_until("PostgreSQL accepting TCP connections", lambda: in_container(db, *probe)[0] == 0, READY_S, db)


def psql(scene: Scene, db: Container, user: str, password: str, database: str, sql: str) -> tuple[int, str]:
    """psql from a second container over the network, authenticating with a password."""
    code, out = scene.once(POSTGRES, ["psql", "-h", str(db.name), "-U", user, "-d", database, "-v", "ON_ERROR_STOP=1",
                                      "-tAc", sql], env={"PGPASSWORD": password})
    return code, out.strip()


INIT_SQL = "CREATE TABLE init_runs (script text); INSERT INTO init_runs VALUES ('sql'); CREATE TABLE notes (body text);\n"
INIT_SH = 'psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c "INSERT INTO init_runs VALUES (\'sh\')"\n'
RUNS = "SELECT string_agg(script, ',' ORDER BY script) FROM init_runs"


def test_postgres_initialises_once_authenticates_and_keeps_its_data(no_leftovers: None) -> None:
    env = {"POSTGRES_USER": "mastery", "POSTGRES_PASSWORD": "first-pw", "POSTGRES_DB": "lab"}
    with scene() as sc:
        data = sc.volume("data")
        init = {"/docker-entrypoint-initdb.d": {"10-schema.sql": (INIT_SQL, 0o644), "20-seed.sh": (INIT_SH, 0o644)}}
        db = sc.start(POSTGRES, role="db", env=env, volume=data, files=init)
        wait_for_postgres(db, "mastery", "lab")

        assert in_container(db, "sh", "-c", 'pg_isready -U "$POSTGRES_USER" -d "$POSTGRES_DB"')[0] == 0  # compose's healthcheck
        assert in_container(db, "stat", "-c", "%U", "/proc/1") == (0, "postgres")  # the server is PID 1, not root
        assert in_container(db, "cat", "/proc/1/comm") == (0, "postgres")
        scram = "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'mastery'"
        assert in_container(db, "psql", "-U", "mastery", "-d", "lab", "-tAc", scram) == (0, "t")

        assert psql(sc, db, "mastery", "first-pw", "lab", RUNS) == (0, "sh,sql")
        code, out = psql(sc, db, "mastery", "wrong-pw", "lab", "SELECT 1")
        assert code != 0 and 'password authentication failed for user "mastery"' in out, out
        assert psql(sc, db, "mastery", "first-pw", "lab", "INSERT INTO notes VALUES ('kept')")[0] == 0

        started = time.monotonic()
        db.stop(timeout=30)
        stopped_in = time.monotonic() - started
        db.reload()
        assert db.attrs["State"]["ExitCode"] == 0 and "database system is shut down" in _tail(db, 5), _tail(db)
        assert stopped_in < 10, f"docker stop took {stopped_in:.1f} s: the server did not shut down fast"
        db.remove()

        # A new container on the same volume starts the existing cluster: no initialisation, no init
        # scripts, and a changed POSTGRES_PASSWORD does not change the stored one.
        db = sc.start(POSTGRES, role="db2", env={**env, "POSTGRES_PASSWORD": "changed-pw"}, volume=data)
        wait_for_postgres(db, "mastery", "lab")
        assert "Skipping initialization" in db.logs().decode()
        assert psql(sc, db, "mastery", "first-pw", "lab", "SELECT body FROM notes") == (0, "kept")
        assert psql(sc, db, "mastery", "first-pw", "lab", RUNS) == (0, "sh,sql")
        assert psql(sc, db, "mastery", "changed-pw", "lab", "SELECT 1")[0] != 0


def test_postgres_reads_its_password_from_a_secret_file(no_leftovers: None) -> None:
    env = {"POSTGRES_USER": "app", "POSTGRES_PASSWORD_FILE": "/run/secrets/db_password"}  # POSTGRES_DB defaults to the user
    secret = {"/run": {"secrets/db_password": ("from-a-secret\n", 0o400)}}  # root's, mode 0400, like a secret can be
    with scene() as sc:
        db = sc.start(POSTGRES, role="db", env=env, files=secret)
        wait_for_postgres(db, "app", "app")
        assert psql(sc, db, "app", "from-a-secret", "app", "SELECT current_user || '@' || current_database()") == (0, "app@app")
        assert psql(sc, db, "app", "from-a-secret\n", "app", "SELECT 1")[0] != 0  # the file's newline is not part of it


def test_postgres_refuses_to_start_without_a_password_unless_told_to_trust(no_leftovers: None) -> None:
    with scene() as sc:
        code, out = sc.once(POSTGRES)
        assert code != 0 and "superuser password is not specified" in out, out

        db = sc.start(POSTGRES, role="db", env={"POSTGRES_HOST_AUTH_METHOD": "trust"})
        wait_for_postgres(db, "postgres", "postgres")
        assert psql(sc, db, "postgres", "", "postgres", "SELECT current_user") == (0, "postgres")


REGISTRY_PROBE = """\
import json, sys, time, urllib.request
for _ in range(100):
    try:
        answer = urllib.request.urlopen(sys.argv[1] + "/v2/", timeout=3)
        break
    except OSError:
        time.sleep(0.1)
print(answer.status, answer.headers["Docker-Distribution-Api-Version"], json.dumps(json.load(answer)))
print(urllib.request.urlopen(sys.argv[1] + "/v2/_catalog", timeout=3).read().decode())
"""


def test_registry_serves_the_api_without_authentication_and_stores_in_its_volume(no_leftovers: None) -> None:
    """The registry lab's contract: `registry serve` on port 5000, no login, blobs under /var/lib/registry."""
    with scene() as sc:
        reg = sc.start(images.REGISTRY_IMAGE, role="reg")
        code, out = sc.once("python:3.13-slim", ["python", "-c", REGISTRY_PROBE, f"http://{sc.name('reg')}:5000"])
        assert code == 0, out
        assert out.splitlines()[:2] == ["200 registry/2.0 {}", '{"repositories":[]}'], out
        mounts = {m["Destination"]: m["Type"] for m in client().api.inspect_container(reg.id)["Mounts"]}
        assert mounts == {"/var/lib/registry": "volume"}


MLFLOW_WITH_DRIVER = f"FROM {MLFLOW}\nRUN pip install --no-cache-dir psycopg2-binary\n"
HOST_HEADER_PROBE = """\
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=30).status)
except urllib.error.HTTPError as exc:
    print(exc.code, exc.read().decode())
"""


def test_mlflow_tracks_a_run_in_postgres(no_leftovers: None) -> None:
    """As the compose labs do: MLflow's image plus psycopg2-binary, its backend store in PostgreSQL.
    SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, so the URI names the psycopg2 driver."""
    with scene() as sc:
        tracking = sc.build(MLFLOW_WITH_DRIVER)
        db = sc.start(POSTGRES, role="db", env={"POSTGRES_USER": "mlflow", "POSTGRES_PASSWORD": "mlflow-pw",
                                                "POSTGRES_DB": "mlflow"})
        wait_for_postgres(db, "mlflow", "mlflow")
        store = f"postgresql+psycopg2://mlflow:mlflow-pw@{db.name}:5432/mlflow"
        server = sc.start(tracking, ["mlflow", "server", "--backend-store-uri", store, "--host", "0.0.0.0", "--port", "5000"],
                          role="mlflow", publish=5000)
        server.reload()
        api = f"http://{engine.site().published_host}:{server.ports['5000/tcp'][0]['HostPort']}"
        wait_until("MLflow answering /health", lambda: _answers(f"{api}/health"), MLFLOW_READY_S, server)

        experiment = _post(api, "experiments/create", {"name": f"stand-in-proof-{sc.run_id}"})["experiment_id"]
        run = _post(api, "runs/create", {"experiment_id": experiment, "start_time": int(time.time() * 1000)})
        run_id = run["run"]["info"]["run_id"]
        _post(api, "runs/log-metric", {"run_id": run_id, "key": "rmse", "value": 0.25,
                                       "timestamp": int(time.time() * 1000), "step": 1})
        rows = in_container(db, "psql", "-U", "mlflow", "-d", "mlflow", "-tAc", "select key, value from metrics")
        assert rows == (0, "rmse|0.25"), rows

        # From another container by name, MLflow refuses the Host header unless --allowed-hosts lists it:
        # compose files must say so (its /health answers anyway).
        code, out = sc.once(tracking, ["python", "-c", HOST_HEADER_PROBE, f"http://{server.name}:5000/api/2.0/mlflow/experiments/search?max_results=1"])
        assert code == 0 and out.startswith("403") and "Invalid Host header" in out, out


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _post(api: str, endpoint: str, body: dict[str, object]) -> Any:
    response = requests.post(f"{api}/api/2.0/mlflow/{endpoint}", json=body, timeout=30)
    assert response.status_code == 200, f"{endpoint}: {response.status_code} {response.text[:300]}"
    return json.loads(response.text)


def test_a_stand_in_made_by_an_older_recipe_is_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A learner's machine keeps its stand-ins between course releases: one whose recipe changed since
    (its revision label differs) is rebuilt by `prepare`, not kept because the tag is there, and the old
    image is removed, not left untagged."""
    ref = f"mastery-test/stand-in:{new_run_id()}"
    made: list[str] = []
    try:
        for content in ("one", "two"):
            monkeypatch.setitem(images.RECIPES, ref, images.Recipe(
                base="debian:trixie-slim", lines=(f"RUN echo {content} > /made-by",)))
            if made:
                assert images.status(ref).stale, "a changed recipe must make the stand-in out of date"
            (current,) = images.prepare([ref], offline=True, say=lambda _message: None)
            assert current.present and current.stand_in and not current.stale, current
            made.append(client().images.get(ref).id)
            if len(made) > 1:
                with pytest.raises(docker.errors.ImageNotFound):  # not left behind untagged
                    client().images.get(made[0])
            out = client().containers.run(ref, ["cat", "/made-by"], remove=True, labels=run_labels(new_run_id(), LAB))
            assert out.decode().strip() == content
        assert made[0] != made[1]
    finally:
        for image_id in reversed(made):
            with suppress(docker.errors.ImageNotFound, docker.errors.APIError):
                client().images.remove(image_id, force=True)
