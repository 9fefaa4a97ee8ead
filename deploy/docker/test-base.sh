#!/usr/bin/env bash
# What the image test (tests/tests/images.rs) needs on a machine without a
# container registry:
#
#   - podman (it builds and runs the images; runc as its OCI runtime) and
#     mmdebstrap, from Debian's packages, installed when missing (as root);
#   - a base image made offline, `localhost/blangkon-test-base:bookworm`:
#     Debian bookworm's glibc, libgcc, libstdc++, tzdata, netbase and CA
#     certificates with distroless's `nonroot` user (65532) and no shell or
#     package manager: the contents of gcr.io/distroless/cc-debian12, which
#     the shipped images use and which cannot be pulled here.
#
#   deploy/docker/test-base.sh          install what is missing, make the base
#   deploy/docker/test-base.sh --check  exit 0 when everything is in place
set -euo pipefail

BASE_IMAGE="${BLANGKON_TEST_BASE_IMAGE:-localhost/blangkon-test-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# distroless cc-debian12's packages (base-debian12's plus the C/C++ runtime).
PACKAGES="libc6,libgcc-s1,libgomp1,libstdc++6,libssl3,tzdata,netbase,media-types"

ready() {
  command -v podman >/dev/null && podman image exists "$BASE_IMAGE"
}

if [ "${1:-}" = "--check" ]; then
  ready
  exit
fi

missing=()
for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "needs ${missing[*]}: run as root, or apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]} from Debian's packages..." >&2
  install_tools() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      podman runc mmdebstrap uidmap >&2
  }
  # Package lists may be missing or stale on a fresh machine.
  install_tools || { apt-get update -q >&2 && install_tools; }
fi

if podman image exists "$BASE_IMAGE"; then
  exit 0
fi

echo "making $BASE_IMAGE with mmdebstrap (offline from a Debian mirror)..." >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# --variant=extract unpacks the packages without running their maintainer
# scripts: no dpkg, no apt, no shell left in the image's /bin unless a
# package ships one (none of these do). The hook writes what distroless
# writes by hand: the users, the groups, a sticky /tmp, the CA bundle.
mmdebstrap --variant=extract --include="$PACKAGES" --format=tar \
  --customize-hook='printf "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n" > "$1/etc/passwd"' \
  --customize-hook='printf "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n" > "$1/etc/group"' \
  --customize-hook='mkdir -p "$1/home/nonroot" "$1/tmp" "$1/etc/ssl/certs" && chown 65532:65532 "$1/home/nonroot" && chmod 1777 "$1/tmp"' \
  --customize-hook='cp /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/ca-certificates.crt"' \
  bookworm "$work/base.tar" "$MIRROR" >&2
podman import \
  --change 'USER 65532:65532' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "$work/base.tar" "$BASE_IMAGE" >&2
echo "made $BASE_IMAGE" >&2
