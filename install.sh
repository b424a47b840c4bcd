#!/bin/sh
# install.sh: installs the boundary-relay release binary for this machine.
#
#   curl -fsSL https://raw.githubusercontent.com/coder/boundary-relay/main/install.sh | sh
#   curl -fsSL …/install.sh | sh -s -- --version 0.1.0 --prefix /usr/local/bin
#
# Detects OS and architecture, downloads boundary-relay-<os>-<arch> and its
# .sha256, verifies the checksum, and moves the binary into place
# atomically. Safe to run twice. Every failure exits non-zero with a reason
# and leaves the prefix as it was.
set -eu

RELEASES_URL="${BOUNDARY_RELAY_RELEASES_URL:-https://github.com/coder/boundary-relay/releases}"
VERSION="${BOUNDARY_RELAY_VERSION:-}"
BASE_URL="${BOUNDARY_RELAY_BASE_URL:-}"
PREFIX="${BOUNDARY_RELAY_PREFIX:-}"
TMP_DIR=""
STAGED=""
# The topmost directory this run created for the prefix (removed on failure).
CREATED_DIR=""
INSTALLED=""

usage() {
	cat <<'EOF'
usage: install.sh [--version VERSION] [--base-url URL] [--prefix DIR]

Installs boundary-relay for this machine's OS (linux, darwin) and
architecture (x64, arm64), after checking the binary's sha256.

options:
  --version VERSION  release to install, e.g. 0.1.0 (default: the latest)
                     env: BOUNDARY_RELAY_VERSION
  --base-url URL     directory holding boundary-relay-<os>-<arch> and its
                     .sha256, for mirrors and air-gapped images (default:
                     <releases>/download/v<VERSION>, or <releases>/latest/download)
                     env: BOUNDARY_RELAY_BASE_URL
  --prefix DIR       where to put the boundary-relay binary (default:
                     /usr/local/bin as root, else ~/.local/bin)
                     env: BOUNDARY_RELAY_PREFIX
  -h, --help         show this help

<releases> is https://github.com/coder/boundary-relay/releases, or
BOUNDARY_RELAY_RELEASES_URL for a mirror with the same layout.
Needs curl or wget, and sha256sum or shasum.
EOF
}

say() {
	printf 'boundary-relay install: %s\n' "$*"
}

die() {
	printf 'boundary-relay install: error: %s\n' "$*" >&2
	exit 1
}

cleanup() {
	if [ -n "$STAGED" ]; then rm -f "$STAGED"; fi
	if [ -n "$TMP_DIR" ]; then rm -rf "$TMP_DIR"; fi
	if [ -z "$INSTALLED" ] && [ -n "$CREATED_DIR" ]; then remove_created_dirs; fi
}

# remove_created_dirs: rmdir the prefix and its parents up to CREATED_DIR
# (only directories this run made, and only while empty).
remove_created_dirs() {
	dir="$PREFIX"
	while [ -n "$dir" ]; do
		rmdir "$dir" 2>/dev/null || return 0
		[ "$dir" = "$CREATED_DIR" ] && return 0
		dir="${dir%/*}"
	done
}

need_value() {
	if [ "$2" -lt 2 ]; then
		printf 'boundary-relay install: error: %s needs a value\n\n' "$1" >&2
		usage >&2
		exit 2
	fi
}

parse_args() {
	while [ "$#" -gt 0 ]; do
		case "$1" in
		-h | --help)
			usage
			exit 0
			;;
		--version | --base-url | --prefix)
			need_value "$1" "$#"
			case "$1" in
			--version) VERSION="$2" ;;
			--base-url) BASE_URL="$2" ;;
			--prefix) PREFIX="$2" ;;
			esac
			shift 2
			;;
		--version=*) VERSION="${1#*=}" && shift ;;
		--base-url=*) BASE_URL="${1#*=}" && shift ;;
		--prefix=*) PREFIX="${1#*=}" && shift ;;
		*)
			printf 'boundary-relay install: error: unknown argument: %s\n\n' "$1" >&2
			usage >&2
			exit 2
			;;
		esac
	done
}

detect_os() {
	os_name=$(uname -s) || die "cannot run uname -s to detect the operating system"
	case "$os_name" in
	Linux) OS=linux ;;
	Darwin) OS=darwin ;;
	*) die "unsupported operating system: $os_name (boundary-relay is built for Linux and macOS)" ;;
	esac
}

detect_arch() {
	machine=$(uname -m) || die "cannot run uname -m to detect the architecture"
	case "$machine" in
	x86_64 | amd64) ARCH=x64 ;;
	aarch64 | arm64) ARCH=arm64 ;;
	*) die "unsupported architecture: $machine (boundary-relay is built for x86_64 and arm64)" ;;
	esac
}

pick_downloader() {
	if command -v curl >/dev/null 2>&1; then
		DOWNLOADER=curl
	elif command -v wget >/dev/null 2>&1; then
		DOWNLOADER=wget
	else
		die "neither curl nor wget is installed; install one of them and run this again"
	fi
}

pick_hasher() {
	if command -v sha256sum >/dev/null 2>&1; then
		HASHER=sha256sum
	elif command -v shasum >/dev/null 2>&1; then
		HASHER=shasum
	else
		die "neither sha256sum nor shasum is installed; cannot verify the download"
	fi
}

