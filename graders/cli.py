"""The `mastery` command. Its flags, output shapes and exit codes are a contract other tools rely on.

Exit codes: 0 all checks passed (or the command succeeded), 1 some check failed, 2 grading could not be done
(no engine, bad usage, the grader itself failed on a check, or it was stopped: Ctrl-C, SIGTERM, SIGHUP).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from graders import doctor as doctor_mod
from graders import engine, environment, images, progress, runs, submission
from graders.course_engine import control as course_control
from graders.course_engine import places
from graders.errors import GraderError, Interrupted, UsageError
from graders.exam.session import MOCK_MINUTES, MOCK_QUESTIONS
from graders.labs import all_labs, course_images, get_lab
from graders.reporters import REPORTERS, get_reporter, rich_table, summary
from graders.results import GradeReport
from graders.runner import grade
from graders.spec import REPO_ROOT

out = Console()
err = Console(stderr=True, soft_wrap=True)
log = logging.getLogger(__name__)


class MasteryGroup(click.Group):
    """Turns every error into a message and exit 2: a learner never sees a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            err.print(f"[red]Error:[/red] {exc.message}")
            if exc.hint:
                err.print(f"[cyan]Hint:[/cyan] {exc.hint}")
            sys.exit(2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt as exc:
            # Ctrl-C, or SIGTERM/SIGHUP turned into Interrupted: the run's `finally` has removed what it made.
            why = f"Stopped by {exc.signal_name}" if isinstance(exc, Interrupted) else "Interrupted"
            with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
                err.print(f"{why}; whatever the grader had started was removed.")
            sys.exit(2)
        except Exception as exc:
            if os.environ.get("MASTERY_DEBUG"):
                raise
            err.print(f"[red]Error:[/red] the grader hit an internal problem: {type(exc).__name__}: {exc}")
            err.print("[cyan]Hint:[/cyan] run `mastery doctor`; set MASTERY_DEBUG=1 to see the details.")
            sys.exit(2)


@click.group(cls=MasteryGroup)
@click.version_option(package_name="docker-mastery")
@click.option("--engine", "engine_url", envvar="MASTERY_ENGINE", metavar="ENGINE",
              help="The Docker Engine to grade on: `course` (the course engine), `host` (the one the docker "
                   "command uses), a context name, or a URL (unix:///path, tcp://host:port, ssh://user@host); "
                   "default: DOCKER_HOST, else DOCKER_CONTEXT, else the course engine once started, else the "
                   "current docker context, else the local socket.")
def main(engine_url: str | None) -> None:
    """Docker Mastery for Data Science: grade labs on a real Docker Engine."""
    logging.basicConfig(level=logging.DEBUG if os.environ.get("MASTERY_DEBUG") else logging.WARNING)
    engine.use(engine_url)


@main.command()
def doctor() -> None:
    """Check that grading can run here: engine, Compose v2, BuildKit, GPU runtime, base images."""
    findings = doctor_mod.diagnose()
    table = Table(show_header=True)
    for col in ("", "What", "Found", "What to do"):
        table.add_column(col)
    for f in findings:
        mark = "[green]✔[/green]" if f.ok else ("[red]✘[/red]" if f.required else "[yellow]–[/yellow]")
        table.add_row(mark, f.name, f.detail, "" if f.ok else f.fix)
    out.print(table)
    if doctor_mod.ready(findings):
        out.print("Grading can run here.")
        return
    out.print("[red]Grading cannot run here yet:[/red] fix the lines marked ✘.")
    sys.exit(1)


def _lab_entry(lab_id: str) -> dict[str, object]:
    spec = get_lab(lab_id)
    return {
        "id": spec.id, "title": spec.title, "lesson": spec.lesson, "kind": spec.kind,
        "total_points": spec.total_points,
        # The files the reference solution changes; `solution_check` grades them laid over the starter.
        "solution": str(spec.solution_dir.relative_to(REPO_ROOT)),
        "solution_check": f"mastery check {spec.id} --solution",
        "variants": {kind: [v.name for v in submission.variants(spec, kind)] for kind in submission.KINDS},
        "checks": [{"name": c.name, "points": c.points, "tags": [c.category.value, *c.tags]} for c in spec.checks],
    }


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def labs(as_json: bool) -> None:
    """List the labs with their checks and points."""
    entries = [_lab_entry(i) for i in all_labs()]
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    table = Table()
    for col in ("Lab", "Title", "Kind", "Points", "Lesson", "Checks"):
        table.add_column(col)
    for e in entries:
        checks = ", ".join(f"{c['name']} ({c['points']:g})" for c in e["checks"])  # type: ignore[attr-defined]
        table.add_row(str(e["id"]), str(e["title"]), str(e["kind"]), f"{e['total_points']:g}", str(e["lesson"]), checks)
    out.print(table)


@main.command()
@click.argument("lab")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option("--format", "format_name", default="table", show_default=True, metavar="NAME",
              help=f"The report's format: {', '.join(REPORTERS)}.")
@click.option("--output", "output_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the --format report to FILE (the terminal still shows the table); without it, print the report.")
@click.option("--json", "json_file", type=click.Path(path_type=Path), help="Write Gradescope's results.json here.")
@click.option("--solution", is_flag=True, help="Grade the lab's reference solution (laid over its starter files).")
@click.option("--variant", metavar="NAME",
              help="Grade one of the lab's variants: broken/NAME, alternatives/NAME or gaming/NAME (see `mastery labs --json`).")
def check(lab: str, folder: Path | None, format_name: str, output_file: Path | None, json_file: Path | None,
          solution: bool, variant: str | None) -> None:
    """Grade FOLDER (default: the lab's folder under labs/) against LAB."""
    reporter = get_reporter(format_name)  # before grading: a mistyped format costs nothing
    spec = get_lab(lab)
    if (solution or variant) and folder is not None:
        raise click.UsageError("Give a FOLDER, or --solution/--variant, not both.")
    if (solution or variant) and spec.kind == "engine-state":
        # Its reference is a script of docker commands that makes containers by fixed names in this engine: graded
        # without running it, the grader would judge whatever containers of those names are here.
        script = spec.solution_dir.relative_to(REPO_ROOT) / "commands.sh"
        raise click.UsageError(f"{spec.id} is graded on the containers its commands make, not on files: run {script} "
                               f"(or a variant's version of it) in a folder, then `mastery check {spec.id} FOLDER`.")
    chosen = None
    if variant:
        try:
            chosen = submission.variant(spec, variant)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--variant") from None
    with contextlib.ExitStack() as stack:
        target = folder or spec.starter_dir
        if solution or chosen is not None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"mastery-{spec.id}-solution-")))
            target = submission.materialize(spec, chosen, into=scratch / spec.id)
        with runs.signals_interrupt(), err.status("Grading…", spinner="dots") as status:
            report = grade(spec, target, progress=lambda msg: status.update(f"{spec.id}: {msg}…"))
        _record_progress(report, target)
    if output_file is None and reporter.name != "table":
        click.echo(reporter.render(report), nl=False)  # stdout holds the report alone, ready for a pipe
        err.print(summary(report), markup=False, highlight=False)
    else:
        out.print(rich_table(report))
    if output_file is not None:
        output_file.write_text(reporter.render(report), encoding="utf-8")
        err.print(f"Wrote {output_file}", markup=False, highlight=False)
    if json_file is not None:
        json_file.write_text(REPORTERS["gradescope"].render(report), encoding="utf-8")
        err.print(f"Wrote {json_file}", markup=False, highlight=False)
    if report.grader_failed:
        err.print(f"[magenta]The grader itself failed[/magenta] on {report.errors} check(s) (marked !): that is not a "
                  "verdict on your work. Run `mastery doctor`, then grade again; MASTERY_DEBUG=1 shows the details.")
        sys.exit(2)
    sys.exit(0 if report.all_passed else 1)


