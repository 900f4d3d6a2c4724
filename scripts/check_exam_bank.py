"""Load the certification question bank and check it: the rules of graders/exam/question_bank.py, then every lesson link.
Prints the questions per domain and objective, and every problem; exits 1 when there is one.

    .venv/bin/python scripts/check_exam_bank.py [--anchors PAGE.md] [--coverage]

--coverage also writes the README's table of the objectives the course covers (graders/exam/coverage.py).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graders.exam.coverage import coverage, replaced
from graders.exam.links import COURSE, anchors, broken_links
from graders.exam.question_bank import BankError, load
from graders.labs import all_labs
from graders.spec import REPO_ROOT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anchors", metavar="PAGE.md", help="list the anchors a page's sections have, and stop")
    parser.add_argument("--coverage", action="store_true", help="write the README's coverage table")
    args = parser.parse_args()
    if args.anchors:
        print("\n".join(sorted(anchors(COURSE / args.anchors))))
        return 0
    try:
        bank = load()
    except BankError as exc:
        print(f"bank: {exc}")
        return 1
    per_objective = Counter(q.objective for q in bank.questions)
    for domain in bank.domains:
        print(f"{domain.id} ({domain.weight}%): {len(bank.of(domain.id))} questions")
        for objective in domain.objectives:
            print(f"  {per_objective[objective.id]:3d}  {objective.id}{' (product)' if objective.product else ''}")
    problems = broken_links(bank)
    problems += [f"{o.id}: no lab {lab}" for d in bank.domains for o in d.objectives for lab in o.labs
                 if lab not in all_labs()]
    print("\n".join(problems) or "every lesson link resolves")
    if args.coverage and not problems:
        readme = REPO_ROOT / "README.md"
        readme.write_text(replaced(readme.read_text(encoding="utf-8"), bank), encoding="utf-8")
        print(f"README.md: {coverage(bank).percent:.0f}% of the objectives outside Mirantis's products taught")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
