"""The certification practice: the question bank's rules and coverage, the DOMC engine, mock exams drawn by the
domains' weights, time limits, scoring from the record of answers, and `mastery exam --mock` end to end."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from graders.cli import main
from graders.exam import session
from graders.exam.links import broken_links
from graders.exam.question_bank import OBJECTIVES, BankError, Question, default, load
from graders.exam.session import DOMC, MC, RIGHT, UNANSWERED, WRONG, Asked, Attempt, outcome, score
from graders.spec import REPO_ROOT

BANK = default()


def test_the_bank_has_300_questions_and_every_domain_its_share() -> None:
    counts = Counter(q.domain for q in BANK.questions)
    assert len(BANK.questions) >= 300
    for domain in BANK.domains:
        assert counts[domain.id] >= 300 * domain.weight // 100, f"{domain.id}: {counts[domain.id]} questions"



def test_the_readme_and_the_career_page_give_the_banks_size_as_it_is() -> None:
    counts = Counter(q.domain for q in BANK.questions)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    by_domain = ", ".join(str(counts[d.id]) for d in BANK.domains[:-1]) + f" and {counts[BANK.domains[-1].id]}"
    assert f"a bank of {len(BANK.questions)} original questions" in readme
    assert f"{by_domain} by domain" in " ".join(readme.split())
    assert f"bank of {len(BANK.questions)}" in " ".join((REPO_ROOT / "course" / "career.md").read_text().split())


def test_every_objective_the_course_teaches_has_questions() -> None:
    counts = Counter(q.objective for q in BANK.questions)
    thin = [o.id for d in BANK.domains for o in d.objectives if not o.product and counts[o.id] < 2]
    assert not thin, f"objectives with fewer than 2 questions: {thin}"


def test_every_question_links_a_lesson_section_that_exists() -> None:
    assert broken_links(BANK) == []


def test_questions_read_on_their_own_as_domc_needs() -> None:
    """An option such as "all of the above" means nothing when options come one at a time."""
    lumped = [q.id for q in BANK.questions for o in q.options
              if o.answer.lower().rstrip(".") in ("all of the above", "none of the above", "both of the above")]
    assert not lumped


def _bank_file(tmp_path: Path, question: dict[str, object]) -> Path:
    folder = tmp_path / "bank"
    folder.mkdir()
    (folder / "storage.yaml").write_text(yaml.safe_dump({"domain": "storage", "questions": [question]}))
    return folder


GOOD = {"id": "stor-001", "objective": "stor-volumes", "question": "Q?", "lesson": "commands.md#x",
        "options": [{"answer": "a", "correct": True, "why": "w"}, {"answer": "b", "why": "w"}, {"answer": "c", "why": "w"}]}


@pytest.mark.parametrize(("change", "said"), [
    ({"options": [{"answer": "a", "correct": True, "why": "w"}, {"answer": "b", "correct": True, "why": "w"},
                  {"answer": "c", "why": "w"}]}, "2 options are marked correct"),
    ({"options": [{"answer": "a", "correct": True, "why": "w"}, {"answer": "b", "why": "w"}]}, "three to five"),
    ({"options": [{"answer": "a", "correct": True, "why": "w"}, {"answer": "b", "why": ""}, {"answer": "c", "why": "w"}]},
     "needs an `answer` and a `why`"),
    ({"objective": "orch-quorum"}, "not an objective of the domain storage"),
    ({"lesson": "https://docs.docker.com"}, "page.md#anchor"),
    ({"id": "storage-1"}, "three digits"),
], ids=["two-right", "two-options", "no-why", "other-domain", "lesson-url", "bad-id"])
def test_the_loader_names_the_rule_a_question_breaks(tmp_path: Path, change: dict[str, object], said: str) -> None:
    with pytest.raises(BankError, match=r"stor-001|storage-1") as raised:
        load(OBJECTIVES, _bank_file(tmp_path, {**GOOD, **change}))
    assert said in str(raised.value)


def _asked(question_id: str, mode: str, order: list[int]) -> Asked:
    return Asked(question_id, mode, order)


def test_domc_ends_at_the_first_wrong_answer_or_when_the_right_option_is_accepted() -> None:
    question = BANK.questions[0]
    right = question.right
    wrongs = [i for i in range(len(question.options)) if i != right]
    order = [wrongs[0], right, *wrongs[1:]]

    class Scripted:
        def __init__(self, answers: list[bool]) -> None:
            self.answers, self.shown = answers, list[int]()

        def multiple_choice(self, *_: object) -> int:
            raise AssertionError("a DOMC question is never asked as multiple choice")

        def discrete(self, number: int, total: int, q: Question, option: int, first: bool) -> bool:
            self.shown.append(option)
            return self.answers.pop(0)

    cases = [([True], WRONG, [wrongs[0]]),  # yes to a wrong option: over at once
             ([False, False], WRONG, [wrongs[0], right]),  # no to the right option: over
             ([False, True], RIGHT, [wrongs[0], right])]  # the right one accepted: over, the rest never shown
    for answers, expected, shown in cases:
        asker = Scripted(list(answers))
        attempt = Attempt("practice", None, 1, None, 0.0, [_asked(question.id, DOMC, order)])
        session.run(attempt, BANK, asker, clock=lambda: 0.0)
        assert asker.shown == shown and outcome(attempt.asked[0], question) == expected


def test_a_mock_exam_draws_55_by_the_domains_weights_13_of_them_multiple_choice() -> None:
    asked = session.draw_mock(BANK, seed=7)
    by_domain = Counter(BANK.question(a.id).domain for a in asked)
    assert len(asked) == 55 and len({a.id for a in asked}) == 55
    assert by_domain == session.weighted_counts(BANK, 55) == {
        "orchestration": 14, "images": 11, "install": 8, "networking": 8, "security": 8, "storage": 6}
    assert Counter(a.mode for a in asked) == {MC: 13, DOMC: 42}
    assert [a.id for a in session.draw_mock(BANK, seed=7)] == [a.id for a in asked]  # a seed draws the same again


class Perfect:
    """Answers every question right, one minute per answer on the given clock."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock

    def multiple_choice(self, number: int, total: int, question: Question, order: list[int]) -> int:
        self.clock[0] += 60
        return order.index(question.right)

    def discrete(self, number: int, total: int, question: Question, option: int, first: bool) -> bool:
        self.clock[0] += 60
        return bool(question.options[option].correct)