def _record_progress(report: GradeReport, folder: Path) -> None:
    """Keep the verdict for `mastery progress` when it is on the learner's own folder; never at grading's cost."""
    try:
        progress.record(report, folder)
    except Exception:
        log.debug("could not record the progress of %s", report.lab_id, exc_info=True)


@main.command(name="progress")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def progress_command(as_json: bool) -> None:
    """Show where you stand on every lab: the state and score of your last check of your lab folder."""
    from graders.progress_table import COLOUR, overview, rows

    table = rows()
    if as_json:
        click.echo(json.dumps([r.to_json() for r in table], indent=2))
        return
    shown = Table()
    for col in ("Lab", "Title", "State", "Score", "Last checked"):
        shown.add_column(col, justify="right" if col == "Score" else "left")
    for r in table:
        shown.add_row(escape(r.id), escape(r.title), f"[{COLOUR[r.state]}]{r.state.value}[/]", r.score_text, r.checked_text)
    out.print(shown)
    out.print(overview(table), markup=False, highlight=False)


@main.command(name="exam")
@click.option("--mock", is_flag=True, help=f"A timed mock exam: {MOCK_QUESTIONS} questions in {MOCK_MINUTES} minutes "
              "(13 multiple choice, 42 DOMC), drawn by the domains' weights.")
