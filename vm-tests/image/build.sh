#!/bin/bash
# Builds the test guest into OUTDIR: vmlinuz, initrd.img, root.ext4, build.json.
# Called by vm-tests/lib/image.ts with a fresh temporary OUTDIR, which it renames into the
# cache only when this script succeeds. Needs root, debootstrap, busybox-static, cpio,
# policycoreutils (setfiles) and e2fsprogs on the host.
#   build.sh OUTDIR [DEBCACHE]
set -euo pipefail

out=$(realpath "$1")
debcache=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
mirror=${SMC_VM_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
packages=$(grep -v '^#' "$here/packages.txt" | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
root=$out/root
t0=$SECONDS

log() { echo "[build +$((SECONDS - t0))s] $*"; }

mkdir -p "$out"

# --- kernel: Debian's signed-off 6.1 image, unpacked without installing it on the host
log "kernel: resolving linux-image-amd64"
kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1; }
kname=$(kpkg || true)
if [ -z "$kname" ]; then
	log "kernel: apt lists empty, running apt-get update"
	apt-get update -qq
	kname=$(kpkg)
fi
mkdir -p "$out/kdeb"
if ! (cd "$out/kdeb" && apt-get download -q "$kname" >/dev/null 2>&1); then
	log "kernel: download failed, refreshing apt lists"
	apt-get update -qq
	kname=$(kpkg)
	(cd "$out/kdeb" && apt-get download -q "$kname")
fi
dpkg-deb -x "$out"/kdeb/*.deb "$out/kernel"
kver=$(ls "$out/kernel/lib/modules")
cp "$out/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
log "kernel: $kname ($kver)"

# --- root file system
log "debootstrap: $suite minbase + $packages"
dbargs=(--variant=minbase "--include=$packages")
if [ -n "$debcache" ]; then mkdir -p "$debcache"; dbargs+=("--cache-dir=$debcache"); fi
if ! debootstrap "${dbargs[@]}" "$suite" "$root" "$mirror" >"$out/debootstrap.log" 2>&1; then
	tail -n 30 "$out/debootstrap.log" >&2
	[ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
	exit 1
fi
rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/* "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/locale"

log "modules: installing $kver into the root"
mkdir -p "$root/usr/lib/modules"
cp -a "$out/kernel/lib/modules/$kver" "$root/usr/lib/modules/"
chroot "$root" depmod "$kver"

# --- SELinux: enforcing config, test domains, labels
log "selinux: test-domains module"
sed -i 's/^SELINUX=.*/SELINUX=enforcing/' "$root/etc/selinux/config"
cp "$here/test-domains.cil" "$root/tmp/smc-test-domains.cil"
chroot "$root" semodule -n -i /tmp/smc-test-domains.cil
rm "$root/tmp/smc-test-domains.cil"

install -m 0755 "$here/guest-init.sh" "$root/sbin/secmarkc-init"
mkdir -p "$root/smc/node" "$root/smc/project"

policy=$(ls "$root"/etc/selinux/default/policy/policy.* | sort -V | tail -n1)
log "selinux: labelling with $(basename "$policy")"
setfiles -m -F -r "$root" -c "$policy" "$root/etc/selinux/default/contexts/files/file_contexts" "$root"

log "ext4: root.ext4"
mke2fs -q -t ext4 -L smcroot -E root_owner=0:0 -d "$root" "$out/root.ext4" 1536M

# --- initramfs: static busybox + the modules needed to reach the root disk
log "initramfs"
ird=$out/initramfs
mkdir -p "$ird/bin" "$ird/modules"
cp /bin/busybox "$ird/bin/busybox"
install -m 0755 "$here/initramfs-init.sh" "$ird/init"
: >"$ird/modules.load"
for mod in virtio_pci virtio_blk crc32c_generic ext4; do
	chroot "$root" modprobe -S "$kver" --show-depends "$mod" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r path; do
	name=$(basename "$path")
	cp "$root$path" "$ird/modules/$name"
	echo "$name" >>"$ird/modules.load"
done
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initrd.img"

cat >"$out/build.json" <<JSON
{"kernelPackage": "$kname", "kernel": "$kver", "suite": "$suite", "seconds": $((SECONDS - t0)), "initramfsModules": "$(tr '\n' ' ' <"$ird/modules.load")"}
JSON
rm -rf "$root" "$out/kernel" "$out/kdeb" "$ird"
log "done"
