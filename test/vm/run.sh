#!/usr/bin/env bash
# `npm run test:vm`: boot Debian's kernel in qemu (TCG) with this machine's root shared read-only,
# run the cgroup v2 checks of dist/test/vm/ inside it (test/vm/guest.sh) and report each one.
# Exit 0 when all passed, 1 on a failed check, a missing result or the wall-clock cap; 0 with a
# "skipped:" line when this machine cannot run the VM at all (no qemu, no kernel package).
# Arguments name the check files to run (`npm run test:vm -- guard-v2 fs-v2`), all by default.
# See test/vm/README.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache="$repo/.vm-cache"
run="$cache/run"
cap=${SLABIO_VM_TIMEOUT:-360}
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache
  9pnet 9pnet_virtio 9p overlay virtio_blk crc16 crc32c_generic libcrc32c mbcache jbd2 ext4)

skip() {
  echo "test:vm skipped: $*"
  exit 0
}

[[ $repo != *[[:space:]]* ]] || skip "the repo path has a space in it, which the kernel command line cannot carry"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] || skip "busybox is not installed (apt-get install busybox-static)"
# The initramfs has no libc: a dynamically linked busybox would not start there.
if ldd "$busybox" >/dev/null 2>&1; then skip "$busybox is dynamically linked (apt-get install busybox-static)"; fi
[[ -f $repo/dist/test/vm/vm-helpers.js ]] || { echo "test:vm: run npm run build first"; exit 1; }
# The guest runs this machine's node, found on this PATH (the guest's PATH is the default one).
node=$(command -v node)
[[ $node != *[[:space:]]* ]] || skip "the path of node has a space in it: $node"
only=""
for name in "$@"; do
  name=${name%.test.*}
  [[ -f $repo/dist/test/vm/$name.test.js ]] || { echo "test:vm: no check file dist/test/vm/$name.test.js"; exit 1; }
  only+="${only:+,}$name"
done

# Debian's kernel: linux-image-amd64 depends on the current linux-image-6.1.0-N-amd64. Fetched once
# into .vm-cache/kernel, with the modules the VM needs decompressed for busybox's insmod.
fetch_kernel() {
  local tmp="$cache/download"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && apt-get download -q linux-image-amd64 >/dev/null 2>&1) ||
    skip "apt-get download linux-image-amd64 failed (no Debian package lists or no network to the registry; run apt-get update)"
  local dep
  dep=$(dpkg-deb -f "$tmp"/linux-image-amd64_*.deb Depends | grep -o 'linux-image-[0-9][^ ,]*' | head -n1)
  [[ -n $dep ]] || { echo "test:vm: cannot tell which kernel linux-image-amd64 depends on"; exit 1; }
  (cd "$tmp" && apt-get download -q "$dep" >/dev/null 2>&1) || skip "apt-get download $dep failed"
  dpkg -x "$tmp/${dep}"_*.deb "$tmp/x"
  rm -rf "$cache/kernel" && mkdir -p "$cache/kernel/modules"
  cp "$tmp"/x/boot/vmlinuz-* "$cache/kernel/vmlinuz"
  local m f
  for m in "${modules[@]}"; do
    f=$(find "$tmp/x/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n1)
    [[ -n $f ]] || { echo "test:vm: module $m is not in $dep"; exit 1; }
    case $f in
      *.xz) xz -dc "$f" >"$cache/kernel/modules/$m.ko" ;;
      *.zst) zstd -qdc "$f" >"$cache/kernel/modules/$m.ko" ;;
      *) cp "$f" "$cache/kernel/modules/$m.ko" ;;
    esac
  done
  echo "${dep#linux-image-}" >"$cache/kernel/version"
  rm -rf "$tmp"
}
[[ -f $cache/kernel/version ]] || fetch_kernel
echo "test:vm: kernel $(cat "$cache/kernel/version") (Debian), qemu TCG, cap ${cap}s"

rm -rf "$run" && mkdir -p "$run/initramfs/bin" "$run/initramfs/modules"
trap 'rm -f "$run/scratch.img"' EXIT
cp "$busybox" "$run/initramfs/bin/busybox"
ln -s busybox "$run/initramfs/bin/sh"
cp "$repo/test/vm/initramfs-init.sh" "$run/initramfs/init"
cp "$cache"/kernel/modules/*.ko "$run/initramfs/modules/"
printf '%s\n' "${modules[@]}" >"$run/initramfs/modules.order"
(cd "$run/initramfs" && find . | "$busybox" cpio -o -H newc 2>/dev/null) >"$run/initramfs.cpio"
# Page-cache checks need a block file system: tmpfs pages are shmem, charged as anon.
truncate -s 4G "$run/scratch.img"
mkfs.ext4 -q -F "$run/scratch.img"

start=$SECONDS
set +e
timeout -k 5 "$cap" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
  -nodefaults -no-reboot -display none -monitor none \
  -kernel "$cache/kernel/vmlinuz" -initrd "$run/initramfs.cpio" \
  -append "console=ttyS0 quiet loglevel=4 panic=-1 slabio_repo=$repo slabio_node=$node slabio_only=$only" \
  -serial "file:$run/console.log" -serial "file:$run/results.log" \
  -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
  -drive "file=$run/scratch.img,format=raw,if=virtio,cache=unsafe"
qrc=$?
set -e
elapsed=$((SECONDS - start))

tr -d '\r' <"$run/results.log" >"$run/results.tap"
if ((qrc == 124 || qrc == 137)); then
  echo "test:vm: FAILED: the VM did not power off within ${cap}s (killed); console: $run/console.log"
  tail -n 20 "$run/results.tap"
  exit 1
fi
# Each check as node's TAP reporter printed it (subtests indented), its diagnostics, the counts.
grep -E '^ *(not )?ok [0-9]+ - |^ *# (tests|pass|fail|skipped) |^ *# [^ ]+: |^SLABIO-VM|group(s)? left behind' "$run/results.tap" |
  grep -vE '^ *# (Subtest|duration_ms)' || true
end=$(grep -o 'SLABIO-VM-END rc=[0-9]*' "$run/results.tap" | tail -n1 || true)
if [[ -z $end ]]; then
  echo "test:vm: FAILED: the checks did not finish (${elapsed}s); last console lines:"
  tail -n 30 "$run/console.log"
  exit 1
fi
passed=$(grep -cE '^ *ok [0-9]+ - ' "$run/results.tap" || true)
failed=$(grep -cE '^ *not ok [0-9]+ - ' "$run/results.tap" || true)
echo "test:vm: ${elapsed}s in all (boot, checks, power-off); full TAP in ${run#"$repo"/}/results.tap"
if [[ $end != 'SLABIO-VM-END rc=0' ]] || ((failed > 0 || passed == 0)); then
  echo "test:vm: FAILED ($end); the failures:"
  # The YAML block under each "not ok" line, up to its stack.
  awk '/^ *not ok [0-9]+ - /{on=1} on&&/^ *(stack:|\.\.\.$)/{on=0} on' "$run/results.tap"
  exit 1
fi
echo "test:vm: all checks passed"
