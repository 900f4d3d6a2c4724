"""Reading a `docker exec`'s output: none of it may be lost when it arrives with the response's headers.

A tiny server on a Unix socket answers the exec start as the engine does, with the upgrade headers and the
whole multiplexed output in one write: what a short command's answer looks like to a grader that reads late
on a loaded engine."""

from __future__ import annotations

import io
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker import APIClient

from graders.exec_probe import read_frames, start_and_read

UPGRADED = (b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
            b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


STATUS = frame(1, b"Name:\tpython\nUid:\t1001\t1001\t1001\t1001\n") + frame(2, b"a warning\n")


def _answer_once(server: socket.socket) -> None:
    conn, _ = server.accept()
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        head, _, body = request.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        while len(body) < length:
            body += conn.recv(4096)
        conn.sendall(UPGRADED + STATUS)  # headers and output in one write


@pytest.fixture
def engine_answering_at_once(tmp_path: Path) -> Iterator[APIClient]:
    path = tmp_path / "engine.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    thread = threading.Thread(target=_answer_once, args=(server,), daemon=True)
    thread.start()
    api = APIClient(base_url=f"unix://{path}", version="1.51", timeout=10)
    try:
        yield api
    finally:
        api.close()
        server.close()
        thread.join(5)


def test_output_that_came_with_the_headers_is_read(engine_answering_at_once: APIClient) -> None:
    """docker-py 7.2's own exec_start answers b"" here: it reads the socket beneath the buffered reader."""
    assert start_and_read(engine_answering_at_once, "abc") == b"Name:\tpython\nUid:\t1001\t1001\t1001\t1001\na warning\n"


def test_frames_are_joined_in_order_and_a_cut_frame_ends_the_stream() -> None:
    stream = io.BufferedReader(io.BytesIO(frame(1, b"one ") + frame(2, b"two ") + frame(1, b"three") + b"\x01\x00"))
    assert read_frames(stream) == b"one two three"
    assert read_frames(io.BufferedReader(io.BytesIO(b""))) == b""
