#!/usr/bin/env bash
# Builds a Debian 12 (bookworm) cloud guest from Debian's packages with mmdebstrap: cloud-init,
# openssh-server, sudo, the cloud kernel (linux-image-cloud-amd64), systemd-networkd taking an address by
# DHCP on every NIC, and cloud-init configured as Debian's cloud images configure it (default user
# `debian` with password-less sudo, ssh keys and user data from the cloud), and qemu-guest-agent, which
# systemd starts when the guest has the agent's channel (image property hw_qemu_guest_agent=yes) and
# through which `openstack server set --root-password` sets the password. No root mounts, no loop
# devices: the tree is built in a directory and turned into an ext4 filesystem with `mkfs.ext4 -d`.
#
# The image is AMI-style like the demo guest (scripts/build-guest-image.sh), the shape Nova boots with
# direct kernel boot, because a bootloader inside the disk cannot be installed without mounting it:
#   vmlinuz     the kernel of the tree      (upload as disk_format=aki, container_format=aki)
#   initrd.img  its initramfs-tools initrd  (disk_format=ari, container_format=ari)
#   root.qcow2  the ext4 root filesystem, unpartitioned (disk_format=qcow2, container_format=bare, with
#               kernel_id, ramdisk_id and os_command_line; cloud-init grows it to the flavor's disk)
#   cmdline     the kernel command line for os_command_line
#   packages.txt  every package and version in the image
#
# It is made to boot quickly under TCG: cloud-init looks only for a config drive, the OpenStack metadata
# service and a NoCloud seed (no EC2 and other probes), timers and services a short-lived guest does not
# need are off, and the console is on ttyS0 so cloud-init's progress shows in the console log.
#
# Usage: scripts/build-debian-cloud-image.sh [OUTPUT_DIR]
#   default OUTPUT_DIR: ${XDG_CACHE_HOME:-$HOME/.cache}/stratus/debian-cloud, outside any checkout, so a
#   machine builds it once (CI runs on fresh clones). A stamp records this script and the versions the
#   host's apt lists give for the main packages; a matching stamp skips the build. Needs root (the tree
#   holds files of several owners) and access to a Debian mirror (MIRROR, default deb.debian.org).
set -euo pipefail

out_dir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/stratus/debian-cloud}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
security_mirror="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
suite=bookworm
label=debian-root
# The root filesystem's size before cloud-init grows it to the flavor's disk; the tree takes about 750 MB.
root_size=2G

fail() {
  echo "build-debian-cloud-image: $*" >&2
  exit 1
}
need() {
  command -v "$1" > /dev/null 2>&1 || fail "'$1' is missing; install the Debian package $2 (apt-get install -y $2)"
}
need mmdebstrap mmdebstrap
need mkfs.ext4 e2fsprogs
need qemu-img qemu-utils
need flock util-linux
[ "$(id -u)" = 0 ] || fail "run as root: the tree holds files owned by several users"

# The packages on top of the minimal base. Recommends are not installed, so everything needed is named.
packages=(
  linux-image-cloud-amd64 initramfs-tools systemd-sysv udev dbus
  cloud-init cloud-guest-utils openssh-server sudo isc-dhcp-client systemd-resolved
  iproute2 iputils-ping netbase ca-certificates less procps
  qemu-guest-agent
)
# The versions that decide what the image holds, from the host's apt lists (refreshed by apt-get update).
versions="$(apt-cache policy linux-image-cloud-amd64 cloud-init openssh-server systemd qemu-guest-agent 2> /dev/null |
  awk '/^[^ ]/ {p=$1} /Candidate:/ {printf "%s%s ", p, $2}')"
stamp="script=$(sha256sum "$0" | cut -c1-16) $versions"

mkdir -p "$out_dir"
# One build at a time per output directory (tests in parallel may all ask for it); the others wait for it.
exec 9> "$out_dir/.lock"
flock 9
if [ -f "$out_dir/stamp" ] && [ "$(cat "$out_dir/stamp")" = "$stamp" ] &&
  [ -f "$out_dir/vmlinuz" ] && [ -f "$out_dir/initrd.img" ] && [ -f "$out_dir/root.qcow2" ]; then
  echo "build-debian-cloud-image: up to date in $out_dir"
  exit 0
fi

started=$SECONDS
work="$(mktemp -d "${TMPDIR:-/var/tmp}/debian-cloud.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tree="$work/tree"

# Configuration written into the tree after the packages are unpacked but before they are configured,
# so that postinst scripts (initramfs-tools, cloud-init) already see it.
setup="$work/setup"
mkdir -p "$setup/etc/default" "$setup/etc/cloud/cloud.cfg.d" "$setup/etc/systemd/network" "$setup/etc/initramfs-tools/conf.d"
# Only the sources Stratus offers; None lets the guest boot (and its default user exist) without any.
cat > "$setup/etc/cloud/cloud.cfg.d/90_stratus.cfg" << 'EOF'
# Stratus: the config drive, the OpenStack metadata service, or a NoCloud seed (a disk labelled cidata).
datasource_list: [ConfigDrive, OpenStack, NoCloud, None]
datasource:
  OpenStack:
    # Under emulation the metadata service may answer slowly; do not give up early, but do not hang.
    timeout: 10
    max_wait: 60
system_info:
  network:
    renderers: [networkd]
