"""Lab dca-exam: a timed mock exam in the style of the Docker Certified Associate (55 questions in 90 minutes, 13
multiple choice and 42 DOMC, drawn by the domains' weights), taken in the notebook. The grader scores the record of
answers again from the question bank (graders/exam) and passes each domain at 70% or more."""

from __future__ import annotations

from pathlib import Path

from graders.checks.exam import domain_score, mock_completed
from graders.spec import LabSpec

# (domain id, title, points): the exam's weights, times 0.9; mock_completed has the other 10.
DOMAINS = (("orchestration", "Orchestration", 22.5), ("images", "Image creation, management and registry", 18),
           ("install", "Installation and configuration", 13.5), ("networking", "Networking", 13.5),
           ("security", "Security", 13.5), ("storage", "Storage and volumes", 9))

SPEC = LabSpec(
    id="dca-exam",
    title="A mock exam in the style of the Docker Certified Associate",
    lesson="career.md",
    kind="exam-attempt",
    files=(),  # mock-exam.json, which the notebook's exam cell writes
    base_images=(),
    folder=Path(__file__).parent,
    port=None,
    checks=(mock_completed(10), *(domain_score(points, domain, title) for domain, title, points in DOMAINS)),
)
