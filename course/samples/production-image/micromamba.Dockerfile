# A conda environment in an image: environment.yml, installed by micromamba.
FROM mambaorg/micromamba:2.8.1

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# The image already runs as a user that is not root ($MAMBA_USER, UID 57439), and its environment
# `base` lives in /opt/conda. Give that user the file it installs from.
COPY --chown=$MAMBA_USER:$MAMBA_USER environment.yml /tmp/environment.yml
RUN micromamba install --yes --name base --file /tmp/environment.yml \
    && micromamba clean --all --yes

# RUN steps see the environment only with this build argument set (and in shell form):
# without it, the next line stops the build because there is no `python` to run.
ARG MAMBA_DOCKERFILE_ACTIVATE=1
RUN python -c "import numpy, pandas, sklearn"

WORKDIR /app
COPY report.py .

# No ENTRYPOINT of our own: the image's entrypoint, /usr/local/bin/_entrypoint.sh, activates the
# environment and then runs this CMD. Replace the entrypoint and `python` is no longer found.
CMD ["python", "report.py"]
