# The same image with its packages pinned: a rebuild installs these versions, not the newest ones.
FROM python:3.13-slim

RUN pip install --no-cache-dir pandas==3.1.1 scikit-learn==1.9.1

WORKDIR /app
COPY env_fingerprint.py .
CMD ["python", "env_fingerprint.py"]
