#!/bin/sh
# Giif's pagw-customizer.sh writes the per-project configuration into the image with
# virt-customize; this one checks the environment tarn passes and leaves the base image.
set -e
for v in PUBIP PUBMASK PUBGW PAGW_HOSTNAME SSH_PUBKEY PAGW_IMAGE_PATH; do
  eval "[ -n \"\$$v\" ]" || { echo "$v is not set" >&2; exit 2; }
done
[ -n "$SUDO_PASSWORD" ] || echo "no SUDO_PASSWORD: the pagw account stays locked"
mkdir -p "$(dirname "$PAGW_IMAGE_PATH")"
cp /ctx/base.img "$PAGW_IMAGE_PATH"
echo "customized $PAGW_HOSTNAME ($PUBIP/$PUBMASK via $PUBGW)"
