"""A practice exam: questions drawn from the bank (by domain, or a mock exam drawn by the domains' weights),
asked as ordinary multiple choice or as DOMC, timed, recorded answer by answer, and scored from that record.

DOMC (discrete option multiple choice): the options come one at a time, in a random order, and each is answered
yes or no with no going back. The question ends at the first wrong answer (yes to a wrong option, no to the
right one) or when the right option is accepted.

An attempt is kept as JSON (what was shown and answered, never the score), so a score can always be worked out
again from the bank (`score`): a grader trusts the record of answers, not a number someone wrote down."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from graders.exam.question_bank import Bank, Question

MC, DOMC = "mc", "domc"
Mode = Literal["mc", "domc"]
MOCK_QUESTIONS = 55
MOCK_MC = 13  # the rest (42) are DOMC, as in the exam
MOCK_MINUTES = 90
RIGHT, WRONG, UNANSWERED = "right", "wrong", "unanswered"


@dataclass
class Asked:
    """One question of an attempt: how it was shown, and what the learner answered."""

    id: str
    mode: str  # MC or DOMC
    order: list[int]  # the bank's option indices, in the order shown
    choice: int | None = None  # MC: the bank's index of the option picked
    said: list[bool] = field(default_factory=list)  # DOMC: yes/no to order[0], order[1], ... until it ended


@dataclass
class Attempt:
    kind: str  # "mock" or "practice"
    domain: str | None  # practice: the domain drawn from; None for all
    seed: int
    minutes: float | None  # the time allowed; None: untimed
    started: float  # time.time()
    asked: list[Asked]
    finished: float | None = None
    timed_out: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Attempt:
        data = json.loads(text)
        data["asked"] = [Asked(**item) for item in data["asked"]]
        return cls(**data)


def weighted_counts(bank: Bank, total: int) -> dict[str, int]:
    """How many questions of each domain a mock exam of `total` draws: the weights' shares, rounded so that
    they add up to `total` (the largest remainders get the leftover questions)."""
    shares = {d.id: total * d.weight / 100 for d in bank.domains}
    counts = {d: int(share) for d, share in shares.items()}
    for domain in sorted(shares, key=lambda d: shares[d] - counts[d], reverse=True)[:total - sum(counts.values())]:
        counts[domain] += 1
    return counts


def draw_mock(bank: Bank, seed: int, total: int = MOCK_QUESTIONS, mc: int = MOCK_MC) -> list[Asked]:
    rng = random.Random(seed)
    drawn: list[Question] = []
    for domain, count in weighted_counts(bank, total).items():
        pool = bank.of(domain)
        if len(pool) < count:
            raise ValueError(f"the bank has {len(pool)} questions of {domain}; a mock exam needs {count}")
        drawn += rng.sample(pool, count)
    rng.shuffle(drawn)
    as_mc = set(rng.sample(range(len(drawn)), min(mc, len(drawn))))
    return [_asked(q, MC if i in as_mc else DOMC, rng) for i, q in enumerate(drawn)]


def draw_practice(bank: Bank, seed: int, count: int, domain: str | None = None, mode: str = DOMC) -> list[Asked]:
    rng = random.Random(seed)
    pool = bank.of(domain) if domain else list(bank.questions)
    return [_asked(q, mode, rng) for q in rng.sample(pool, min(count, len(pool)))]


def _asked(question: Question, mode: str, rng: random.Random) -> Asked:
    order = list(range(len(question.options)))
    rng.shuffle(order)
    return Asked(question.id, mode, order)


def outcome(asked: Asked, question: Question) -> str:
    """RIGHT, WRONG or UNANSWERED, worked out from what was answered."""
    if asked.mode == MC:
        if asked.choice is None:
            return UNANSWERED
        return RIGHT if asked.choice == question.right else WRONG
    for position, yes in enumerate(asked.said):
        correct = question.options[asked.order[position]].correct
        if yes != correct:
            return WRONG
        if yes:
            return RIGHT
    return UNANSWERED


@dataclass(frozen=True)
class DomainScore:
    domain: str
    title: str
    right: int
    asked: int

    @property
    def percent(self) -> float:
        return 100.0 * self.right / self.asked if self.asked else 0.0


@dataclass(frozen=True)
class Score:
    right: int
    wrong: int
    unanswered: int
    domains: list[DomainScore]

    @property
    def total(self) -> int:
        return self.right + self.wrong + self.unanswered

    @property
    def percent(self) -> float:
        return 100.0 * self.right / self.total if self.total else 0.0


def score(attempt: Attempt, bank: Bank) -> Score:
    """The attempt's score from its answers; a question not answered (the time ran out) counts as not right."""
    outcomes = [(bank.question(a.id), outcome(a, bank.question(a.id))) for a in attempt.asked]
    domains = []
    for domain in bank.domains:
        mine = [result for question, result in outcomes if question.domain == domain.id]
        if mine:
            domains.append(DomainScore(domain.id, domain.title, mine.count(RIGHT), len(mine)))
    results = [result for _, result in outcomes]
    return Score(results.count(RIGHT), results.count(WRONG), results.count(UNANSWERED), domains)


