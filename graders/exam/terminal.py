"""`mastery exam` in a terminal: questions asked with click's prompts, the score by domain, and the review of
every question not answered right, with the lesson section to read."""

from __future__ import annotations

from pathlib import Path

import click

from graders.exam import session
from graders.exam.question_bank import Bank, Question, default
from graders.exam.session import Attempt, review, score

LETTERS = "ABCDE"


class TerminalAsker:
    def _head(self, number: int, total: int, question: Question) -> None:
        click.echo(f"\nQuestion {number} of {total} ({question.domain})")
        click.echo(question.question)

    def multiple_choice(self, number: int, total: int, question: Question, order: list[int]) -> int:
        self._head(number, total, question)
        for position, option in enumerate(order):
            click.echo(f"  {LETTERS[position]}. {question.options[option].answer}")
        letters = LETTERS[:len(order)]
        picked = click.prompt(f"Your answer ({'/'.join(letters)})", type=click.Choice(list(letters), case_sensitive=False))
        return letters.index(picked.upper())

    def discrete(self, number: int, total: int, question: Question, option: int, first: bool) -> bool:
        if first:
            self._head(number, total, question)
            click.echo("Options come one at a time: answer y if this option is correct, n if it is not.")
        click.echo(f"  > {question.options[option].answer}")
        return bool(click.prompt("  Correct?", type=click.Choice(["y", "n"], case_sensitive=False)).lower() == "y")


def report(attempt: Attempt, bank: Bank) -> None:
    result = score(attempt, bank)
    ended = " (time ran out: unanswered questions count as not right)" if attempt.timed_out else ""
    click.echo(f"\nScore: {result.right} of {result.total} right, {result.percent:.0f}%{ended}")
    for domain in result.domains:
        click.echo(f"  {domain.title:<45} {domain.right:>3}/{domain.asked:<3} {domain.percent:5.0f}%")
    wrong = review(attempt, bank)
    if not wrong:
        return
    click.echo(f"\nReview: {len(wrong)} question(s) to read again")
    for item in wrong:
        click.echo(f"\n[{item['id']}] {item['question']}")
        if item["said"]:
            click.echo("  You said: " + " | ".join(item["said"]))
        else:
            click.echo("  Not answered.")
        for why in item["why_not"]:
            click.echo(f"  Why not: {why}")
        click.echo(f"  Right answer: {item['right']}")
        click.echo(f"  Why: {item['why']}")
        click.echo(f"  Read: course/{item['lesson']}")


def take(*, mock: bool, domain: str | None = None, count: int = 10, mode: str = session.DOMC,
         minutes: float | None = None, seed: int | None = None, save: Path | str | None = None) -> Attempt:
    """An exam from the first question to the score and the review, in a terminal or a notebook (click's prompts
    read the notebook's input box). With `save`, the record is written after every answer."""
    bank = default()
    attempt = session.new_attempt(bank, mock=mock, seed=seed, domain=domain, count=count, mode=mode, minutes=minutes)
    limit = f", {attempt.minutes:g} minutes" if attempt.minutes else ""
    click.echo(f"{'Mock exam' if mock else 'Practice'}: {len(attempt.asked)} questions{limit} (seed {attempt.seed}).")
    path = Path(save) if save is not None else None
    keep = (lambda a: session.save(a, path)) if path is not None else None
    session.run(attempt, bank, TerminalAsker(), after_each=keep)
    if keep is not None:
        keep(attempt)
    report(attempt, bank)
    return attempt