# download URL DEST
download() {
	if [ "$DOWNLOADER" = curl ]; then
		curl -fsSL --retry 2 -o "$2" "$1" || die "could not download $1 (not found, or the server failed; check --version and --base-url)"
	else
		wget -q --tries=3 -O "$2" "$1" || die "could not download $1 (not found, or the server failed; check --version and --base-url)"
	fi
}

# sha256_of FILE: prints the file's lowercase hex sha256.
sha256_of() {
	if [ "$HASHER" = sha256sum ]; then
		sum=$(sha256sum <"$1") || die "sha256sum failed on $1"
	else
		sum=$(shasum -a 256 <"$1") || die "shasum failed on $1"
	fi
	printf '%s\n' "${sum%% *}"
}

# expected_sha256 FILE: the hex digest from a sha256sum-format line.
expected_sha256() {
	IFS=' ' read -r expected _ <"$1" || true
	case "$expected" in
	*[!0-9a-f]* | "") die "$2 does not hold a sha256 checksum" ;;
	esac
	[ "${#expected}" -eq 64 ] || die "$2 does not hold a sha256 checksum"
	printf '%s\n' "$expected"
}

default_prefix() {
	if [ "$(id -u)" = 0 ]; then
		printf '%s\n' /usr/local/bin
	else
		[ -n "${HOME:-}" ] || die "HOME is not set; pass --prefix DIR"
		printf '%s\n' "$HOME/.local/bin"
	fi
}

# nearest_existing PATH: PATH or its closest ancestor that exists.
nearest_existing() {
	dir="$1"
	while [ ! -e "$dir" ]; do
		case "$dir" in
		*/*) dir="${dir%/*}" ;;
		*) dir=. ;;
		esac
		[ -n "$dir" ] || dir=/
	done
	printf '%s\n' "$dir"
}

# prepare_prefix: before any download, makes the prefix (remembering what it
# made, to remove it should the install fail) and proves a file can be
# written in it, so an unwritable prefix costs no download.
prepare_prefix() {
	[ -n "$PREFIX" ] || PREFIX=$(default_prefix)
	existing=$(nearest_existing "$PREFIX")
	if [ ! -d "$existing" ]; then
		die "cannot use prefix $PREFIX: $existing is not a directory"
	fi
	if [ "$existing" != "$PREFIX" ]; then
		created="$PREFIX"
		while [ "${created%/*}" != "$existing" ] && [ -n "${created%/*}" ]; do created="${created%/*}"; done
		mkdir -p "$PREFIX" 2>/dev/null || die "cannot create prefix directory $PREFIX (run as root, or pass --prefix DIR you can write)"
		CREATED_DIR="$created"
	fi
	STAGED="$PREFIX/.boundary-relay.install.$$"
	{ : >"$STAGED"; } 2>/dev/null || die "cannot write to $PREFIX (run as root, or pass --prefix DIR you can write)"
}

main() {
	parse_args "$@"
	detect_os
	detect_arch
	pick_downloader
	pick_hasher
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	prepare_prefix

	VERSION="${VERSION#v}"
	if [ -z "$BASE_URL" ]; then
		if [ -n "$VERSION" ]; then
			BASE_URL="$RELEASES_URL/download/v$VERSION"
		else
			BASE_URL="$RELEASES_URL/latest/download"
		fi
	fi
	BASE_URL="${BASE_URL%/}"
	FILE="boundary-relay-$OS-$ARCH"
	TARGET="$PREFIX/boundary-relay"
	if [ -n "$VERSION" ]; then
		label="boundary-relay $VERSION"
	elif [ "$BASE_URL" = "$RELEASES_URL/latest/download" ]; then
		label="the latest boundary-relay"
	else
		label="boundary-relay (the version at $BASE_URL)"
	fi

	TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/boundary-relay-install.XXXXXX") || die "cannot create a temporary directory"

	say "installing $label ($OS/$ARCH) from $BASE_URL into $PREFIX"
	download "$BASE_URL/$FILE.sha256" "$TMP_DIR/$FILE.sha256"
	expected=$(expected_sha256 "$TMP_DIR/$FILE.sha256" "$BASE_URL/$FILE.sha256")

	if [ -f "$TARGET" ] && [ -x "$TARGET" ] && [ "$(sha256_of "$TARGET")" = "$expected" ]; then
		INSTALLED=yes
		say "$TARGET is already installed with sha256 $expected; nothing to do"
		exit 0
	fi

	download "$BASE_URL/$FILE" "$TMP_DIR/$FILE"
	actual=$(sha256_of "$TMP_DIR/$FILE")
	if [ "$actual" != "$expected" ]; then
		die "checksum mismatch for $BASE_URL/$FILE: expected $expected, got $actual; nothing was installed"
	fi

	cp "$TMP_DIR/$FILE" "$STAGED" 2>/dev/null || die "cannot write to $PREFIX (run as root, or pass --prefix DIR you can write)"
	chmod 0755 "$STAGED" || die "cannot make $STAGED executable"
	mv -f "$STAGED" "$TARGET" || die "cannot move the binary into place at $TARGET"
	STAGED=""
	INSTALLED=yes

	say "installed $TARGET (sha256 $expected)"
	if reported=$("$TARGET" version 2>/dev/null) && [ -n "$reported" ]; then
		say "installed $TARGET: $reported"
	else
		say "warning: $TARGET version did not answer; is $FILE built for this machine?"
	fi
	case ":${PATH:-}:" in
	*":$PREFIX:"*) ;;
	*) say "note: $PREFIX is not on your PATH; add it, or run $TARGET" ;;
	esac
}

main "$@"
