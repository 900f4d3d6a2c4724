"""Train the iris classifier and save it next to the app. Runs at build time: no download needed,
scikit-learn ships the iris data set."""

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

iris = load_iris(as_frame=True)
X = iris.data.set_axis(FEATURES, axis=1)
y = iris.target_names[iris.target]

model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X, y)
joblib.dump(model, "model.joblib")
print(f"trained on {len(X)} rows, training accuracy {model.score(X, y):.3f}")
