#!/bin/sh
# Regenerates the OCSP unit-test fixtures (src/ocsp.rs tests) with openssl.
# A JPKI-like RSA-2048 root, a delegated OCSP responder (OCSPSigning, ocsp-nocheck)
# and one end-entity certificate; DER files plus the responder key as PKCS#8 DER.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/ext.cnf" <<'CNF'
[ocsp]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
[ee]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
CNF
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 7300 -sha256 \
  -subj "/C=JP/O=JPKI/OU=JPKI for digital signature/OU=Japan Agency for Local Authority Information Systems" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
for who in responder ee; do
  openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/$who.key" -out "$tmp/$who.csr" -subj "/C=JP/CN=$who" 2>/dev/null
done
openssl x509 -req -in "$tmp/responder.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial 0x1001 -days 7000 \
  -sha256 -extfile "$tmp/ext.cnf" -extensions ocsp -out "$tmp/responder.pem" 2>/dev/null
openssl x509 -req -in "$tmp/ee.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial 0x4a3b2c1d00112233 -days 7000 \
  -sha256 -extfile "$tmp/ext.cnf" -extensions ee -out "$tmp/ee.pem" 2>/dev/null
for c in ca responder ee; do openssl x509 -in "$tmp/$c.pem" -outform DER -out "$c.der"; done
openssl pkcs8 -topk8 -nocrypt -in "$tmp/responder.key" -outform DER -out responder.pk8
openssl ocsp -issuer "$tmp/ca.pem" -cert "$tmp/ee.pem" -reqout req_sha1_nonce.der -nonce
openssl ocsp -issuer "$tmp/ca.pem" -sha256 -cert "$tmp/ee.pem" -reqout req_sha256.der -no_nonce
