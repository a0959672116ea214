#!/usr/bin/env bash
# Builds the static libraries of the lean worker build (`make lean`, docs/lean-build.md) from
# Debian's own source packages, feature-stripped:
#   libcurl: HTTP and HTTPS over OpenSSL only (no HTTP/2, IDN, PSL, LDAP, RTMP, SSH, GSSAPI,
#            zstd, brotli, zlib; no other protocols), static only;
#   libzmq:  TCP/IPC/inproc only (no CURVE/libsodium, PGM, NORM, GSSAPI, VMCI, WebSocket), static.
# Debian's own static libssl.a/libcrypto.a, libjansson.a and libhiredis.a are used as they are.
# Layout under MLC_LEAN_DIR (default /var/cache/mlc/lean): src/PKG/VERSION/ (apt-get source of
# the newest version apt knows), build/ (copies that are configured and built), prefix/
# (installed lib/*.a, include/, lib/pkgconfig/). Idempotent: a library whose stamp (Debian
# version + configure flags) matches is not rebuilt; after `apt-get update` a new Debian revision
# (a security fix) is fetched and rebuilt; `--force` rebuilds regardless.
# Needs root only for what is missing (deb-src entry, apt-get update, build tools).
# Prints the prefix on its last line: `prefix: DIR`.
set -euo pipefail

LEAN_DIR=${MLC_LEAN_DIR:-/var/cache/mlc/lean}
SRC="$LEAN_DIR/src"
BUILD="$LEAN_DIR/build"
PREFIX="$LEAN_DIR/prefix"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1
JOBS=$(nproc 2>/dev/null || echo 2)
# Sections per function/object so the final link can drop what the workers never call.
LEAN_CFLAGS="-O2 -g -ffunction-sections -fdata-sections"

CURL_FLAGS=(--disable-shared --enable-static --with-pic
  --with-openssl --without-gnutls --without-mbedtls --without-wolfssl --without-rustls
  --without-bearssl --without-nss
  --with-ca-path=/etc/ssl/certs --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt
  --enable-http --enable-proxy --enable-http-auth --enable-ipv6 --enable-threaded-resolver
  --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict
  --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp
  --disable-gopher --disable-mqtt --disable-websockets --disable-manual --disable-libcurl-option
  --disable-ntlm --disable-ntlm-wb --disable-tls-srp --disable-cookies --disable-doh
  --disable-mime --disable-netrc --disable-alt-svc --disable-hsts --disable-dnsshuffle
  --disable-get-easy-options --disable-unix-sockets --disable-progress-meter
  --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3
  --without-hyper --without-libidn2 --without-libpsl --without-librtmp --without-libssh2
  --without-libssh --without-wolfssh --without-gssapi --without-libgsasl --without-zstd
  --without-brotli --without-zlib --disable-ares
  --without-zsh-functions-dir --without-fish-functions-dir)

ZMQ_FLAGS=(--disable-shared --enable-static --with-pic
  --disable-curve --disable-curve-keygen --with-libsodium=no --with-libgssapi_krb5=no
  --with-pgm=no --with-norm=no --with-vmci=no --disable-ws --with-nss=no --with-tls=no
  --disable-drafts --disable-libbsd --disable-libunwind --disable-perf --disable-Werror
  --without-docs)

say() { echo "lean-deps: $*" >&2; }

# Installs the Debian packages named in "$@" that are not installed yet (root only).
need_pkgs() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || { say "missing packages (run as root): ${missing[*]}"; exit 1; }
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

# Makes `apt-get source` work: deb-src entries for the Debian repositories apt already uses
# (same mirror, suites and components, Debian's keyring), then an update.
ensure_deb_src() {
  if apt-cache showsrc curl zeromq3 2>/dev/null | grep -q '^Package: zeromq3'; then return 0; fi
  [ "$(id -u)" -eq 0 ] || { say "no deb-src entry for curl/zeromq3 (run as root once)"; exit 1; }
  local list=/etc/apt/sources.list.d/mlc-src.list key=/usr/share/keyrings/debian-archive-keyring.gpg
  local repos codename
  # shellcheck disable=SC2016  # $(...) are apt's format fields, not shell
  repos=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
            'Created-By: Packages' 'Origin: Debian' 2>/dev/null | sort -u)
  if [ -z "$repos" ]; then
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    repos="http://deb.debian.org/debian/ $codename main"
  fi
  # $1: options of each line; an entry that names no keyring where ours does makes apt refuse
  # the pair, so the lines are written again without one if the update fails.
  write_list() {
    {
      echo "# Debian source packages for ml-connector's scripts/lean-deps.sh."
      while read -r uri rel comp; do echo "deb-src $1$uri $rel $comp"; done <<< "$repos"
    } > "$list"
  }
  say "adding $list"
  write_list "[signed-by=$key] "
  apt-get update >&2 || { write_list ""; apt-get update >&2; }
}

# Prints the newest version of source package $1 that apt knows (run `apt-get update` first to
# see a new Debian revision, e.g. a security fix).
newest_version() {
  local best="" v
  for v in $(apt-cache showsrc --only-source "$1" | awk '/^Version:/ {print $2}'); do
    if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
  done
  [ -n "$best" ] || { say "apt knows no source package $1"; exit 1; }
  echo "$best"
}

