# Start from the official Python image, with Python and pip ready to use.
FROM python

# Log lines reach `docker logs` at once, and no .pyc files are written into the image.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The user that will run the script (created early: this layer rarely changes).
RUN useradd --create-home --uid 10001 --no-log-init analyst

# Dependencies first: this layer comes from the cache until requirements.txt changes.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code last: editing it rebuilds only this layer and the ones after it.
COPY summarize.py .

# From here on, and when the container runs, the process is analyst, not root.
USER analyst

CMD ["python", "summarize.py"]
