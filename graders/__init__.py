"""Graders for Docker Mastery for Data Science: build what the learner wrote, run it, say what works."""

from graders.results import Category, CheckResult, GradeReport, Status

__all__ = ["Category", "CheckResult", "GradeReport", "Status"]
__version__ = "0.1.0"
