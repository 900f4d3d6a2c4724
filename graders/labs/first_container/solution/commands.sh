#!/usr/bin/env bash
# The reference solution of first-container: the commands a learner types in a terminal, in the lab's folder.
# The lab tests run it against their engine, grade, then remove every container labelled course.lab=first-container.

# 1. A container that keeps running, in the background (-d).
docker run -d --name first-box --label course.lab=first-container python:3.13-slim sleep infinity

# 2. A one-off data job: it prints the mean and exits; the container stays, stopped, with its logs.
docker run --name first-job --label course.lab=first-container python:3.13-slim \
  python -c "import statistics; print('mean:', statistics.mean([18.5, 21.0, 23.5, 20.0, 19.5]))"

# (The job has ended when `docker run` returns; under a heavily loaded engine the attach can end a moment before the
# container's state says so. `docker wait` makes the proofs' order certain and prints the job's exit code, 0.)
docker wait first-job > /dev/null

# 3. Find both: -a lists the stopped job too.
docker ps -a --filter label=course.lab=first-container > ps.txt

# 4. Read the job's logs.
docker logs first-job > logs.txt

# 5. Make a container without starting it, see it, then remove it: docker rm prints its name.
docker create --name first-temp --label course.lab=first-container python:3.13-slim
docker ps -a --filter name=first-temp
docker rm first-temp > removed.txt
