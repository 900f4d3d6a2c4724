#!/usr/bin/env bash
# Makes what mutual TLS between a Docker client and an engine needs, in the current folder:
#   ca.pem, ca-key.pem                  the certificate authority (keep ca-key.pem offline)
#   server-cert.pem, server-key.pem     the engine's certificate and key
#   cert.pem, key.pem                   a client's certificate and key (the names the docker CLI looks for)
# Usage: ./make-docker-tls-certs.sh gpu-01.example.com   (the name clients will use to reach the engine)
set -euo pipefail

HOST=${1:?give the engine host name that clients will connect to}
DAYS=${DAYS:-365}

# 1. The certificate authority: a key, and a certificate that it signs itself.
openssl genrsa -out ca-key.pem 4096
openssl req -new -x509 -days "$DAYS" -sha256 -key ca-key.pem -subj "/CN=Docker CA" -out ca.pem

# 2. The engine's certificate, for every name and address clients use to reach it, and for servers only.
openssl genrsa -out server-key.pem 4096
openssl req -new -key server-key.pem -subj "/CN=$HOST" -out server.csr
printf 'subjectAltName = DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage = serverAuth\n' "$HOST" > server-ext.cnf
openssl x509 -req -days "$DAYS" -sha256 -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
  -extfile server-ext.cnf -out server-cert.pem

# 3. A client's certificate, signed by the same CA, for clients only. One per person or machine.
openssl genrsa -out key.pem 4096
openssl req -new -key key.pem -subj "/CN=client" -out client.csr
echo 'extendedKeyUsage = clientAuth' > client-ext.cnf
openssl x509 -req -days "$DAYS" -sha256 -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
  -extfile client-ext.cnf -out cert.pem

# The requests and settings are no longer needed; the keys are readable by their owner only.
rm -f server.csr client.csr server-ext.cnf client-ext.cnf ca.srl
chmod 0400 ca-key.pem server-key.pem key.pem
chmod 0444 ca.pem server-cert.pem cert.pem
openssl verify -CAfile ca.pem server-cert.pem cert.pem
