"""Build step: read reference.txt and save its vocabulary to vocabulary.json.

It runs while the image builds (RUN python build_vocabulary.py), the way a model is trained in the
build: the file the service needs is made from inputs in the build context, never copied in.
"""

import json
import re
from pathlib import Path

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")

words = WORD.findall(Path("reference.txt").read_text(encoding="utf-8").lower())
vocabulary = sorted(set(words))
Path("vocabulary.json").write_text(json.dumps(vocabulary), encoding="utf-8")
print(f"read {len(words)} words, saved a vocabulary of {len(vocabulary)}")
