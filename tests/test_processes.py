"""Which process a container exists for, from its /proc as `cat` and `ls` show it (no engine: the commands
are answered here the way a container's procfs answers them)."""

from __future__ import annotations

from graders.processes import AppProcess, Exec, app_process


def _status(pid: int, ppid: int, name: str, uid: int) -> str:
    return f"Name:\t{name}\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t{pid}\nPPid:\t{ppid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"


def _app(run: Exec) -> AppProcess:
    found = app_process(run)
    assert found is not None
    return found


def _container(procs: dict[int, tuple[int, str, int]], children_of_1: list[int]) -> Exec:
    """An Exec over a fake /proc: pid -> (parent, name, uid)."""
    def run(argv: list[str]) -> tuple[int, str]:
        if argv == ["ls", "/proc"]:
            return 0, "\n".join([*map(str, procs), "self", "sys", "meminfo"])
        if argv == ["cat", "/proc/1/task/1/children"]:
            return 0, " ".join(map(str, children_of_1))
        if argv[0] == "cat":
            wanted = [int(path.split("/")[2]) for path in argv[1:]]
            return (0 if all(p in procs for p in wanted) else 1,
                    "".join(_status(p, *procs[p]) for p in wanted if p in procs))
        return 127, f"{argv[0]}: not found"
    return run


def test_pid_1_is_the_app_unless_it_only_reaps() -> None:
    plain = _container({1: (0, "gunicorn", 10001), 7: (1, "gunicorn", 10001)}, [7])
    assert (_app(plain).pid, _app(plain).uid) == (1, "10001")
    tini = _container({1: (0, "tini", 0), 7: (1, "python", 1000)}, [7])
    assert (_app(tini).pid, _app(tini).uid) == (7, "1000")  # tini may stay root


def test_a_root_daemon_behind_a_harmless_non_root_pid_1_is_found() -> None:
    """`gunicorn --daemon` as root, then `exec` a non-root sleep as PID 1: the daemon is reparented to PID 1."""
    gamed = _container({1: (0, "sleep", 10001), 9: (1, "gunicorn", 0), 10: (9, "gunicorn", 0)}, [9])
    found = _app(gamed)
    assert (found.pid, found.name, found.uid) == (9, "gunicorn", "0")
    behind_tini = _container({1: (0, "tini", 0), 7: (1, "sleep", 10001), 12: (1, "python", 0)}, [7, 12])
    assert _app(behind_tini).uid == "0"


def test_what_docker_exec_started_is_not_the_app() -> None:
    """The grader's own probes and HEALTHCHECK commands have parent 0 and may run as root (USER root with a
    gosu entrypoint): they are not the app."""
    probed = _container({1: (0, "gunicorn", 10001), 30: (0, "curl", 0), 31: (30, "sh", 0)}, [])
    assert _app(probed).uid == "10001"


def test_an_image_without_ls_is_judged_by_pid_1() -> None:
    procs = {1: (0, "app", 10001), 5: (1, "worker", 0)}
    run = _container(procs, [5])

    def no_ls(argv: list[str]) -> tuple[int, str]:
        return (127, "ls: not found") if argv[0] == "ls" else run(argv)

    assert _app(no_ls).uid == "10001"


def test_a_status_read_cut_short_is_read_again_and_never_reported_as_a_user() -> None:
    """A loaded engine once answered `cat /proc/1/status` with exit 0 and no Uid line; the grader then said "the
    app runs as uid ?". A second read is taken; when that fails too, the caller falls back to `id -u`."""
    procs = {1: (0, "gunicorn", 10001)}
    whole = _container(procs, [])
    answers = iter([(0, "Name:\tgunicorn\n")])

    def cut_once(argv: list[str]) -> tuple[int, str]:
        return next(answers, None) or whole(argv) if argv == ["cat", "/proc/1/status"] else whole(argv)

    assert _app(cut_once).uid == "10001"

    def always_cut(argv: list[str]) -> tuple[int, str]:
        return (0, "Name:\tgunicorn\n") if argv == ["cat", "/proc/1/status"] else whole(argv)

    assert app_process(always_cut) is None