def test_a_timed_out_exam_is_scored_on_what_was_answered() -> None:
    now = [1000.0]
    attempt = session.new_attempt(BANK, mock=True, seed=3, minutes=10, clock=lambda: now[0])
    session.run(attempt, BANK, Perfect(now), clock=lambda: now[0])
    result = score(attempt, BANK)
    assert attempt.timed_out and 0 < result.right < 55 and result.wrong == 0
    assert result.unanswered == 55 - result.right and result.percent == pytest.approx(100 * result.right / 55)
    assert sum(d.asked for d in result.domains) == 55


def test_the_score_comes_from_the_answers_not_from_anything_the_file_claims(tmp_path: Path) -> None:
    now = [0.0]
    attempt = session.new_attempt(BANK, mock=False, seed=5, count=12, mode=MC, clock=lambda: now[0])
    session.run(attempt, BANK, Perfect(now), clock=lambda: now[0])
    path = tmp_path / "attempt.json"
    session.save(attempt, path)
    again = session.load(path)
    assert score(again, BANK).right == 12
    again.asked[0].choice = next(i for i in range(len(BANK.question(again.asked[0].id).options))
                                 if i != BANK.question(again.asked[0].id).right)
    assert score(again, BANK).right == 11 and session.review(again, BANK)[0]["id"] == again.asked[0].id


def _scripted_input(seed: int, wrong_every: int = 0) -> str:
    """The keystrokes of a learner answering the mock exam drawn with `seed`: right, except every n-th question."""
    lines = []
    for n, asked in enumerate(session.draw_mock(BANK, seed), 1):
        question = BANK.question(asked.id)
        miss = wrong_every and n % wrong_every == 0
        if asked.mode == MC:
            position = asked.order.index(question.right)
            lines.append("ABCDE"[(position + 1) % len(asked.order) if miss else position])
            continue
        for option in asked.order:
            yes = question.options[option].correct
            lines.append("y" if yes != bool(miss) else "n")
            if miss or yes:
                break
    return "\n".join(lines) + "\n"


def test_mastery_exam_mock_runs_end_to_end_with_scripted_answers(tmp_path: Path) -> None:
    saved = tmp_path / "mock.json"
    result = CliRunner().invoke(main, ["exam", "--mock", "--seed", "11", "--save", str(saved)],
                                input=_scripted_input(11, wrong_every=5))
    assert result.exit_code == 0, result.output
    assert "Mock exam: 55 questions, 90 minutes (seed 11)." in result.output
    assert "Score: 44 of 55 right, 80%" in result.output  # every fifth answered wrong: 11 misses
    assert "Review: 11 question(s) to read again" in result.output and "Read: course/" in result.output
    for domain in BANK.domains:
        assert domain.title in result.output
    assert score(session.load(saved), BANK).right == 44


def test_an_unknown_domain_is_named_with_the_ones_there_are() -> None:
    result = CliRunner().invoke(main, ["exam", "--domain", "kubernetes"])
    assert result.exit_code != 0 and "orchestration" in result.output and "Traceback" not in result.output


def test_practice_asks_only_the_domain_chosen() -> None:
    asked = session.draw_practice(BANK, seed=random.randrange(1000), count=20, domain="networking")
    assert {BANK.question(a.id).domain for a in asked} == {"networking"} and len(asked) == 20
    assert {UNANSWERED} == {outcome(a, BANK.question(a.id)) for a in asked}


