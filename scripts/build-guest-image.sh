#!/usr/bin/env bash
# Builds the tiny guest used by the qemu driver's tests and the all-in-one demo, from Debian packages only
# (linux-image-cloud-amd64, busybox-static, e2fsprogs, qemu-utils), without root mounts or loop devices.
#
# The guest is AMI-style, the shape Nova boots with direct kernel boot:
#   vmlinuz     the kernel          (upload as disk_format=aki, container_format=aki)
#   initrd.img  a busybox initramfs (disk_format=ari): loads the virtio modules, mounts /dev/vda, switch_root
#   root.qcow2  an ext4 root disk   (disk_format=qcow2, container_format=bare, with the properties
#               kernel_id, ramdisk_id and os_command_line naming the two above and the command line)
# The root's init prints "STRATUS-GUEST-READY" on the serial console and powers off cleanly when the
# ACPI power button is pressed (QMP system_powerdown), through busybox acpid. Every NIC (virtio-net),
# also one plugged in later, is brought up by DHCP (guest-image/network, guest-image/udhcpc.script), which
# prints "stratus-guest: eth0 up 10.0.0.5/24" on the console; httpd on port 80 serves a page naming the
# guest and its addresses, and TCP port 7 echoes what it receives. Three CGI test probes answer whether the
# guest reaches an address (/cgi-bin/ping?IPV4), whether it does from a spoofed source address
# (/cgi-bin/spoof-ping?SRC&DST), and whether it gets another demo guest's page over TCP
# (/cgi-bin/fetch?IPV4): fixed commands on strictly checked dotted IPv4 arguments (guest-image/probe).
# Once the network is up it reads http://169.254.169.254/ (guest-image/metadata) and prints
# "stratus-metadata uuid=<uuid>" and "stratus-user-data: <first line>" on the console; from a config drive
# (the CD-ROM labelled config-2) it prints "stratus-config-drive uuid=<uuid>" and
# "stratus-config-drive-user-data: <first line>".
#
# Usage: scripts/build-guest-image.sh [OUTPUT_DIR]   (default: .cache/guest-image in the project)
# The output is cached: a stamp records the kernel, busybox and this script; a matching stamp skips the build.
set -euo pipefail

project_dir="$(cd "$(dirname "$0")/.." && pwd)"
out_dir="${1:-$project_dir/.cache/guest-image}"
marker="STRATUS-GUEST-READY"

need() {
  command -v "$1" > /dev/null 2>&1 || {
    echo "build-guest-image: '$1' is missing; install the Debian package $2 (apt-get install -y $2)" >&2
    exit 1
  }
}
need busybox busybox-static
need mkfs.ext4 e2fsprogs
need qemu-img qemu-utils
need cpio cpio
kernel="$(ls /boot/vmlinuz-*-cloud-amd64 2> /dev/null | sort -V | tail -n 1 || true)"
if [ -z "$kernel" ]; then
  echo "build-guest-image: no cloud kernel in /boot; install linux-image-cloud-amd64" >&2
  exit 1
fi
kver="${kernel#/boot/vmlinuz-}"
modules="/lib/modules/$kver"
busybox_bin="$(command -v busybox)"
# ldd fails on a static binary, which the guest needs (it has no libc).
if ldd "$busybox_bin" > /dev/null 2>&1; then
  echo "build-guest-image: $busybox_bin is dynamically linked; install busybox-static" >&2
  exit 1
fi

guest_files="$project_dir/scripts/guest-image"
stamp="kernel=$kver busybox=$(sha256sum "$busybox_bin" | cut -c1-16) script=$(cat "$0" "$guest_files"/* | sha256sum | cut -c1-16)"
if [ -f "$out_dir/stamp" ] && [ "$(cat "$out_dir/stamp")" = "$stamp" ] &&
  [ -f "$out_dir/vmlinuz" ] && [ -f "$out_dir/initrd.img" ] && [ -f "$out_dir/root.qcow2" ]; then
  echo "build-guest-image: up to date in $out_dir"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Installs busybox and one symlink per applet under $1.
install_busybox() {
  mkdir -p "$1/bin" "$1/sbin" "$1/usr/bin" "$1/usr/sbin"
  cp "$busybox_bin" "$1/bin/busybox"
  for applet in $("$busybox_bin" --list); do
    [ -e "$1/bin/$applet" ] || ln -s busybox "$1/bin/$applet"
  done
}

# --- initramfs: find the root disk and hand over to it ------------------------------------------------------
initramfs="$work/initramfs"
install_busybox "$initramfs"
mkdir -p "$initramfs"/{proc,sys,dev,newroot,lib/modules}
# Order matters: each module after the ones it needs (modules.dep), virtio_ring before virtio.
# The network ones are loaded here too, so the root needs no module tree.
module_list="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk button evdev"
module_list="$module_list failover net_failover virtio_net"
# Copies kernel module $1 (unpacked) into directory $2.
copy_module() {
  local path
  path="$(grep -E "/$1\.ko(\.[a-z]+)?:" "$modules/modules.dep" | cut -d: -f1 | head -n 1)"
  if [ -z "$path" ]; then
    echo "build-guest-image: kernel module $1 not found in $modules" >&2
    exit 1
  fi
  case "$path" in
    *.ko) cp "$modules/$path" "$2/$1.ko" ;;
    *.ko.xz) xz -dc "$modules/$path" > "$2/$1.ko" ;;
    *.ko.zst) zstd -dc "$modules/$path" > "$2/$1.ko" ;;
    *) echo "build-guest-image: cannot unpack $path" >&2 && exit 1 ;;
  esac
}
for m in $module_list; do copy_module "$m" "$initramfs/lib/modules"; done
cat > "$initramfs/init" << EOF
#!/bin/busybox sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $module_list; do insmod /lib/modules/\$m.ko 2> /dev/null; done
root=/dev/vda
for arg in \$(cat /proc/cmdline); do
  case "\$arg" in root=*) root="\${arg#root=}" ;; esac
