#!/bin/busybox sh
# initramfs /init: load the disk and ext4 modules, mount the root, hand over to the guest init.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.load); do
	insmod "/modules/$m" 2>/dev/null || echo "initramfs: insmod $m failed (ignored)"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw /dev/vda /newroot; then
	echo "SMC-FATAL initramfs cannot mount /dev/vda"
	echo o >/proc/sysrq-trigger
fi
mount --move /dev /newroot/dev
umount /sys /proc
exec switch_root /newroot /sbin/secmarkc-init
