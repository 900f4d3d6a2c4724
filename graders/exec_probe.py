"""A command run inside a learner's running container, for a single container and a stack's service alike.

The grader stops waiting at the deadline whatever the image holds: no `timeout` program of the learner's
is trusted to end it, and the command itself ends with the container at teardown."""

from __future__ import annotations

import struct
from typing import BinaryIO

import docker.errors
from docker import APIClient

from graders import engine
from graders.deadline import DeadlineExceeded, call_with_deadline

TIMED_OUT = 124  # as timeout(1) says it
COULD_NOT_RUN = 126  # as a shell says it of a command it cannot execute


def exec_in(container_id: str, argv: list[str], timeout_s: float, user: str | None = None) -> tuple[int, str]:
    """(exit code, output with stdout and stderr together) of argv in the container; TIMED_OUT or
    COULD_NOT_RUN, with the reason as output, when it did not finish in time or could not start."""
    api = engine.client().api

    def run() -> tuple[int, str]:
        exec_id = str(api.exec_create(container_id, argv, user=user or "")["Id"])
        output = start_and_read(api, exec_id)
        code = api.exec_inspect(exec_id).get("ExitCode")
        return int(code if code is not None else 1), output.decode("utf-8", errors="replace")

    try:
        return call_with_deadline(run, timeout_s)
    except DeadlineExceeded:
        return TIMED_OUT, f"`{' '.join(argv)}` did not finish within {timeout_s:.0f} s"
    except docker.errors.APIError as exc:
        return COULD_NOT_RUN, f"`{' '.join(argv)}` could not run: {exc.explanation or exc}"


def start_and_read(api: APIClient, exec_id: str) -> bytes:
    """The exec's whole output, stdout and stderr together, read from the reader that parsed the response's
    headers. docker-py's exec_start reads the socket beneath that reader, so output that arrived with the
    headers (a short command on a loaded engine) was lost: an empty or cut `cat` with exit code 0
    (docker/docker-py#2042). Engines reached another way (ssh, a Windows pipe) keep docker-py's reading."""
    if not api.base_url.startswith(("http+docker://localhost", "http://", "https://")):
        return bytes(api.exec_start(exec_id))
    response = api._post_json(api._url("/exec/{0}/start", exec_id), data={"Tty": False, "Detach": False},
                              headers={"Connection": "Upgrade", "Upgrade": "tcp"}, stream=True)
    try:
        api._raise_for_status(response)
        return read_frames(response.raw._fp.fp)
    finally:
        response.close()


def read_frames(stream: BinaryIO) -> bytes:
    """The payloads of a multiplexed stream (an 8-byte header: stream, 3 zero bytes, big-endian length) to its
    end, in order, whichever stream each came on."""
    chunks: list[bytes] = []
    while len(header := stream.read(8)) == 8:
        (length,) = struct.unpack(">xxxxL", header)
        chunks.append(stream.read(length))
    return b"".join(chunks)
