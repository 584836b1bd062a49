#!/bin/sh
# PID 1 of the VM's busybox initramfs: load the virtio, 9p, overlay and ext4 modules, mount the
# host's root (shared read-only over 9p) under an overlay whose upper layer is a tmpfs, and hand
# over to test/vm/guest.sh inside it. The host's repo is visible at the path it has on the host.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
  echo "slabio-vm: initramfs: $*"
  echo o >/proc/sysrq-trigger
  sleep 60
}

# modules.order lists them dependencies first, as the host script copied them.
while read -r m; do
  insmod "/modules/$m.ko" || fail "insmod $m failed"
done </modules.order

repo=$(sed -n 's/.*slabio_repo=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$repo" ] || fail "no slabio_repo= on the kernel command line"

mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,cache=loose,msize=262144 host /lower ||
  fail "cannot mount the host's root over 9p"
mount -t tmpfs -o size=1g tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
  fail "cannot mount the overlay"
[ -f "/newroot$repo/test/vm/guest.sh" ] || fail "no $repo/test/vm/guest.sh in the shared root"

# The new root mounts proc, sysfs and devtmpfs afresh: moving these mounts across failed.
umount /dev /sys /proc
exec switch_root /newroot /bin/bash "$repo/test/vm/guest.sh" "$repo"
