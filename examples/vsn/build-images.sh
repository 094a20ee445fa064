#!/bin/sh
# Builds the example's images offline, with no registry: a root tree of Debian's busybox-static
# (apt-get install busybox-static), imported into the local engine and saved as the archives
# plan.json names (images/*.tar). The plan's `image_archive` entries load them on the VSN.
#
#   ./build-images.sh            # podman; ENGINE=docker ./build-images.sh for Docker
set -eu
ENGINE=${ENGINE:-podman}
cd "$(dirname "$0")"
[ -x /bin/busybox ] || { echo "busybox-static is missing: apt-get install busybox-static" >&2; exit 1; }
command -v "$ENGINE" >/dev/null || { echo "$ENGINE is missing: apt-get install $ENGINE" >&2; exit 1; }
mkdir -p images
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# image NAME TAG VERSION: localhost/vsn-example/NAME:TAG, saved to images/NAME-TAG.tar
image() {
    root="$work/$1-$2"
    mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/app" "$root/data" "$root/proc" "$root/sys" "$root/dev"
    cp /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    echo "$3" > "$root/app/VERSION"
    ref="localhost/vsn-example/$1:$2"
    tar -C "$root" -cf "$work/$1-$2.tar" .
    "$ENGINE" import --change "ENV PATH=/bin" --change 'CMD ["sh"]' "$work/$1-$2.tar" "$ref" >/dev/null
    "$ENGINE" save -o "images/$1-$2.tar" "$ref" >/dev/null
    # Only the archive brings the image to the VSN: the local copy goes.
    "$ENGINE" rmi "$ref" >/dev/null
    echo "images/$1-$2.tar ($ref)"
}

image base 1 "base 1"
image app 1 "app 1"
image app 2 "app 2"
