"""Text statistics over HTTP: the worked example of the lesson "Serving a model over HTTP".

GET  /health -> 200 {"status": "ok"}
POST /stats  -> body {"text": "..."}
                answer {"characters": ..., "words": ..., "sentences": ..., "unknown_words": [...]}

vocabulary.json is made by build_vocabulary.py while the image builds, the way a model is
trained in the build. "unknown_words" lists the words of the text that are not in it.
"""

import json
import os
import re

from flask import Flask, jsonify, request

WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
VOCABULARY_PATH = os.environ.get("VOCABULARY_PATH", "vocabulary.json")

app = Flask(__name__)
with open(VOCABULARY_PATH, encoding="utf-8") as f:
    VOCABULARY = frozenset(json.load(f))


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/stats")
def stats():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return jsonify(error='send a JSON object like {"text": "..."}'), 400
    text = body["text"]
    words = WORD.findall(text.lower())
    return jsonify(
        characters=len(text),
        words=len(words),
        sentences=len(SENTENCE_END.findall(text)),
        unknown_words=sorted({w for w in words if w not in VOCABULARY}),
    )


if __name__ == "__main__":
    # For trying the app out on your laptop only. In the image, gunicorn serves it (see the Dockerfile).
    app.run(host="127.0.0.1", port=9000)