# Prints the unpacked tree of the newest version of source package $1, fetching it into
# $SRC/$1/VERSION/ (one dir per Debian version) when absent.
source_dir() {
  local pkg=$1 ver dir
  ensure_deb_src
  ver=$(newest_version "$pkg")
  dir=$(find "$SRC/$pkg/$ver" -maxdepth 1 -mindepth 1 -type d -name "$pkg-*" 2>/dev/null | head -n 1)
  if [ -z "$dir" ]; then
    say "apt-get source $pkg=$ver into $SRC/$pkg/$ver"
    rm -rf "${SRC:?}/$pkg/$ver"; mkdir -p "$SRC/$pkg/$ver"
    (cd "$SRC/$pkg/$ver" && apt-get source --only-source "$pkg=$ver" >&2)
    dir=$(find "$SRC/$pkg/$ver" -maxdepth 1 -mindepth 1 -type d -name "$pkg-*" | head -n 1)
  fi
  [ -n "$dir" ] || { say "apt-get source $pkg=$ver left no $pkg-* directory"; exit 1; }
  echo "$dir"
}

# Returns 0 when library $1 is installed in $PREFIX with stamp text $2 (and no --force).
is_built() {
  [ "$FORCE" -eq 0 ] && [ -f "$PREFIX/lib/$1.a" ] && [ -f "$PREFIX/.$1.stamp" ] &&
    [ "$(cat "$PREFIX/.$1.stamp")" = "$2" ]
}

# Copies source tree $1 to a fresh build dir $2 (the unpacked source stays pristine).
fresh_copy() {
  rm -rf "$2"; mkdir -p "$(dirname "$2")"; cp -a "$1" "$2"
}

build_curl() {
  local src stamp dir
  src=$(source_dir curl)
  stamp="$(basename "$src") $(dpkg-parsechangelog -l "$src/debian/changelog" -S Version) ${CURL_FLAGS[*]} $LEAN_CFLAGS"
  if is_built libcurl "$stamp"; then say "libcurl up to date ($(basename "$src"))"; return 0; fi
  dir="$BUILD/curl"
  fresh_copy "$src" "$dir"
  cd "$dir"
  # Debian's series ends with the GnuTLS and NSS flavour patches (90_gnutls, 99_nss), which
  # rename the library; debian/rules pops them for the OpenSSL flavour, and so do we.
  for p in 99_nss.patch 90_gnutls.patch; do
    if grep -qx "$p" .pc/applied-patches 2>/dev/null; then
      patch -R -p1 -s < "debian/patches/$p"
      sed -i "/^${p//./\\.}\$/d" .pc/applied-patches
    fi
  done
  say "building libcurl in $dir"
  nice -n 19 autoreconf -fi >/dev/null 2>&1
  CFLAGS="$LEAN_CFLAGS" nice -n 19 ./configure --prefix="$PREFIX" "${CURL_FLAGS[@]}" > "$dir/configure.out"
  nice -n 19 make -j"$JOBS" -C lib >/dev/null
  make -C lib install >/dev/null
  make -C include install >/dev/null
  make install-pkgconfigDATA install-binSCRIPTS >/dev/null
  echo "$stamp" > "$PREFIX/.libcurl.stamp"
  cd - >/dev/null
}

build_zmq() {
  local src stamp dir
  src=$(source_dir zeromq3)
  stamp="$(basename "$src") $(dpkg-parsechangelog -l "$src/debian/changelog" -S Version) ${ZMQ_FLAGS[*]} $LEAN_CFLAGS"
  if is_built libzmq "$stamp"; then say "libzmq up to date ($(basename "$src"))"; return 0; fi
  dir="$BUILD/zeromq3"
  fresh_copy "$src" "$dir"
  cd "$dir"
  say "building libzmq in $dir"
  nice -n 19 ./autogen.sh >/dev/null 2>&1
  CFLAGS="$LEAN_CFLAGS" CXXFLAGS="$LEAN_CFLAGS" nice -n 19 ./configure --prefix="$PREFIX" \
    "${ZMQ_FLAGS[@]}" > "$dir/configure.out"
  nice -n 19 make -j"$JOBS" src/libzmq.la >/dev/null
  make install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA >/dev/null
  echo "$stamp" > "$PREFIX/.libzmq.stamp"
  cd - >/dev/null
}

need_pkgs dpkg-dev autoconf automake libtool make pkg-config gcc g++ patch \
  libssl-dev libjansson-dev libhiredis-dev ca-certificates
mkdir -p "$SRC" "$BUILD" "$PREFIX"
build_curl
build_zmq
for a in libcurl.a libzmq.a; do say "$PREFIX/lib/$a ($(stat -c %s "$PREFIX/lib/$a") bytes, $(cut -d' ' -f1-2 "$PREFIX/.${a%.a}.stamp"))"; done
say "libcurl features: $("$PREFIX/bin/curl-config" --features | tr '\n' ' ')"
say "libcurl protocols: $("$PREFIX/bin/curl-config" --protocols | tr '\n' ' ')"
echo "prefix: $PREFIX"
