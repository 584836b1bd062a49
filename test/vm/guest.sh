#!/bin/bash
# PID 1 inside the VM, after switch_root into the overlay of the host's root: mount the kernel's
# file systems, the cgroup2 hierarchy and the ext4 scratch disk (/tmp stays the overlay's: the
# repo may be a clone under the host's /tmp), run the checks of
# dist/test/vm/ with node's test runner (TAP on the second serial port, which the host script
# reads) and power off. Nothing here may exit: PID 1 exiting is a kernel panic.
repo=$1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -s /proc/self/fd /dev/fd
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /scratch
mount -t ext4 /dev/vda /scratch

results=/dev/ttyS1
stty -F "$results" raw -echo 2>/dev/null
say() { printf '%s\n' "$*" >"$results"; }

say "SLABIO-VM-BEGIN kernel=$(uname -r)"
# Let the root group hand the memory controller to the groups the checks create.
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
cd "$repo" || { say "cannot cd to $repo"; say "SLABIO-VM-END rc=1"; echo o >/proc/sysrq-trigger; sleep 60; }
# From the kernel command line: slabio_node=<the host's node>, slabio_only=a,b to run only
# dist/test/vm/{a,b}.test.js.
arg() { sed -n "s/.*slabio_$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
only=$(arg only)
node=$(arg node)
files=(dist/test/vm/)
if [[ -n $only ]]; then
  IFS=, read -ra names <<<"$only"
  files=("${names[@]/#/dist/test/vm/}")
  files=("${files[@]/%/.test.js}")
fi
SLABIO_VM_GUEST=1 SLABIO_VM_SCRATCH=/scratch \
  "${node:-node}" --expose-gc --test --test-concurrency=1 --test-reporter=tap "${files[@]}" >"$results" 2>&1
rc=$?
leftover=$(find /sys/fs/cgroup -mindepth 1 -type d -name 'slabio-*' 2>/dev/null | tr '\n' ' ')
if [ -z "$leftover" ]; then say "no slabio-* group left behind"; else say "groups left behind: $leftover"; rc=1; fi
say "SLABIO-VM-END rc=$rc"
sync
umount /scratch
echo o >/proc/sysrq-trigger
sleep 60
