#!/bin/bash
# The line-fit training job on a Slurm cluster, with Apptainer instead of Docker. Submit it with:
#   sbatch train-apptainer.sbatch.sh
# Slurm reads the #SBATCH lines up to the first command; to bash they are comments.
#SBATCH --job-name=line-fit
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=01:00:00
#SBATCH --output=%x-%j.out
set -euo pipefail

# line-fit.sif is the Docker image line-fit:gpu, converted once, for example on your workstation:
#   docker save line-fit:gpu -o line-fit.tar
#   apptainer build line-fit.sif docker-archive:line-fit.tar
# On many clusters Apptainer comes as a module first: `module load apptainer`.
image="${IMAGE:-line-fit.sif}"
mkdir -p runs

# Slurm usually names the GPUs it gave this job in CUDA_VISIBLE_DEVICES. --containall keeps the host's
# environment out of the container; variables prefixed APPTAINERENV_ still get in, without the prefix.
if [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
    export APPTAINERENV_CUDA_VISIBLE_DEVICES="$CUDA_VISIBLE_DEVICES"
fi

# --nv          the host's NVIDIA devices and driver libraries (no Container Toolkit needed)
# --containall  no $HOME, /tmp or current folder from the host, a clean environment, own PID and IPC namespaces
# --bind        the one folder the job writes to (runs/model.json): the image itself is read-only
# --pwd /app    Apptainer ignores WORKDIR, and the image's CMD, `python train.py readings.csv runs/model.json`,
#               names its files relative to /app
# `apptainer run` runs the runscript made from the image's ENTRYPOINT and CMD, as you, not as its USER.
apptainer run --nv --containall \
    --bind "$PWD/runs:/app/runs" \
    --pwd /app \
    "$image"
