"""The learner's daemon.json as the engine-config grader reads it (graders/daemon_config.py): hostile and broken
files get a message of their own, never a traceback, and nothing outside the folder is read. No engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graders.checks.daemon_config import size_bytes
from graders.daemon_config import MAX_BYTES, DaemonConfig, _as_validated, read
from graders.errors import SubmissionError


def refusal(folder: Path, text: str | None = None) -> str:
    if text is not None:
        (folder / "daemon.json").write_text(text)
    with pytest.raises(SubmissionError) as refused:
        read(folder / "daemon.json")
    return refused.value.message


def test_a_link_out_of_the_folder_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"live-restore": true}')
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "daemon.json").symlink_to(secret)
    assert "There is no `daemon.json`" in refusal(tmp_path / "lab")


@pytest.mark.parametrize(("text", "said"), [
    ('{"live-restore": true, "live-restore": false}', "sets `live-restore` twice"),
    ('// notes\n{"live-restore": true}', "JSON has no comments"),
    ('{"live-restore": true,}', "is not valid JSON"),
    ('["live-restore"]', "holds a JSON list, not an object"),
    (" " * (MAX_BYTES + 1), "larger than 64 KB"),
])
def test_a_file_dockerd_would_refuse_is_named_for_what_it_is(tmp_path: Path, text: str, said: str) -> None:
    assert said in refusal(tmp_path, text)


def test_a_missing_file_is_a_message(tmp_path: Path) -> None:
    assert "There is no `daemon.json`" in refusal(tmp_path)


def test_only_a_plain_user_name_is_swapped_for_default_before_dockerd_reads_it() -> None:
    """The validator has no user of the learner's machine: a name or uid:gid becomes `default`. Anything else,
    a shell's worth of characters included, reaches dockerd as written (as an argument-free file, never a command)."""
    for value in ("alice", "alice:team", "1000:1000"):
        text = json.dumps({"userns-remap": value, "live-restore": True})
        assert json.loads(_as_validated(DaemonConfig(text, json.loads(text)))) == {"userns-remap": "default",
                                                                                   "live-restore": True}
    for value in ("default", "a; rm -rf /", "$(id)"):
        text = json.dumps({"userns-remap": value})
        assert _as_validated(DaemonConfig(text, json.loads(text))) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("20m", 20 * 1024**2), ("1g", 1024**3), ("512k", 512 * 1024), ("1048576", 1048576), ("20mb", 20 * 1024**2),
    ("ten", None), ("", None), ("-5m", None),
])
def test_sizes_read_as_dockerd_reads_max_size(text: str, expected: int | None) -> None:
    assert size_bytes(text) == expected
