"""Load the certification question bank and check it: the rules of graders/exam/question_bank.py, then every lesson link.
Prints the questions per domain and objective, and every problem; exits 1 when there is one.

    .venv/bin/python scripts/check_exam_bank.py [--anchors PAGE.md]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graders.exam.links import COURSE, anchors, broken_links
from graders.exam.question_bank import BankError, load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anchors", metavar="PAGE.md", help="list the anchors a page's sections have, and stop")
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
    print("\n".join(problems) or "every lesson link resolves")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
