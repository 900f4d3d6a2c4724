"""How much of the certification exam the course teaches: each objective with the lesson sections that teach it
and the labs that have the learner do it (objectives.yaml), as the README's coverage table. Written by
`scripts/check_exam_bank.py --coverage`; tests/test_exam.py fails while the README's copy is out of date."""

from __future__ import annotations

from dataclasses import dataclass

from graders.exam.question_bank import Bank, Objective

START, END = "<!-- exam-coverage:start -->", "<!-- exam-coverage:end -->"


@dataclass(frozen=True)
class Coverage:
    counted: int  # objectives outside Mirantis's products
    taught_and_practised: int  # a lesson section and a lab
    taught: int  # a lesson section (with or without a lab)

    @property
    def percent(self) -> float:
        return 100.0 * self.taught / self.counted if self.counted else 0.0


def coverage(bank: Bank) -> Coverage:
    counted = [o for d in bank.domains for o in d.objectives if not o.product]
    return Coverage(len(counted), sum(bool(o.lessons and o.labs) for o in counted), sum(bool(o.lessons) for o in counted))


def _cell(objective: Objective) -> tuple[str, str]:
    lessons = ", ".join(f"[{link}](course/{link})" for link in objective.lessons) or "none"
    labs = ", ".join(f"`{lab}`" for lab in objective.labs) or "none"
    return lessons, labs


def markdown(bank: Bank) -> str:
    total = coverage(bank)
    lines = [START, "",
             f"{total.taught} of the {total.counted} objectives outside Mirantis's products are taught by a lesson "
             f"section ({total.percent:.0f}%), {total.taught_and_practised} of them practised in a lab as well.", ""]
    for domain in bank.domains:
        mine = [o for o in domain.objectives if not o.product]
        taught = sum(bool(o.lessons) for o in mine)
        lines += [f"**{domain.title}** ({domain.weight}% of the exam): {taught} of {len(mine)} taught", "",
                  "| Objective | Lesson sections | Labs |", "| --- | --- | --- |"]
        for objective in domain.objectives:
            lessons, labs = _cell(objective)
            mark = " (Mirantis product: not taught)" if objective.product else ""
            lines.append(f"| {objective.text}{mark} | {lessons} | {labs} |")
        lines.append("")
    return "\n".join([*lines, END])


def replaced(readme: str, bank: Bank) -> str:
    """The README with its coverage table (between the markers) written anew."""
    before, _, rest = readme.partition(START)
    _, _, after = rest.partition(END)
    return before + markdown(bank) + after
