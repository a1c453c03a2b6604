# Sourced by the scripts that need Debian packages (scripts/setup, scripts/docker).

# apt_install PACKAGE...: install them without recommended packages, through sudo unless root.
apt_install() {
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    printf '%s: installing Debian packages: %s\n' "$(basename "$0")" "$*" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends "$@" >/dev/null
}
