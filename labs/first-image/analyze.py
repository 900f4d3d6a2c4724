"""Summarise the wine data set and train a small classifier: the job this lab packages into an image.

scikit-learn ships the data set, so the job needs no download and no files from data/.
"""

from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

wine = load_wine(as_frame=True)
frame = wine.frame
print(f"rows: {len(frame)}, columns: {frame.shape[1]}")
print("mean alcohol by class:")
print(frame.groupby("target")["alcohol"].mean().round(2).to_string())

X_train, X_test, y_train, y_test = train_test_split(
    wine.data, wine.target, test_size=0.25, random_state=0, stratify=wine.target)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X_train, y_train)
print(f"accuracy: {model.score(X_test, y_test):.3f}")
