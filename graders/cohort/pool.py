"""The gradings of a cohort, N at a time on each engine of a pool. One learner's hang or crash costs that
learner only (each grading has its own limits and time budget); an engine that stops answering has its
gradings handed to the others, at most twice each; a grading the grader could not do is `error`, listed
for a re-run, never a score of 0."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import docker.errors

from graders import engine
from graders.cohort.discover import Learner
from graders.cohort.fingerprint import grading_key, lab_digest, submission_digest
from graders.cohort.store import ResultStore
from graders.engine_address import EngineAddress
from graders.errors import EngineUnavailable, GraderError
from graders.results import CheckResult, GradeReport, Status
from graders.runner import grade
from graders.spec import LabSpec
from graders.threads import in_this_context

MAX_ATTEMPTS = 3  # the first grading and two more on other engines
BUILD_MEMORY = 1 << 30  # what a build takes beside the running container, counted in the default -j


@dataclass
class Graded:
    learner: Learner
    report: GradeReport
    reused: bool = False
    engine: str = ""
    attempts: int = 0

    @property
    def needs_rerun(self) -> bool:
        return self.report.grader_failed or bool(self.report.problem)


@dataclass
class Tally:
    """How far the run is, for the progress line."""

    total: int
    done: int = 0
    reused: int = 0  # results read from the store
    below_full: int = 0  # learners who lost points so far
    errors: int = 0  # gradings the grader could not do
    started: float = field(default_factory=time.monotonic)

    def eta_s(self) -> float | None:
        """Seconds left at the pace of the gradings done so far (stored results took none)."""
        graded = self.done - self.reused
        if graded <= 0:
            return None
        return (time.monotonic() - self.started) / graded * (self.total - self.done)


def default_jobs(spec: LabSpec) -> int:
    """As many gradings at once as the cores and the memory allow, each counted at its container's memory
    limit plus a build."""
    cores = os.cpu_count() or 1
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return max(1, cores)
    return max(1, min(cores, memory // (spec.limits.memory_bytes + BUILD_MEMORY)))


def grade_cohort(spec: LabSpec, learners: Sequence[Learner], store: ResultStore, *,
                 engines: Sequence[EngineAddress] = (), jobs: int | None = None, force: bool = False,
                 on_done: Callable[[Graded, Tally], None] | None = None) -> list[Graded]:
    """Every learner graded, or read from the store when nothing it depends on changed. In the learners' order."""
    pool = list(engines) or [engine.address()]
    per_engine = jobs or default_jobs(spec)
    tally = Tally(total=len(learners))
    done: dict[str, Graded] = {}
    lock = threading.Lock()
    lab = lab_digest(spec)
    images = _image_ids(spec, pool[0])  # once for the cohort: the same base images for every learner
    keys = {}
    todo: queue.Queue[tuple[Learner, int]] = queue.Queue()
    for learner in learners:
        keys[learner.name] = grading_key(submission_digest(learner.folder), lab, images)
        stored = None if force else store.load(learner.name, keys[learner.name])
        if stored is not None:
            _finish(Graded(learner, stored, reused=True), done, tally, lock, on_done)
        else:
            todo.put((learner, 0))
    alive = {address: True for address in pool}
    outstanding = [todo.qsize()]

    def work(address: EngineAddress) -> None:
        while alive[address]:
            with lock:
                if outstanding[0] == 0:
                    return
            try:
                learner, attempts = todo.get(timeout=0.5)
            except queue.Empty:
                continue
            graded = _grade_one(spec, learner, address, attempts + 1)
            if graded is None:  # the engine stopped answering: another engine takes the learner
                with lock:
                    alive[address] = False
                    if attempts + 1 < MAX_ATTEMPTS and any(alive.values()):
                        todo.put((learner, attempts + 1))
                        return
                graded = Graded(learner, _error_report(spec, learner, f"The engine {address.url} stopped answering "
                                                       f"after {attempts + 1} attempt(s)."), engine=address.url,
                                attempts=attempts + 1)
            store.save(learner.name, keys[learner.name], graded.report)
            _finish(graded, done, tally, lock, on_done)
            with lock:
                outstanding[0] -= 1
            if not alive[address]:
                return

    threads = [threading.Thread(target=in_this_context(work), args=(address,), name=f"cohort-{n}", daemon=True)
               for address in pool for n in range(per_engine)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while not todo.empty():  # every engine died: what is left is the grader's failure, not the learners'
        learner, attempts = todo.get()
        graded = Graded(learner, _error_report(spec, learner, "No engine of the pool answered any more."), attempts=attempts)
        _finish(graded, done, tally, lock, on_done)
    return [done[learner.name] for learner in learners]


def _grade_one(spec: LabSpec, learner: Learner, address: EngineAddress, attempt: int) -> Graded | None:
    """One grading on one engine; None when the engine is gone (before or during it)."""
    try:
        report = grade(spec, learner.folder, on=address)
    except EngineUnavailable:
        return None
    except Exception as exc:  # the engine went away mid-run, or a grader bug: either way not the learner's doing
        if not _answers(address):
            return None
        why = exc.message if isinstance(exc, GraderError) else f"{type(exc).__name__}: {exc}"
        return Graded(learner, _error_report(spec, learner, why), engine=address.url, attempts=attempt)
    if report.grader_failed and not _answers(address):
        return None
    return Graded(learner, report, engine=address.url, attempts=attempt)


def _answers(address: EngineAddress) -> bool:
    try:
        with engine.using(address):
            engine.client().ping()
    except Exception:  # the engine's error, or requests' when the socket is gone
        return False
    return True


def _image_ids(spec: LabSpec, address: EngineAddress) -> list[str]:
    """The IDs of the lab's base images on the engine: a re-prepared base image regrades."""
    ids = []
    with engine.using(address):
        for ref in spec.base_images:
            try:
                ids.append(f"{ref}@{engine.client().images.get(ref).id}")
            except (docker.errors.DockerException, EngineUnavailable):
                ids.append(f"{ref}@missing")
    return ids


def _error_report(spec: LabSpec, learner: Learner, why: str) -> GradeReport:
    """Every check `error`: the grader could not judge this submission, which says nothing about it."""
    results = [CheckResult(name=c.name, title=c.title, status=Status.ERROR, points=0.0, max_points=c.points,
                           category=c.category, tags=c.tags, message=f"Not graded: {why}",
                           hint="This is not the learner's fault: grade again (`mastery grade` re-runs only these).")
               for c in spec.checks]
    return GradeReport(lab_id=spec.id, lab_title=spec.title, submission=str(learner.folder), results=results)


def _finish(graded: Graded, done: dict[str, Graded], tally: Tally, lock: threading.Lock,
            on_done: Callable[[Graded, Tally], None] | None) -> None:
    with lock:
        done[graded.learner.name] = graded
        tally.done += 1
        tally.reused += graded.reused
        tally.errors += graded.needs_rerun
        tally.below_full += not graded.needs_rerun and graded.report.score < graded.report.max_score
        if on_done is not None:
            on_done(graded, tally)