done
tries=0
while [ ! -b "\$root" ] && [ \$tries -lt 100 ]; do sleep 0.1; tries=\$((tries + 1)); done
if ! mount -t ext4 "\$root" /newroot; then
  echo "stratus-guest: cannot mount the root disk \$root; powering off"
  poweroff -f
fi
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
chmod +x "$initramfs/init"
(cd "$initramfs" && find . | cpio -o -H newc --quiet | gzip -9) > "$work/initrd.img"

# --- root filesystem: print the marker, power off on the ACPI button ----------------------------------------
root="$work/root"
install_busybox "$root"
mkdir -p "$root"/{proc,sys,dev,tmp,run,var/log,etc/acpi/PWRF,www/cgi-bin,lib/modules}
# The IDE CD-ROM and ISO 9660 modules, in load order: guest-image/metadata loads them to read a config
# drive, after the boot (the READY marker does not wait for the IDE bus to be probed).
for m in scsi_common scsi_mod libata ata_piix cdrom sr_mod isofs; do copy_module "$m" "$root/lib/modules"; done
cp "$guest_files/network" "$root/sbin/stratus-network"
cp "$guest_files/page" "$root/sbin/stratus-page"
cp "$guest_files/metadata" "$root/sbin/stratus-metadata"
cp "$guest_files/udhcpc.script" "$root/etc/udhcpc.script"
chmod 755 "$root/sbin/stratus-network" "$root/sbin/stratus-page" "$root/sbin/stratus-metadata" "$root/etc/udhcpc.script"
# Test probes (guest-image/probe): httpd runs them as CGI; the script acts by the name it is called by.
for probe in ping spoof-ping fetch; do
  cp "$guest_files/probe" "$root/www/cgi-bin/$probe"
  chmod 755 "$root/www/cgi-bin/$probe"
done
# /run is a tmpfs: DHCP state from before a reboot must not survive it.
cat > "$root/sbin/init" << EOF
#!/bin/busybox sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2> /dev/null
mount -t tmpfs run /run
hostname stratus-guest
acpid -c /etc/acpi -l /var/log/acpid.log
echo "$marker \$(cat /proc/uptime | cut -d' ' -f1)s" > /dev/ttyS0
# The network after the marker, which it does not delay: it has console lines of its own.
ip link set lo up
/sbin/stratus-page
httpd -p 80 -h /www
nc -ll -p 7 -e cat &
/sbin/stratus-network &
/sbin/stratus-metadata &
# The screen (tty0, the VNC console) shows the marker, then the uptime every 2 s: a person sees a live guest,
# and a test sees the screen change.
echo "$marker" > /dev/tty0
while :; do
  echo "stratus-guest: up \$(cut -d' ' -f1 /proc/uptime)s" > /dev/tty0
  sleep 2
done
EOF
chmod +x "$root/sbin/init"
# busybox acpid runs CONFDIR/PWRF/00000080 when the power button is pressed. The line goes through the
# kernel's log at KERN_CRIT (shown despite `quiet`): the kernel writes it to the serial console before the
# write returns, whereas a line written to /dev/ttyS0 waits in the tty's buffer for the UART, and
# `poweroff -f` right after could end the guest with it unsent (seen on a loaded host under TCG).
cat > "$root/etc/acpi/PWRF/00000080" << 'EOF'
#!/bin/sh
echo "<2>stratus-guest: power button pressed, powering off" > /dev/kmsg
sync
mount -o remount,ro / 2> /dev/null
poweroff -f
EOF
chmod +x "$root/etc/acpi/PWRF/00000080"
mkfs.ext4 -q -F -L stratus-root -d "$root" "$work/root.raw" 32M > /dev/null
qemu-img convert -f raw -O qcow2 "$work/root.raw" "$work/root.qcow2"

cp "$kernel" "$work/vmlinuz"
# no_timer_check: the kernel's check that the PIT timer interrupt arrives is a timed wait, and a guest
# emulated on a host busy with many others can miss it and hang there at boot ("8254 timer not connected
# to IO-APIC", seen with 20 TCG guests booting at once on 2 cores). Cloud images pass it for the same reason.
# console=tty0 and ttyS0: the kernel writes to the screen (the VGA card, the VNC console) and to the serial
# port (the console log); ttyS0 last is /dev/console, where the init scripts' lines go.
echo "console=tty0 console=ttyS0 root=/dev/vda rw quiet panic=-1 no_timer_check" > "$work/cmdline"
echo "$stamp" > "$work/stamp"
# Each file is renamed into place, so a concurrent reader (parallel tests) never sees half a file.
mkdir -p "$out_dir"
for f in vmlinuz initrd.img root.qcow2 cmdline stamp; do
  cp "$work/$f" "$out_dir/.$f.$$"
  mv -f "$out_dir/.$f.$$" "$out_dir/$f"
done
echo "build-guest-image: built in $out_dir ($kver)"
