#!/usr/bin/env bash
# The reference solution of essential-commands: the commands a learner types in a terminal, in the lab's folder.
# The lab tests run it against their engine, grade, then remove every object labelled course.lab=essential-commands
# and every object with the task's names.

# 1. A named volume, and the dataset copied into it through a container that is created, never started.
docker volume create --label course.lab=essential-commands ess-data
docker container create --name ess-loader --label course.lab=essential-commands -v ess-data:/data python:3.13-slim
docker cp data/measurements.csv ess-loader:/data/measurements.csv

# 2. A user-defined network, and PostgreSQL on it: restart policy, health check, the dataset mounted read-only.
docker network create --label course.lab=essential-commands ess-net
docker run -d --name ess-db --label course.lab=essential-commands \
  --network ess-net --restart unless-stopped \
  -e POSTGRES_PASSWORD=course-only \
  -v ess-data:/data:ro \
  --health-cmd "pg_isready -h 127.0.0.1 -U postgres" \
  --health-interval 1s --health-timeout 3s --health-retries 30 \
  postgres:17
for _ in $(seq 60); do
  [ "$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' ess-db)" = healthy ] && break
  sleep 1
done

# 3. Load the CSV into a table and query it with docker exec; the answer lands in this folder.
docker exec ess-db psql -U postgres -c "CREATE TABLE measurements (station text, day date, temperature numeric)"
docker exec ess-db psql -U postgres -c "\copy measurements FROM '/data/measurements.csv' WITH (FORMAT csv, HEADER)"
docker exec ess-db psql -U postgres -At -c "SELECT count(*), round(avg(temperature), 2) FROM measurements" > query.txt

# 4. Back the volume up to a tar in this folder, and restore it into a new volume.
docker run --rm --label course.lab=essential-commands -v ess-data:/data:ro python:3.13-slim \
  tar -C /data -cf - . > ess-data.tar
docker volume create --label course.lab=essential-commands ess-restored
docker run --rm -i --label course.lab=essential-commands -v ess-restored:/data python:3.13-slim \
  tar -C /data -xf - < ess-data.tar

# 5. A tiny tool image, built twice: the second build takes the tag, the first is left dangling.
docker build --label course.lab=essential-commands -t ess-tools tools
docker build --label course.lab=essential-commands --build-arg VERSION=2 -t ess-tools tools

# 6. Clean up the lab's stopped containers and dangling images; the named volumes stay.
docker container prune -f --filter label=course.lab=essential-commands
docker image prune -f --filter label=course.lab=essential-commands
