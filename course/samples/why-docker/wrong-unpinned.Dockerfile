# An image for an analysis, meant to give the same environment every time anyone builds it.
FROM python:3.13-slim

RUN pip install --no-cache-dir pandas scikit-learn

WORKDIR /app
COPY env_fingerprint.py .
CMD ["python", "env_fingerprint.py"]