@click.option("--domain", metavar="D", help="Practise one domain: orchestration, images, install, networking, security, storage.")
@click.option("--count", type=click.IntRange(1, 300), default=10, show_default=True, help="Practice: how many questions.")
@click.option("--mode", type=click.Choice(["domc", "mc"]), default="domc", show_default=True,
              help="Practice: DOMC (options one at a time, yes or no) or ordinary multiple choice.")
@click.option("--minutes", type=click.FloatRange(min=0.1), help="A time limit (the mock's default: 90).")
@click.option("--seed", type=int, help="Draw the same questions again.")
@click.option("--save", "save_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep the attempt (answers as given) in this JSON file, written after every answer.")
def exam_command(mock: bool, domain: str | None, count: int, mode: str, minutes: float | None, seed: int | None,
                 save_to: Path | None) -> None:
    """Practise for the Docker Certified Associate exam: by domain, or a timed mock exam; then your score per
    domain and a review of each question you did not answer right."""
    from graders.exam.question_bank import default
    from graders.exam.terminal import take

    domains = [d.id for d in default().domains]
    if domain is not None and domain not in domains:
        raise UsageError(f"There is no exam domain called {domain!r}.", f"Domains: {', '.join(domains)}.")
    take(mock=mock, domain=domain, count=count, mode=mode, minutes=minutes, seed=seed, save=save_to)


@main.command(name="grade")
@click.argument("lab")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("-j", "--jobs", type=click.IntRange(1, 64), metavar="N",
              help="Gradings at once on each engine (default: what this machine's cores and memory allow).")
@click.option("--engine", "engines", multiple=True, metavar="URL",
              help="An engine of the pool (repeat it); default: the engine `mastery --engine` or the environment names.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("graded"),
              show_default=True, help="Where each learner's results and the class's files go.")
@click.option("--force", is_flag=True, help="Grade every submission again, even those graded before unchanged.")
@click.option("--shard", metavar="I/N", help="Grade only shard I of N (0-based; by a hash of each learner's name): one "
                                             "worker of N, as a Kubernetes Indexed Job runs them. A run without it "
                                             "then writes the class's files from the stored results.")
@click.option("--gradebook", metavar="DB", help="Also write the scores into nbgrader's gradebook (a gradebook.db "
                                                "path or a database URL) after `nbgrader generate_assignment LAB`, "
                                                "so `nbgrader export` sees them. Not with --shard.")
