#!/usr/bin/env bash
# The reference solution of networking: the commands a learner types in a terminal, in the lab's folder.
# The lab tests run it against their engine, grade, then remove every container and network labelled
# course.lab=networking (and those with the task's names).

# 1. A user-defined bridge network: its containers find each other by name.
docker network create --label course.lab=networking net-app

# 2. The database (a stand-in: a small server on PostgreSQL's port), with a second name on net-app.
docker run -d --name net-db --label course.lab=networking --network net-app --network-alias database \
  python:3.13-slim python -m http.server 5432

# 3. The API, on the same network, published on the loopback address only.
docker run -d --name net-api --label course.lab=networking --network net-app -p 127.0.0.1:8800:8000 \
  python:3.13-slim python -m http.server 8000

# 4. An internal network: containers on it reach each other, nothing outside.
docker network create --internal --label course.lab=networking net-internal

# 5. Two services that must not see each other: each on a network of its own.
docker network create --label course.lab=networking net-a
docker network create --label course.lab=networking net-b
docker run -d --name net-team-a --label course.lab=networking --network net-a python:3.13-slim python -m http.server 8000
docker run -d --name net-team-b --label course.lab=networking --network net-b python:3.13-slim python -m http.server 8000
