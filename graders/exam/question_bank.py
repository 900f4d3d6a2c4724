"""The certification question bank: the exam's domains and objectives (objectives.yaml) and the questions
(bank/<domain>.yaml), loaded and checked together. Every question has one right option among three to five,
an explanation for each option, the objective it tests, and the lesson section that teaches it.

Any question can be asked either way: as ordinary multiple choice (every option shown, one picked) or as DOMC
(options one at a time, yes or no to each; graders/exam/session.py)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
OBJECTIVES = HERE / "objectives.yaml"
BANK = HERE / "bank"
ID = re.compile(r"[a-z]+-\d{3}")
LESSON = re.compile(r"(?P<page>[a-z0-9-]+\.md)#(?P<anchor>[a-z0-9_-]+)")


class BankError(ValueError):
    """The bank's files are wrong: the message names the file, the question and the rule."""


@dataclass(frozen=True)
class Objective:
    id: str
    domain: str
    text: str
    product: bool  # about Mirantis's enterprise products, which the course does not teach
    lessons: tuple[str, ...] = ()  # course sections (page.md#anchor) that teach it
    labs: tuple[str, ...] = ()  # labs whose task has the learner do it


@dataclass(frozen=True)
class Domain:
    id: str
    title: str
    weight: int  # percent of the exam
    objectives: tuple[Objective, ...]


@dataclass(frozen=True)
class Option:
    answer: str
    correct: bool
    why: str


@dataclass(frozen=True)
class Question:
    id: str
    domain: str
    objective: str
    question: str
    options: tuple[Option, ...]
    lesson: str  # page.md#anchor in course/

    @property
    def right(self) -> int:
        return next(i for i, option in enumerate(self.options) if option.correct)


@dataclass(frozen=True)
class Bank:
    domains: tuple[Domain, ...]
    questions: tuple[Question, ...]

    def domain(self, domain_id: str) -> Domain:
        for domain in self.domains:
            if domain.id == domain_id:
                return domain
        raise KeyError(domain_id)

    def of(self, domain_id: str) -> list[Question]:
        return [q for q in self.questions if q.domain == domain_id]

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)


def _domains(data: Any) -> tuple[Domain, ...]:
    domains = []
    for item in data["domains"]:
        objectives = tuple(Objective(o["id"], item["id"], o["text"], bool(o.get("product")), tuple(o.get("lessons") or ()),
                                     tuple(o.get("labs") or ())) for o in item["objectives"])
        domains.append(Domain(item["id"], item["title"], int(item["weight"]), objectives))
    if sum(d.weight for d in domains) != 100:
        raise BankError(f"{OBJECTIVES.name}: the domains' weights add up to {sum(d.weight for d in domains)}, not 100")
    return tuple(domains)


def _question(path: Path, domain: Domain, item: Any) -> Question:
    where = f"{path.name}, question {item.get('id', '?') if isinstance(item, dict) else '?'}"
    if not isinstance(item, dict):
        raise BankError(f"{where}: a question is a mapping")
    missing = {"id", "objective", "question", "options", "lesson"} - set(item)
    if missing:
        raise BankError(f"{where}: missing {', '.join(sorted(missing))}")
    if not ID.fullmatch(str(item["id"])):
        raise BankError(f"{where}: an id is a word and three digits, like orch-001")
    if item["objective"] not in {o.id for o in domain.objectives}:
        raise BankError(f"{where}: `{item['objective']}` is not an objective of the domain {domain.id}")
    if not LESSON.fullmatch(str(item["lesson"])):
        raise BankError(f"{where}: the lesson link must be page.md#anchor, not {item['lesson']!r}")
    options = []
    for option in item["options"] or []:
        if not isinstance(option, dict) or not str(option.get("answer", "")).strip() or not str(option.get("why", "")).strip():
            raise BankError(f"{where}: every option needs an `answer` and a `why`")
        options.append(Option(str(option["answer"]).strip(), option.get("correct") is True, str(option["why"]).strip()))
    if not 3 <= len(options) <= 5:
        raise BankError(f"{where}: {len(options)} options; a question has three to five")
    if sum(o.correct for o in options) != 1:
        raise BankError(f"{where}: {sum(o.correct for o in options)} options are marked correct; exactly one must be")
    if len({o.answer for o in options}) != len(options):
        raise BankError(f"{where}: two options read the same")
    return Question(str(item["id"]), domain.id, str(item["objective"]), str(item["question"]).strip(), tuple(options),
                    str(item["lesson"]))


def load(objectives: Path = OBJECTIVES, bank: Path = BANK) -> Bank:
    """The whole bank, checked; BankError says what is wrong first."""
    domains = _domains(yaml.safe_load(objectives.read_text(encoding="utf-8")))
    by_id = {d.id: d for d in domains}
    questions: list[Question] = []
    for path in sorted(bank.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        domain = by_id.get(str(data.get("domain")))
        if domain is None:
            raise BankError(f"{path.name}: `domain:` must be one of {', '.join(by_id)}")
        questions += [_question(path, domain, item) for item in data.get("questions") or []]
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise BankError(f"question id {question.id} is used twice")
        seen.add(question.id)
    return Bank(domains, tuple(questions))


@functools.cache
def default() -> Bank:
    return load()
