FROM python:3.13-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# JupyterLab and the analysis libraries, pinned in requirements.txt.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt

# MISTAKE: no user is created and there is no USER line, so JupyterLab would run as root.
WORKDIR /notebooks

# The project's readings and a first exploration of them (explore.py), outside /notebooks: a folder mounted
# there hides whatever the image has in it.
COPY readings.csv explore.py /project/

EXPOSE 8888
# /api answers without a token: enough to know that the server is up.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/api', timeout=2)"]
# 0.0.0.0: listen on every interface of the container, so the published port reaches the server.
# No token here: JupyterLab reads JUPYTER_TOKEN from the environment when the container starts.
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