class Asker(Protocol):
    """How a question reaches the learner: a terminal (graders/exam/terminal.py) or a notebook."""

    def multiple_choice(self, number: int, total: int, question: Question, order: list[int]) -> int:
        """The position (in `order`) of the option picked."""

    def discrete(self, number: int, total: int, question: Question, option: int, first: bool) -> bool:
        """Yes or no to the bank's option `option`; `first`: the question's first option shown."""


def run(attempt: Attempt, bank: Bank, asker: Asker, clock: Callable[[], float] = time.time,
        after_each: Callable[[Attempt], None] | None = None) -> Attempt:
    """Ask every question in turn until the end or the time limit; the attempt records each answer as it is given
    (`after_each` may save it), so an exam stopped half-way keeps what was answered."""
    deadline = attempt.started + attempt.minutes * 60 if attempt.minutes else None
    total = len(attempt.asked)
    for number, asked in enumerate(attempt.asked, 1):
        if deadline is not None and clock() >= deadline:
            attempt.timed_out = True
            break
        question = bank.question(asked.id)
        if asked.mode == MC:
            asked.choice = asked.order[asker.multiple_choice(number, total, question, asked.order)]
        else:
            for position, option in enumerate(asked.order):
                yes = asker.discrete(number, total, question, option, position == 0)
                asked.said.append(yes)
                if yes or question.options[option].correct:
                    break  # accepted (right or wrong), or the right option refused: the question ends
                if deadline is not None and clock() >= deadline:
                    break
        if after_each is not None:
            after_each(attempt)
    attempt.finished = clock()
    if deadline is not None and attempt.finished >= deadline:
        attempt.timed_out = attempt.timed_out or any(outcome(a, bank.question(a.id)) == UNANSWERED for a in attempt.asked)
    return attempt


def new_attempt(bank: Bank, *, mock: bool, seed: int | None = None, domain: str | None = None, count: int = 10,
                mode: str = DOMC, minutes: float | None = None, clock: Callable[[], float] = time.time) -> Attempt:
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    if mock:
        return Attempt("mock", None, seed, minutes if minutes is not None else MOCK_MINUTES, clock(), draw_mock(bank, seed))
    return Attempt("practice", domain, seed, minutes, clock(), draw_practice(bank, seed, count, domain, mode))


def save(attempt: Attempt, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(attempt.to_json(), encoding="utf-8")


def load(path: Path) -> Attempt:
    return Attempt.from_json(path.read_text(encoding="utf-8"))


def review(attempt: Attempt, bank: Bank) -> list[dict[str, Any]]:
    """Each question not answered right: what was asked, what the learner said, the right answer, why each was
    right or wrong, and the lesson section to read."""
    found = []
    for asked in attempt.asked:
        question = bank.question(asked.id)
        result = outcome(asked, question)
        if result == RIGHT:
            continue
        if asked.mode == MC:
            said = [question.options[asked.choice].answer] if asked.choice is not None else []
            whys = [question.options[asked.choice].why] if asked.choice is not None else []
        else:
            said = [f"{'yes' if yes else 'no'}: {question.options[asked.order[i]].answer}" for i, yes in enumerate(asked.said)]
            last = question.options[asked.order[len(asked.said) - 1]] if asked.said else None
            whys = [last.why] if last is not None and not last.correct else []  # a wrong option accepted
        right = question.options[question.right]
        found.append({"id": question.id, "domain": question.domain, "question": question.question, "result": result,
                      "said": said, "why_not": whys, "right": right.answer, "why": right.why, "lesson": question.lesson})
    return found
