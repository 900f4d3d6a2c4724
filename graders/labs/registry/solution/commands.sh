#!/usr/bin/env bash
# The reference solution of registry: the commands a learner types in a terminal, in the lab's folder.
# The lab tests run it against their engine, grade, then remove the registry, its volume and every image
# labelled course.lab=registry (the pushed and pulled ones too).

# 1. A local registry, its images on a named volume.
docker volume create --label course.lab=registry reg-data
docker run -d --name reg --label course.lab=registry -p 5000:5000 -v reg-data:/var/lib/registry registry:2

# 2. Build the image with the version tag and the commit's SHA, both named for the registry.
docker build --label course.lab=registry -t localhost:5000/iris-api:1.0.0 .
docker tag localhost:5000/iris-api:1.0.0 "localhost:5000/iris-api:$(cat COMMIT)"

# 3. Push both tags.
docker push localhost:5000/iris-api:1.0.0
docker push "localhost:5000/iris-api:$(cat COMMIT)"

# 4. Pull it back by digest, and pin that digest in the compose file.
REF=$(docker image inspect --format '{{index .RepoDigests 0}}' localhost:5000/iris-api:1.0.0)
docker pull "$REF"
cat > compose.yaml <<YAML
services:
  api:
    image: $REF
    ports:
      - "8000:8000"
YAML

# 5. Save it for a machine with no network (there: docker load -i iris-api.tar).
docker save -o iris-api.tar localhost:5000/iris-api:1.0.0
