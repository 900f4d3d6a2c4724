FROM python:3.13-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# JupyterLab and the analysis libraries, pinned in requirements.txt.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt

RUN useradd --create-home --uid 1000 --no-log-init analyst \
    && mkdir /notebooks \
    && chown analyst:analyst /notebooks
USER analyst
WORKDIR /notebooks

# The project's readings and a first exploration of them (explore.py), outside /notebooks: a folder mounted
# there hides whatever the image has in it. COPY makes them root's, so the analyst can read them, not change them.
COPY readings.csv explore.py /project/

EXPOSE 8888
# /api answers without a token: enough to know that the server is up.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/api', timeout=2)"]

# Added after JupyterLab said "Permission denied: Untitled.ipynb" for the mounted notebook folder.
USER root
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
