"""The question bank as the course site's practice page reads it (course/exam.md, assets/javascripts/exam.js):
one JSON file written at build time by the site's hooks, so the page always asks the bank's current questions.
Lesson links become the site's own addresses, relative to the practice page."""

from __future__ import annotations

import json

from graders.exam.question_bank import Bank
from graders.exam.session import MOCK_MC, MOCK_MINUTES, MOCK_QUESTIONS, weighted_counts

PATH = "assets/generated/exam-bank.json"


def site_url(lesson: str) -> str:
    """`swarm.md#rolling-updates` as the practice page (at exam/) links it: `../swarm/#rolling-updates`."""
    page, _, anchor = lesson.partition("#")
    return f"../{page.removesuffix('.md')}/" + (f"#{anchor}" if anchor else "")


def bank_json(bank: Bank) -> str:
    return json.dumps({
        "mock": {"questions": MOCK_QUESTIONS, "mc": MOCK_MC, "minutes": MOCK_MINUTES,
                 "counts": weighted_counts(bank, MOCK_QUESTIONS)},
        "domains": [{"id": d.id, "title": d.title, "weight": d.weight} for d in bank.domains],
        "questions": [{"id": q.id, "domain": q.domain, "question": q.question, "lesson": site_url(q.lesson),
                       "options": [{"answer": o.answer, "correct": o.correct, "why": o.why} for o in q.options]}
                      for q in bank.questions],
    }, separators=(",", ":"))
