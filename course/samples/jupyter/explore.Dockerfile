# The lesson's image with the exploration as its command: what
#   docker run --rm -v "$PWD/notebooks:/notebooks" --user "$(id -u):$(id -g)" ds-lab:1.0 python /project/explore.py
# does with the image of Dockerfile. The course's tests build this file to check what explore.py prints; its
# lines up to the COPY are Dockerfile's, so the build reuses that image's layers.
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

COPY readings.csv explore.py /project/

CMD ["python", "/project/explore.py"]