# Host keys of the current kinds only: RSA 3072 and DSA keys take most of a minute to make under emulation.
ssh_genkeytypes: [ed25519, ecdsa]
# The image has no locale data beyond C.UTF-8 (glibc's own, set in /etc/default/locale) to generate.
locale: false
EOF
echo 'LANG=C.UTF-8' > "$setup/etc/default/locale"
# Drivers of hardware a cloud guest does not use, which udev would load and probe on every boot
# (the floppy probe and nested KVM setup are slow under emulation).
mkdir -p "$setup/etc/modprobe.d"
printf 'blacklist %s\n' floppy pcspkr kvm kvm_amd kvm_intel powernow_k8 > "$setup/etc/modprobe.d/stratus-cloud.conf"
# ds-identify would disable cloud-init when it does not recognise the platform (a plain qemu guest):
# let cloud-init itself look through the list instead.
cat > "$setup/etc/cloud/ds-identify.cfg" << 'EOF'
policy: search,found=all,maybe=all,notfound=enabled
EOF
# Every NIC, also one hot-plugged later, takes its address by DHCP. cloud-init's own files
# (10-cloud-init-*.network) sort first and win for the NICs it configures.
cat > "$setup/etc/systemd/network/99-dhcp-all.network" << 'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=yes

[DHCPv4]
UseDomains=yes
EOF
# The initrd carries the drivers of the virtual hardware only: the default (MODULES=most) takes any host's,
# and MODULES=dep would look at the build host's root device. (A file of its own: /etc/initramfs-tools/modules
# is the package's conffile.) The IDE CD-ROM's drivers load there too, so that the config drive (an ISO on
# the emulated IDE CD-ROM) is a block device before the root's systemd starts: cloud-init's ds-identify looks
# for its config-2 label from a generator, before udev has loaded any module, and a drive it does not see
# there is left out of the datasources cloud-init tries.
mkdir -p "$setup/usr/share/initramfs-tools/modules.d"
echo 'MODULES=list' > "$setup/etc/initramfs-tools/conf.d/stratus"
printf '%s\n' virtio_pci virtio_blk virtio_scsi virtio_net ext4 ata_piix sr_mod isofs \
  > "$setup/usr/share/initramfs-tools/modules.d/stratus"

echo "build-debian-cloud-image: installing $suite from $mirror"
mmdebstrap --variant=minbase --mode=root \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --include="$(
    IFS=,
    echo "${packages[*]}"
  )" \
  --setup-hook="cp -a '$setup/.' \"\$1/\"" \
  --customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Package} \${Version}\n' > '$work/packages.txt'" \
  "$suite" "$tree" \
  "deb $mirror $suite main" \
  "deb $mirror $suite-updates main" \
  "deb $security_mirror $suite-security main" > "$work/mmdebstrap.log" 2>&1 ||
  {
    tail -n 40 "$work/mmdebstrap.log" >&2
    fail "mmdebstrap failed"
  }

# --- what a cloud guest must not carry from the build -------------------------------------------------------
# A machine id, host keys and cloud-init state are made on the first boot of each server.
: > "$tree/etc/machine-id"
rm -f "$tree/var/lib/dbus/machine-id" "$tree"/etc/ssh/ssh_host_*
rm -rf "$tree/var/lib/cloud"/* "$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/*.bin "$tree"/var/log/*.log
ln -sf ../run/systemd/resolve/stub-resolv.conf "$tree/etc/resolv.conf"
echo "LABEL=$label / ext4 rw,discard,errors=remount-ro 0 1" > "$tree/etc/fstab"
echo localhost > "$tree/etc/hostname"

# --- units: what a short-lived guest under emulation need not run -------------------------------------------
systemctl --root="$tree" enable systemd-networkd.service systemd-resolved.service > /dev/null 2>&1
systemctl --root="$tree" mask \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
  systemd-networkd-wait-online.service > /dev/null 2>&1
# Networking is up enough for cloud-init once the link has an address, which cloud-init waits for itself.

kernel="$(ls "$tree"/boot/vmlinuz-* | sort -V | tail -n 1)"
kver="${kernel##*/vmlinuz-}"
[ -f "$tree/boot/initrd.img-$kver" ] || fail "the tree has no initrd for $kver"
cp "$kernel" "$work/vmlinuz"
cp "$tree/boot/initrd.img-$kver" "$work/initrd.img"

mkfs.ext4 -q -F -L "$label" -d "$tree" "$work/root.raw" "$root_size" > /dev/null
qemu-img convert -c -f raw -O qcow2 "$work/root.raw" "$work/root.qcow2"
rm -f "$work/root.raw"

# no_timer_check: an emulated guest on a busy host can miss the PIT check's timed wait and hang at boot.
# console=tty0 first and ttyS0 last: the last one is /dev/console, where systemd and cloud-init write.
echo "root=LABEL=$label ro console=tty0 console=ttyS0,115200 no_timer_check net.ifnames=0" > "$work/cmdline"
echo "$stamp" > "$work/stamp"
for f in vmlinuz initrd.img root.qcow2 cmdline packages.txt stamp; do
  cp "$work/$f" "$out_dir/.$f.$$"
  mv -f "$out_dir/.$f.$$" "$out_dir/$f"
done
echo "build-debian-cloud-image: built in $out_dir ($kver, $(du -h "$out_dir/root.qcow2" | cut -f1) root, $((SECONDS - started)) s)"
