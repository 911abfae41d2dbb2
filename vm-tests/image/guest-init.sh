#!/bin/sh
# PID 1 of the test guest (after switch_root): load the SELinux policy, mount what the
# scenarios need, run the guest driver from the shared project, power off.
# Everything on the serial console that starts with SMC- is read by vm-tests/run.ts.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

off() {
	sync
	echo "SMC-POWEROFF"
	echo o >/proc/sysrq-trigger
	sleep 10
}
fatal() { echo "SMC-FATAL $*"; off; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "SMC-BOOT uptime=$(cut -d' ' -f1 /proc/uptime)"

load_policy -i || fatal "load_policy failed"
echo "SMC-SELINUX enforce=$(cat /sys/fs/selinux/enforce) context=$(cat /proc/self/attr/current | tr -d '\0')"

# After the policy load, so that the new mounts get their labels.
# Labelled as on an installed system: confined tools (semanage_t, iptables_t) may read there.
mount -t tmpfs -o mode=0755,rootcontext=system_u:object_r:var_run_t:s0 tmpfs /run
mount -t tmpfs -o mode=1777,rootcontext=system_u:object_r:tmp_t:s0 tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -o remount,rw /

# Without auditd, AVC lines go through printk, whose rate limit drops most of them.
echo 0 >/proc/sys/kernel/printk_ratelimit
echo 10000 >/proc/sys/kernel/printk_ratelimit_burst
ip link set lo up

modprobe 9pnet_virtio && modprobe 9p || fatal "cannot load 9p modules"
opts=trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose,context=system_u:object_r:bin_t:s0
mount -t 9p -o "$opts" smcnode /smc/node || fatal "cannot mount smcnode"
mount -t 9p -o "$opts" smcproject /smc/project || fatal "cannot mount smcproject"

node=/smc/node/node scenarios= init=
for arg in $(cat /proc/cmdline); do
	case $arg in
	smc.node=*) node=/smc/node/${arg#smc.node=} ;;
	smc.scenarios=*) scenarios=${arg#smc.scenarios=} ;;
	smc.init=*) init=${arg#smc.init=} ;;
	esac
done
echo "SMC-READY uptime=$(cut -d' ' -f1 /proc/uptime)"

# Boot under systemd: a setup from the project share (units, policy, state: whatever the
# scenarios of this boot ask for) runs as an administrator would, then systemd becomes PID 1
# (kernel_t -> init_t on init_exec_t) and runs the driver as a unit, which powers off.
if [ "$init" = systemd ]; then
	cd /tmp
	runcon -t unconfined_t -- "$node" /smc/project/vm-tests/guest/systemd-setup.mjs $(echo "$scenarios" | tr ',' ' ') ||
		fatal "systemd setup failed"
	echo "SMC-SYSTEMD uptime=$(cut -d' ' -f1 /proc/uptime)"
	exec /lib/systemd/systemd
fi

# The driver (and secmarkc, which it runs) is an administrator's unconfined_t, one of the
# default loader domains; kernel_t, the init's own domain, may not even run V8 (no execmem).
cd /tmp
runcon -t unconfined_t -- "$node" /smc/project/vm-tests/guest/driver.mjs $(echo "$scenarios" | tr ',' ' ')
rc=$?
echo "SMC-DRIVER-EXIT $rc"
if [ "$rc" != 0 ]; then
	dmesg | grep -E 'avc:|Kernel panic|BUG|Oops' | tail -n 40 | sed 's/^/SMC-KERNEL /'
fi
off
