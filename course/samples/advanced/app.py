"""Ice-cream sales from temperature over HTTP: the worked example of the lesson "Advanced patterns".

GET /health                     -> 200 {"status": "ok"}
GET /predict?temperature=25     -> {"temperature": 25.0, "sales": ...}
GET /about                      -> the CPU the model was trained on, and the one serving it
"""

import json
import os
import platform

from flask import Flask, jsonify, request

MODEL_PATH = os.environ.get("MODEL_PATH", "model.json")

app = Flask(__name__)
with open(MODEL_PATH, encoding="utf-8") as f:
    MODEL = json.load(f)


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.get("/predict")
def predict():
    temperature = request.args.get("temperature", type=float)
    if temperature is None:
        return jsonify(error="ask like /predict?temperature=25"), 400
    sales = MODEL["slope"] * temperature + MODEL["intercept"]
    return jsonify(temperature=temperature, sales=round(sales, 1))


@app.get("/about")
def about():
    return jsonify(trained_on=MODEL["trained_on"], serving_on=platform.machine())


if __name__ == "__main__":
    # For trying the app out on your laptop only. In the image, gunicorn serves it (see the Dockerfile).
    app.run(host="127.0.0.1", port=8000)