def grade_cohort_command(lab: str, submissions: Path, jobs: int | None, engines: tuple[str, ...], out_dir: Path,
                         force: bool, shard: str | None, gradebook: str | None) -> None:
    """Grade every learner's submission of LAB under SUBMISSIONS (one folder per learner, or nbgrader's
    submitted/<learner>/<lab>/), N at a time, keeping each result under --out."""
    from graders.cohort.class_csv import canvas_csv, grades_csv, moodle_csv
    from graders.cohort.class_report import class_report_html
    from graders.cohort.discover import find_submissions, in_shard, parse_shard
    from graders.cohort.pool import Graded, Tally, grade_cohort
    from graders.cohort.store import ResultStore
    from graders.engine_address import resolve

    spec = get_lab(lab)
    if gradebook and shard:
        raise UsageError("--gradebook and --shard together would have every worker write one database at once.",
                         "Give --gradebook to the run without --shard that writes the class's files.")
    learners = find_submissions(submissions, spec.id)
    if shard is not None:
        learners = in_shard(learners, *parse_shard(shard))
    store = ResultStore(out_dir)

    def line(graded: Graded, tally: Tally) -> None:
        eta = tally.eta_s()
        verdict = ("error: listed for a re-run" if graded.needs_rerun else
                   f"{graded.report.score:g}/{graded.report.max_score:g}" + (" (unchanged, kept)" if graded.reused else ""))
        err.print(f"[{tally.done}/{tally.total}] {graded.learner.name}: {verdict} · below full marks so far "
                  f"{tally.below_full}, errors {tally.errors}" + (f" · about {eta:.0f} s left" if eta else ""),
                  markup=False, highlight=False)

    with runs.signals_interrupt():
        cohort = grade_cohort(spec, learners, store, engines=[resolve(url) for url in engines], jobs=jobs,
                              force=force, on_done=line)
    files = (("grades.csv", grades_csv(spec, cohort)), ("canvas.csv", canvas_csv(spec, cohort)),
             ("moodle.csv", moodle_csv(spec, cohort)), ("report.html", class_report_html(spec, cohort)))
    for name, text in files if shard is None else ():  # a shard's worker leaves the class's files to the whole run
        (out_dir / name).write_text(text, encoding="utf-8")
    if gradebook:
        from graders.cohort.gradebook import write_gradebook

        err.print(f"nbgrader's gradebook: {write_gradebook(gradebook, spec, cohort)} learners' scores written.",
                  markup=False, highlight=False)
    rerun = [g.learner.name for g in cohort if g.needs_rerun]
    err.print(f"Graded {len(cohort)} learners of {spec.id} into {out_dir}"
              + (f"; to grade again (the grader could not judge them): {', '.join(rerun)}" if rerun else "."),
              markup=False, highlight=False)
    sys.exit(2 if rerun else 0)


@main.group(name="engine")
def engine_group() -> None:
    """The course engine: Docker Engine 28 with buildx and Compose, in a container on your own engine."""


def _say(message: str) -> None:
    err.print(f"[dim]{message}[/dim]")


def _show_engine(state: course_control.EngineStatus) -> None:
    if state.state == "running":
        out.print(f"The course engine runs: Docker Engine {state.version} (API {state.api}), builder {state.builder}, "
                  f"at {state.url} (docker context `{places.context()}`); its published ports are reached at "
                  f"{state.published_host}.")
        return
    out.print(f"The course engine is {state.state}. {state.detail}")
    if state.fix:
        out.print(f"To fix: {state.fix}")


@engine_group.command(name="start")
def engine_start() -> None:
    """Start the course engine (making its image first if needed); a no-op when it runs."""
    if environment.active():
        _environment_engine()
        return
    _show_engine(course_control.start(_say, seed=course_images()))


def _environment_engine() -> None:
    """In the compose environment: say whether the `engine` service answers; exit 1 when it does not."""
    try:
        engine.answers()
        version = engine.client().version()
    except GraderError as exc:
        out.print(f"Your engine (the environment's `engine` service) does not answer: {exc.message}", highlight=False)
        out.print(environment.HOST_COMMANDS, highlight=False)
        sys.exit(1)
    out.print(f"Your engine runs: the environment's `engine` service, Docker Engine {version.get('Version')} "
              f"(API {version.get('ApiVersion')}), at {engine.address().url}. Compose starts and stops it with the "
              "environment.", highlight=False)


@engine_group.command(name="image")
def engine_image() -> None:
    """Print the course engine's image (making it first if needed): the compose environment's engine builds on it
    where no registry is reachable (`make environment`)."""
    click.echo(course_control.image(_say))


@engine_group.command(name="stop")
def engine_stop() -> None:
    """Stop the course engine; its images, volumes and build cache stay for the next start."""
    if environment.active():
        out.print("In the compose environment your engine stops with it: docker compose stop (on your computer).")
        sys.exit(1)
    _show_engine(course_control.stop(_say))


