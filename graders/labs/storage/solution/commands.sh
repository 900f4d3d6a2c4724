#!/usr/bin/env bash
# The reference solution of storage: the commands a learner types in a terminal, in the lab's folder.
# The lab tests run it against their engine, grade, then remove every object labelled course.lab=storage and
# every object with the task's names.

# 1. The dataset and the training script in a named volume, streamed in through a container's standard input.
docker volume create --label course.lab=storage sto-data
docker run --rm -i --label course.lab=storage -v sto-data:/data python:3.13-slim \
  sh -c 'cat > /data/measurements.csv' < data/measurements.csv
docker run --rm -i --label course.lab=storage -v sto-data:/data python:3.13-slim \
  sh -c 'cat > /data/train.py' < train.py

# 2. A volume for the model, and the job: a read-only root filesystem, the data read-only, the models writable,
#    and 64 MB of scratch space in memory.
docker volume create --label course.lab=storage sto-models
docker run --name sto-train --label course.lab=storage \
  --read-only \
  -v sto-data:/data:ro \
  -v sto-models:/models \
  --tmpfs /scratch:size=64m \
  python:3.13-slim python /data/train.py

# 3. A volume in memory: the local driver mounts a tmpfs, at most 32 MB, when a container first uses it.
docker volume create --label course.lab=storage \
  --driver local --opt type=tmpfs --opt device=tmpfs --opt o=size=32m sto-cache

# 4. Where this engine keeps its data.
docker info --format '{{.Driver}}' > storage.txt
docker volume inspect --format '{{.Mountpoint}}' sto-data >> storage.txt
