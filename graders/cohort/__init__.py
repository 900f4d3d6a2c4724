"""Grading a cohort: every learner's submission of one lab, several at a time, over one or more engines,
with each result stored so that an interrupted or repeated run grades only what is new.

discover.py finds the submissions, fingerprint.py keys them, store.py keeps the results, pool.py schedules
the gradings, class_csv.py writes the class's table."""
