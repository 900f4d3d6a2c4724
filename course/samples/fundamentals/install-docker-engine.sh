#!/usr/bin/env bash
# Install Docker Engine from Docker's own apt repository, on Ubuntu or Debian.
#
# The steps of https://docs.docker.com/engine/install/ubuntu/ (and .../debian/) in one file. Read
# it before you run it: it uses sudo, removes packages that conflict with Docker's, and adds a
# package source. For other distributions, follow https://docs.docker.com/engine/install/.
set -euo pipefail

# shellcheck source=/dev/null
. /etc/os-release
case "$ID" in
  ubuntu | debian) ;;
  *) echo "this script is for Ubuntu and Debian, not ${ID}" >&2; exit 1 ;;
esac

# 1. Remove the distribution's own Docker packages (docker.io, ...) if any are installed: they
#    conflict with Docker's. Images and volumes in /var/lib/docker are kept.
mapfile -t conflicting < <(dpkg --get-selections docker.io docker-compose docker-compose-v2 \
  docker-doc podman-docker containerd runc 2> /dev/null | cut -f1)
if [ "${#conflicting[@]}" -gt 0 ]; then
  sudo apt-get remove -y "${conflicting[@]}"
fi

# 2. Docker's signing key and package source.
sudo apt-get update
sudo apt-get install -y ca-certificates curl
sudo install -m 0755 -d /etc/apt/keyrings
sudo curl -fsSL "https://download.docker.com/linux/${ID}/gpg" -o /etc/apt/keyrings/docker.asc
sudo chmod a+r /etc/apt/keyrings/docker.asc
sudo tee /etc/apt/sources.list.d/docker.sources > /dev/null << SOURCES
Types: deb
URIs: https://download.docker.com/linux/${ID}
Suites: ${UBUNTU_CODENAME:-$VERSION_CODENAME}
Components: stable
Architectures: $(dpkg --print-architecture)
Signed-By: /etc/apt/keyrings/docker.asc
SOURCES

# 3. The Engine, its command-line client, containerd, and the Buildx and Compose plugins.
sudo apt-get update
sudo apt-get install -y docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin

# 4. On Debian and Ubuntu the service starts at once and at every boot. Check it, then say hello.
sudo systemctl is-active docker
sudo docker run --rm hello-world
