#!/usr/bin/env bash
# Builds a local debian:bookworm-slim base image for machines that reach a Debian mirror but
# no image registry: debootstrap (minbase) from the mirror apt already uses, trimmed like the
# official slim image, cached as a tarball, then `docker import`ed.
#
#   scripts/docker-base.sh [--tar-only] [--refresh] [--tag debian:bookworm-slim]
#
# Cache: $MLC_BASE_CACHE (default /var/cache/mlc)/debian-bookworm-slim.tar, reused when
# younger than $MLC_BASE_MAX_AGE_DAYS (default 30); --refresh rebuilds it. Needs root and
# debootstrap. The docker CLI (with DOCKER_HOST if set) is used unless --tar-only.
# Prints the tarball path on stdout; exits non-zero with the reason on stderr.
set -euo pipefail

tag=debian:bookworm-slim
tar_only=0
refresh=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tar-only) tar_only=1 ;;
    --refresh) refresh=1 ;;
    --tag) tag=$2; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "docker-base: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

suite=bookworm
cache=${MLC_BASE_CACHE:-/var/cache/mlc}
tarball=$cache/debian-$suite-slim.tar
max_age=${MLC_BASE_MAX_AGE_DAYS:-30}

# The first URI apt uses for the given archive ("debian" or "debian-security"), from deb822
# .sources files or one-line sources.list entries; the official host when none is found.
apt_mirror() {
  local archive=$1 uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk -v a="/$archive/?\$" '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ a) { print $i; exit } }')
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
          awk -v a="/$archive/?\$" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ a) { print $i; exit } }')
  fi
  echo "${uri:-http://deb.debian.org/$archive}"
}

build_tarball() {
  command -v debootstrap >/dev/null || { echo "docker-base: debootstrap is not installed" >&2; return 1; }
  [ "$(id -u)" -eq 0 ] || { echo "docker-base: debootstrap needs root" >&2; return 1; }
  local mirror security work rootfs
  mirror=$(apt_mirror debian)
  security=$(apt_mirror debian-security)
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/rootfs.XXXXXX")
  rootfs=$work/rootfs
  echo "docker-base: debootstrap $suite from $mirror" >&2
  if ! debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    rm -rf "$work"
    return 1
  fi
  # What the official slim image does: no docs, man pages or locales from later installs,
  # apt keeps no package cache or lists in image layers.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,linda}/* "$rootfs"/var/lib/apt/lists/* \
         "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/* \
         "$rootfs"/tmp/* "$rootfs"/root/.cache
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  : >"$rootfs/etc/hostname"
  : >"$rootfs/etc/resolv.conf"
  tar --numeric-owner -C "$rootfs" -cf "$work/base.tar" .
  mv -f "$work/base.tar" "$tarball"
  rm -rf "$work"
}

mkdir -p "$cache"
exec 9>"$cache/.debian-$suite-slim.lock"
flock 9 # one build at a time; a second caller reuses the first one's tarball
if [ "$refresh" -eq 1 ] || [ ! -s "$tarball" ] ||
   [ -n "$(find "$tarball" -mtime +"$max_age" 2>/dev/null)" ]; then
  build_tarball
else
  echo "docker-base: reusing $tarball" >&2
fi
if [ "$tar_only" -eq 0 ]; then
  docker import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$tag" <"$tarball" >/dev/null
  echo "docker-base: imported $tag" >&2
fi
echo "$tarball"