@engine_group.command(name="status")
def engine_status() -> None:
    """Say whether the course engine runs, its version and where it is; exit 1 when it does not run."""
    if environment.active():
        _environment_engine()
        return
    state = course_control.status()
    _show_engine(state)
    sys.exit(0 if state.state == "running" else 1)


@engine_group.command(name="forward")
def engine_forward() -> None:
    """Reach the course engine's published ports at 127.0.0.1 on this machine, as they come and go (Ctrl-C
    stops). `make course` runs it for you."""
    import asyncio
    import signal

    from graders.course_engine.port_forward import forward

    if environment.active():
        out.print("In the compose environment JupyterLab reaches your engine's published ports at the engine's address "
                  f"({engine.site().published_host}); nothing is forwarded to your computer.", highlight=False)
        sys.exit(1)
    state = course_control.status()
    if state.state != "running":
        _show_engine(state)
        sys.exit(1)
    out.print("Forwarding the course engine's published ports to 127.0.0.1 (Ctrl-C stops).")

    async def until_stopped() -> None:
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        await forward(lambda line: out.print(line, highlight=False, soft_wrap=True), stop)

    asyncio.run(until_stopped())


@engine_group.command(name="reset")
@click.confirmation_option(prompt="Remove every image, container, volume and build cache in the course engine?")
def engine_reset() -> None:
    """Throw away everything in the course engine and start it clean (the base images come back)."""
    if environment.active():
        engine.answers()
        removed = environment.reset(course_images(), _say)
        out.print(f"Removed {removed} objects from your engine; the course's base images stay. If your engine does not "
                  f"answer at all: {environment.HOST_COMMANDS}", highlight=False)
        return
    _show_engine(course_control.reset(_say, seed=course_images()))


@main.group(name="images")
def images_group() -> None:
    """Base images the labs build on."""


@images_group.command(name="list")
def images_list() -> None:
    """Show each image the course needs: present or missing, real or stand-in."""
    table = Table()
    for col in ("Image", "Present", "Kind", "Size"):
        table.add_column(col)
    for ref in course_images():
        st = images.status(ref)
        table.add_row(ref, "yes" if st.present else "[red]missing[/red]",
                      st.kind if st.present else "", f"{st.size_mb:.0f} MB" if st.present else "")
    out.print(table)


@images_group.command(name="prepare")
@click.option("--offline", is_flag=True, help="Do not try the registry: build local stand-ins.")
@click.option("--lab", "lab_ids", multiple=True, help="Only the images this lab needs (repeatable).")
def images_prepare(offline: bool, lab_ids: tuple[str, ...]) -> None:
    """Make every base image present: pull it, or build a labelled stand-in offline."""
    refs = course_images(lab_ids or None)
    done = images.prepare(refs, offline=True if offline else None, say=lambda m: err.print(f"[dim]{m}[/dim]"))
    for st in done:
        out.print(f"{st.ref}: {st.kind}, {st.size_mb:.0f} MB")


@main.command()
@click.option("--all-owners", is_flag=True,
              help="Also remove the runs another user or machine made on this engine (their runs in flight too).")
def clean(all_owners: bool) -> None:
    """Remove whatever grading runs left behind, and the build cache (every dangling image).

    Runs in flight (a `mastery check` grading now, here) are left alone.
    """
    result = runs.clean(all_owners=all_owners)
    removed = result.removed
    pruned = engine.client().images.prune(filters={"dangling": True})
    freed = (pruned.get("SpaceReclaimed") or 0) / 1e6
    out.print(f"Removed {removed.containers} containers, {removed.images} images, {removed.volumes} volumes, "
              f"{removed.networks} networks; the build cache freed {freed:.0f} MB.")
    if result.in_flight:
        out.print(f"Left {result.in_flight} grading run(s) in flight alone.")
    if result.others:
        out.print(f"Left {result.others} run(s) of another user or machine alone (they may be in flight); "
                  "`mastery clean --all-owners` removes them too.")
