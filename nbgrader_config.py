"""nbgrader configuration for instructors: the labs/ folder is the course's source folder.

Run nbgrader from the repository root (nbgrader generate_assignment ml-api, collect, autograde, ...).
"""

from pathlib import Path

from graders.labs import all_labs

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - injected by nbgrader

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.source_directory = "labs"
c.CourseDirectory.course_id = "docker-mastery"
# Reference solutions never live in labs/, but keep anything named so out of a release regardless.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "solution", "model.joblib", ".pytest_cache"]
# A first build downloads Python packages: far longer than nbgrader's default 30 s cell timeout.
c.ExecutePreprocessor.timeout = 1800
# autograde puts the source's copy of every other file back; the files a learner hands in must stay theirs.
c.Autograde.exclude_overwriting = {lab.id: list(lab.files) for lab in all_labs().values()}
c.ClearSolutions.code_stub = {"python": "# your code here"}
