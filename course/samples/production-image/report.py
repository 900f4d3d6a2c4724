"""Print the versions of the data-science packages in the image, then fit a tiny model with them.

The script of "Other ways to install the environment": the uv and the micromamba images run it, so
`docker run` shows at once which numpy, pandas and scikit-learn each one installed.
"""

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LinearRegression

print(f"numpy {np.__version__}, pandas {pd.__version__}, scikit-learn {sklearn.__version__}")

# Ten seeded points on the line y = 2x + 1, with a little noise: the same numbers on every run.
rng = np.random.default_rng(42)
frame = pd.DataFrame({"x": np.arange(10.0)})
frame["y"] = 2 * frame["x"] + 1 + rng.normal(0, 0.1, len(frame))
model = LinearRegression().fit(frame[["x"]], frame["y"])
print(f"slope {model.coef_[0]:.2f}, intercept {model.intercept_:.2f}")
