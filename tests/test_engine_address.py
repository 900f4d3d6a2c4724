"""Which engine the grader uses, by the Docker CLI's order: --engine, DOCKER_HOST, the current context, the
local socket; and what follows from it (published-port address, whether host folders can be mounted)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from graders import engine
from graders.engine_address import DEFAULT_URL, EngineAddress, resolve
from graders.kinds import local_files


def _context(config: Path, name: str, host: str) -> None:
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": {"docker": {"Host": host,
                                                                                     "SkipTLSVerify": True}}}))


def test_the_explicit_engine_then_docker_host_then_the_context_then_the_socket(tmp_path: Path) -> None:
    _context(tmp_path, "lab-vm", "tcp://10.0.0.7:2375")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "lab-vm"}))
    base = {"DOCKER_CONFIG": str(tmp_path), "HOME": str(tmp_path)}
    assert resolve("unix:///run/other.sock", {**base, "DOCKER_HOST": "tcp://x:1"}) == EngineAddress(
        "unix:///run/other.sock", "--engine")
    assert resolve(None, {**base, "MASTERY_ENGINE": "ssh://me@box"}).source == "--engine"
    assert resolve(None, {**base, "DOCKER_HOST": "tcp://x:1"}) == EngineAddress("tcp://x:1", "DOCKER_HOST")
    assert resolve(None, base) == EngineAddress("tcp://10.0.0.7:2375", "context lab-vm")
    assert resolve(None, {**base, "DOCKER_CONTEXT": "default"}) == EngineAddress(DEFAULT_URL, "default")
    assert resolve(None, {"HOME": str(tmp_path / "nowhere")}) == EngineAddress(DEFAULT_URL, "default")


@pytest.mark.parametrize(("url", "local", "host", "publish_on"), [
    ("unix:///var/run/docker.sock", True, "127.0.0.1", "127.0.0.1"),
    ("tcp://127.0.0.1:2375", True, "127.0.0.1", "127.0.0.1"),
    ("tcp://10.0.0.7:2376", False, "10.0.0.7", "0.0.0.0"),
    ("ssh://me@gpu-box", False, "gpu-box", "0.0.0.0"),
])
def test_where_ports_are_reached_and_whether_folders_can_be_mounted(url: str, local: bool, host: str,
                                                                    publish_on: str) -> None:
    address = EngineAddress(url, "test")
    assert (address.local, address.published_host, address.publish_on) == (local, host, publish_on)
    assert address.env() == {"DOCKER_HOST": url}


def test_a_lab_that_mounts_this_machine_s_files_says_a_remote_engine_cannot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_chosen", EngineAddress("tcp://10.0.0.7:2376", "DOCKER_HOST"))
    refused = local_files.blocker("a folder at /home/jovyan/work")
    assert refused is not None and refused.kind == "start"
    assert "tcp://10.0.0.7:2376, chosen by DOCKER_HOST" in refused.message and "another machine" in refused.message
    assert "--engine unix:///var/run/docker.sock" in refused.hint
    monkeypatch.setattr(engine, "_chosen", EngineAddress(DEFAULT_URL, "default"))
    assert local_files.blocker("a folder at /models") is None


def test_a_run_given_its_engine_keeps_it_in_the_threads_it_starts() -> None:
    """The engine of a grading run (`engine.using`) reaches the checks' threads, pools and deadlines, is
    another thread's business only there, and leaves the process's choice as it was."""
    import concurrent.futures
    import threading

    from graders.deadline import call_with_deadline
    from graders.threads import in_this_context

    process = engine.address()
    other = EngineAddress("tcp://10.0.0.7:2375", "--engine")
    seen: dict[str, EngineAddress] = {}
    with engine.using(other):
        assert engine.address() == other
        assert call_with_deadline(engine.address, 5) == other
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            assert pool.submit(in_this_context(engine.address)).result() == other
            assert pool.submit(engine.address).result() == process  # a bare thread: the process's engine
        thread = threading.Thread(target=in_this_context(lambda: seen.setdefault("thread", engine.address())))
        thread.start()
        thread.join()
    assert seen["thread"] == other
    assert engine.address() == process


def test_why_a_container_stopped_is_read_once_from_its_state() -> None:
    from graders.stopped import Stopped, stopped

    assert stopped({"Status": "running"}) is None and stopped({"Status": "created"}) is None
    assert stopped({"Status": "exited", "ExitCode": 3}) == Stopped(False, 3)
    assert stopped({"Status": "exited", "ExitCode": 137, "OOMKilled": True}) == Stopped(True, 137)
    assert stopped({"Status": "running", "OOMKilled": True}) == Stopped(True, None)  # a worker killed, PID 1 alive


def test_work_on_an_engines_cache_mounts_takes_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """engine_locks.exclusive: one holder at a time per engine and name, across threads (and processes, by a
    lock file); re-entrant in one thread; another engine's lock is another lock."""
    import threading
    import time

    from graders import engine_locks

    monkeypatch.setenv("MASTERY_RUNS_DIR", str(tmp_path))
    here = EngineAddress("unix:///a.sock", "--engine")
    inside: list[int] = []
    most = [0]

    def hold() -> None:
        # Taken twice in one thread: it is re-entrant.
        with engine.using(here), engine_locks.exclusive("cache-mounts"), engine_locks.exclusive("cache-mounts"):
            inside.append(1)
            most[0] = max(most[0], len(inside))
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for t in threads:
        t.start()
    with engine.using(EngineAddress("unix:///b.sock", "--engine")), engine_locks.exclusive("cache-mounts"):
        pass  # another engine: not blocked by the threads above
    for t in threads:
        t.join()
    assert most[0] == 1


def test_a_prune_waits_for_builds_in_flight_and_is_put_off_when_they_last(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A grading holds the engine's build-cache lock shared while it builds and rebuilds; a trim takes it alone,
    so it never prunes between another grading's build and its rebuild."""
    import threading

    from graders import engine_locks

    monkeypatch.setenv("MASTERY_RUNS_DIR", str(tmp_path))
    building, done = threading.Event(), threading.Event()

    def grading() -> None:
        with engine_locks.shared(engine_locks.BUILD_CACHE):
            building.set()
            done.wait(10)

    thread = threading.Thread(target=grading)
    thread.start()
    try:
        assert building.wait(10)
        with engine_locks.shared(engine_locks.BUILD_CACHE):  # another grading builds at the same time
            pass
        with engine_locks.exclusive_within(engine_locks.BUILD_CACHE, 0.5) as alone:
            assert not alone
    finally:
        done.set()
        thread.join(10)
    with engine_locks.exclusive_within(engine_locks.BUILD_CACHE, 0.5) as alone:
        assert alone
