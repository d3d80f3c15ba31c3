#!/usr/bin/env bash
# Makes sure what the integration and end-to-end tests talk to is installed and running: RabbitMQ,
# MariaDB, PostgreSQL (Debian packages) and the real `openstack` CLI. Installs and starts only what is
# missing, so on a prepared machine it costs a few port checks.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do port_open "$port" && return 0; sleep 1; done
  echo "ensure-services: $name did not open port $port" >&2
  return 1
}
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! port_open 5672; then
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  echo "ensure-services: starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_port RabbitMQ 5672
fi

if ! port_open 3306; then
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
  echo "ensure-services: starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_port MariaDB 3306
  mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS test" || true
fi

if ! port_open 5432; then
  ls /etc/postgresql/*/main >/dev/null 2>&1 || apt_install postgresql
  echo "ensure-services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_port PostgreSQL 5432
fi

command -v openstack >/dev/null || apt_install python3-openstackclient

# Real guests for the qemu driver's tests: the emulator, qemu-img, and what the demo guest is built from.
command -v qemu-system-x86_64 >/dev/null || apt_install --no-install-recommends qemu-system-x86
command -v qemu-img >/dev/null || apt_install --no-install-recommends qemu-utils
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || apt_install --no-install-recommends busybox-static
ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || apt_install --no-install-recommends linux-image-cloud-amd64
command -v cpio >/dev/null || apt_install --no-install-recommends cpio
command -v mkfs.ext4 >/dev/null || apt_install --no-install-recommends e2fsprogs
# The compute host's datapath (src/compute/network/linux-bridge): bridges, taps and namespaces with
# iproute2, the firewall and NAT with nftables, DHCP with dnsmasq (without its system service).
command -v ip >/dev/null && command -v tc >/dev/null || apt_install --no-install-recommends iproute2
command -v nft >/dev/null || apt_install --no-install-recommends nftables
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || apt_install --no-install-recommends dnsmasq-base
# The metadata proxy of a namespaced datapath reaches the metadata service through a socat relay.
command -v socat >/dev/null || apt_install --no-install-recommends socat
# HTTP from inside a test's network namespace (busybox-static's wget crashes there).
command -v curl >/dev/null || apt_install --no-install-recommends curl
# The dashboard's browser tests (test/e2e/dashboard.test.ts): Debian's chromium, driven by playwright-core
# (which never downloads a browser of its own).
command -v chromium >/dev/null || apt_install --no-install-recommends chromium
# Config drives: genisoimage writes the ISO 9660 one (Nova's mkisofs_cmd), dosfstools and mtools the vfat one.
command -v genisoimage >/dev/null || apt_install --no-install-recommends genisoimage
command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null || apt_install --no-install-recommends dosfstools mtools
# The noVNC web client the console proxy serves ([DEFAULT] web).
[ -f /usr/share/novnc/vnc.html ] || apt_install --no-install-recommends novnc
bash "$(dirname "$0")/build-guest-image.sh" >/dev/null
# The Debian cloud image (scripts/build-debian-cloud-image.sh): mmdebstrap builds it from Debian's mirror,
# once per machine (~12 minutes cold), into ~/.cache/stratus/debian-cloud, outside the fresh CI clones.
command -v mmdebstrap >/dev/null || apt_install --no-install-recommends mmdebstrap
bash "$(dirname "$0")/build-debian-cloud-image.sh" >/dev/null