def test_the_dca_exam_labs_records_are_made_from_the_bank_as_it_is() -> None:
    """scripts/make_exam_attempts.py writes them; a change to the bank changes what a seed draws."""
    import importlib.util

    script = Path(__file__).parent.parent / "scripts" / "make_exam_attempts.py"
    spec = importlib.util.spec_from_file_location("make_exam_attempts", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = [str(path) for path, text in module.files(BANK).items() if path.read_text(encoding="utf-8") != text]
    assert not stale, f"run scripts/make_exam_attempts.py: out of date {stale}"


def test_the_lab_names_the_domains_as_the_bank_does() -> None:
    from graders.labs.dca_exam.spec import DOMAINS

    assert [(d, t) for d, t, _ in DOMAINS] == [(d.id, d.title) for d in BANK.domains]
    assert [p for _, _, p in DOMAINS] == [d.weight * 0.9 for d in BANK.domains]


def test_the_readme_coverage_table_is_the_objectives_as_they_are() -> None:
    """`scripts/check_exam_bank.py --coverage` writes it; every objective's labs exist (lessons: the link test)."""
    from graders.exam.coverage import markdown
    from graders.labs import all_labs
    from graders.spec import REPO_ROOT

    assert markdown(BANK) in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert {lab for d in BANK.domains for o in d.objectives for lab in o.labs} <= set(all_labs())


# --- course/career.md's "Practice: predict, then fix", held by the bank's own rules and DOMC engine.

CAREER = REPO_ROOT / "course" / "career.md"
CAREER_SAMPLES = REPO_ROOT / "course" / "samples" / "career"


def test_career_predict_a_domc_question_ends_at_the_right_option_refused() -> None:
    """The Predict: shown `bridge`, `overlay`, `host`, `macvlan`, Sam plans no, no, no, yes. The question ends at
    `overlay`, the right option, refused: two options answered, wrong, and the last two never shown."""
    from graders.exam.question_bank import Bank, Option

    text = "Which network driver gives containers on different nodes of a swarm one network to share?"
    question = Question("net-901", "networking", "net-drivers", text, (
        Option("`overlay`", True, "One network across the hosts of a Swarm cluster."),
        Option("`bridge`", False, "A private network on one host only."),
        Option("`host`", False, "No network of its own: the host's addresses and ports, on one host."),
        Option("`macvlan`", False, "Its own MAC address on the physical network, not a network across the swarm."),
    ), "networking.md#network-drivers-one-line-each")
    order = [1, 0, 2, 3]  # bridge, overlay, host, macvlan
    plan = [False, False, False, True]  # Sam: no, no, no, yes
    shown: list[int] = []

    class Sam:
        def multiple_choice(self, *_: object) -> int:
            raise AssertionError("asked as DOMC")

        def discrete(self, number: int, total: int, q: Question, option: int, first: bool) -> bool:
            shown.append(option)
            return plan[len(shown) - 1]

    asked = Asked(question.id, DOMC, order)
    session.run(Attempt("practice", None, 1, None, 0.0, [asked]), Bank(BANK.domains, (question,)), Sam(),
                clock=lambda: 0.0)
    assert shown == [1, 0] and asked.said == [False, False]  # two options answered; host and macvlan never shown
    assert outcome(asked, question) == WRONG
    assert outcome(Asked(question.id, DOMC, order, said=plan), question) == WRONG  # the plan, scored: the same
    section = " ".join(CAREER.read_text(encoding="utf-8").split("## Practice: predict, then fix", 1)[1].split())
    assert text in section
    assert section.index("`bridge`") < section.index("`overlay`") < section.index("`host`") < section.index("`macvlan`")


def test_career_practice_question_with_two_right_options_breaks_the_banks_rules(tmp_path: Path) -> None:
    """The Fix this: the study group's question marks two options correct, and the bank's loader refuses it with the
    message the page quotes; the fixed question the answer shows loads, with one right option and a why for each."""
    said = "wrong-domc-question.yaml, question stor-901: 2 options are marked correct; exactly one must be"
    for name in ("wrong-domc-question.yaml", "domc-question.yaml"):
        (tmp_path / name.removesuffix(".yaml")).mkdir()
        (tmp_path / name.removesuffix(".yaml") / name).write_text((CAREER_SAMPLES / name).read_text(encoding="utf-8"))
    with pytest.raises(BankError) as raised:
        load(OBJECTIVES, tmp_path / "wrong-domc-question")
    assert str(raised.value) == said
    assert said in " ".join(CAREER.read_text(encoding="utf-8").split())
    fixed = load(OBJECTIVES, tmp_path / "domc-question")
    (question,) = fixed.questions
    assert sum(o.correct for o in question.options) == 1 and all(o.why for o in question.options)
    assert question.options[question.right].answer == "`-v data:/data:ro`"
