# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Host side of the VM harness: mirror discovery, cached build roots and VM images, booting qemu.
# Sourced by vm-run and run-suite; needs root, debootstrap, qemu-system-x86 and e2fsprogs.

INTEGRATION_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_ROOT=$(cd "$INTEGRATION_DIR/../.." && pwd)
UNIFIED_VM_CACHE=${UNIFIED_VM_CACHE:-/var/cache/unified-vm}
# Bump to force every cached image and build root to be rebuilt.
IMAGE_FORMAT=1

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Packages of the test images. The runtime libraries are named per release because Debian 13
# renamed them (t64 transition, libcgroup soname bump); a host-built tree (vm-run --build-dir)
# links against them too.
image_packages() {
        local release=$1
        echo systemd systemd-sysv dbus udev kmod linux-image-amd64 initramfs-tools libpam-systemd \
                polkitd procps iproute2 curl jq less util-linux prometheus libyaml-0-2 libnss-systemd
        # The runtime libraries of our binaries (the VM is offline): trixie renamed both for the
        # 64-bit time_t transition (libmicrohttpd12t64) or a new soname (libcgroup3).
        case $release in
        bookworm) echo libcgroup2 libmicrohttpd12 ;;
        # podman: the Kubernetes consumer of `unifiedctl export kubernetes` (70-kubernetes.sh);
        # catatonit lets it build its pause image offline, nftables is netavark's firewall.
        *)        echo libcgroup3 libmicrohttpd12t64 podman catatonit nftables ;;
        esac
}

# The Debian mirror this machine's apt uses (never written into the repository). The deb822
# file may carry a snapshot URL; every release is taken from the same base.
debian_mirror() {
        local uri
        if [ -n "${UNIFIED_MIRROR:-}" ]; then
                echo "$UNIFIED_MIRROR"
                return
        fi
        uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
                /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
        if [ -z "$uri" ]; then
                uri=$(awk '$1 == "deb" && $2 !~ /security/ { print ($2 ~ /^\[/ ? $3 : $2); exit }' \
                        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)
        fi
        [ -n "$uri" ] || die "cannot find a Debian mirror in /etc/apt/sources.list*"
        echo "${uri%/}"
}

inputs_hash() {
        # Everything that changes the content of a cached tree goes into its name.
        { echo "format $IMAGE_FORMAT"; printf '%s\n' "$@"; } |
                sha256sum | cut -c1-12
}

# Runs "$@" with /proc, /sys, /dev mounted in the chroot ROOT, unmounting on every exit path.
chroot_run() {
        local root=$1 rc=0
        shift
        mount -t proc proc "$root/proc"
        mount -t sysfs sysfs "$root/sys"
        mount --bind /dev "$root/dev"
        mount --bind /dev/pts "$root/dev/pts"
        LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$root" "$@" || rc=$?
        umount "$root/dev/pts" "$root/dev" "$root/sys" "$root/proc" || umount -l "$root/dev/pts" "$root/dev" "$root/sys" "$root/proc"
        return $rc
}

policy_rc_block() {
        # No service may start inside a chroot while we install into it.
        printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
        chmod 755 "$1/usr/sbin/policy-rc.d"
}

# rm -rf that never follows a mount a killed chroot_run left behind (a bind-mounted /dev).
remove_tree() {
        local m
        [ -e "$1" ] || return 0
        for m in $(awk -v d="$(readlink -f "$1")/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
                umount "$m" || umount -l "$m"
        done
        rm -rf --one-file-system "$1"
}

# Makes sure a finished tree exists at DIR, building it with BUILDER DIR.tmp if not. The lock
# lets two test runs share one cache; a half-built tree never takes the final name.
cache_ensure() {
        local dir=$1 builder=$2 lock start
        mkdir -p "$UNIFIED_VM_CACHE"
        lock="$UNIFIED_VM_CACHE/.lock-$(basename "$dir")"
        exec {lockfd}>"$lock"
        flock "$lockfd"
        if [ ! -e "$dir/.complete" ]; then
                start=$(date +%s)
                log "building $dir (not cached)"
                remove_tree "$dir.tmp"; remove_tree "$dir"
                mkdir -p "$dir.tmp"
                # (stdout is the caller's answer, e.g. image_ensure's directory: builders talk on stderr)
                if ! "$builder" "$dir.tmp" >&2; then
                        remove_tree "$dir.tmp"
                        exec {lockfd}>&-
                        die "building $dir failed"
                fi
                touch "$dir.tmp/.complete"
                mv "$dir.tmp" "$dir"
                log "built $dir in $(( $(date +%s) - start )) s"
        else
                log "using cached $dir"
        fi
        exec {lockfd}>&-
}

# Drops the cached siblings of DIR (other hashes of the same kind and release).
cache_prune() {
        local dir=$1 prefix=$2 other
        for other in "$UNIFIED_VM_CACHE/$prefix"-*; do
                [ -d "$other" ] && [ "$other" != "$dir" ] || continue
                case $other in *.tmp) continue ;; esac
                case $prefix:$other in *-extra:*|*:*-extra-*) [[ $prefix == *-extra ]] || continue ;; esac
                log "removing stale cache $other"
                remove_tree "$other"
                rm -f "$UNIFIED_VM_CACHE/.lock-$(basename "$other")"
        done
}

# --- test images ---------------------------------------------------------------------------------

_image_build() {
        local out=$1 root=$1/root mirror pkgs
        mirror=$(debian_mirror)
        pkgs=$(image_packages "$IMAGE_RELEASE")
        # shellcheck disable=SC2086
        log "debootstrap $IMAGE_RELEASE (minbase) from $mirror"
        debootstrap --variant=minbase "$IMAGE_RELEASE" "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
                { tail -n 30 "$out/debootstrap.log" >&2; return 1; }
        policy_rc_block "$root"
        # A small initrd (what this VM's root device needs) instead of MODULES=most: less for TCG
        # to unpack at every boot.
        mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"
        echo "MODULES=list" >"$root/etc/initramfs-tools/conf.d/unified-vm.conf"
        cat >"$root/etc/initramfs-tools/hooks/unified-vm" <<'HOOK'
#!/bin/sh
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
for m in virtio_pci virtio_blk ext4; do force_load "$m"; done
HOOK
        chmod 755 "$root/etc/initramfs-tools/hooks/unified-vm"
        log "installing test image packages: $pkgs $IMAGE_EXTRA"
        # shellcheck disable=SC2086
        chroot_run "$root" apt-get install -y -q --no-install-recommends $pkgs $IMAGE_EXTRA \
                >"$out/apt.log" 2>&1 || { tail -n 30 "$out/apt.log" >&2; return 1; }
        chroot_run "$root" apt-get clean

        ls "$root"/lib/modules/*/kernel/fs/9p/9p.ko* "$root"/lib/modules/*/kernel/net/9p/9pnet_virtio.ko* \
                >/dev/null || { log "the kernel has no 9p modules"; return 1; }

        echo "unified-test" >"$root/etc/hostname"
        printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
        # A fixed machine id: with -snapshot every boot would otherwise be a first boot.
        tr -d '-' </proc/sys/kernel/random/uuid >"$root/etc/machine-id"
        chroot "$root" passwd -d root >/dev/null
        chroot "$root" useradd --create-home --shell /bin/bash --comment "unprivileged test user" tester
        # Services the tests start themselves when they need them (netavark's DHCP proxy: podman,
        # trixie only, serves macvlan networks, which no case uses).
        chroot "$root" systemctl disable prometheus.service prometheus-node-exporter.service \
                apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
                netavark-dhcp-proxy.service netavark-dhcp-proxy.socket >/dev/null 2>&1 || true

        mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d" "$root/mnt/share"
        cat >"$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM
EOF
        # The one thing the image itself does: mount the 9p share and hand over to the job the
        # host put there. Everything else lives in the share, so changing it rebuilds nothing.
        cat >"$root/usr/local/sbin/harness-job" <<'EOF'
#!/bin/bash
modprobe -a 9p 9pnet_virtio || true
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share /mnt/share; then
        echo "harness-job: no 9p share, nothing to do"
        exit 0
fi
[ -x /mnt/share/job ] || exit 0
exec /mnt/share/job
EOF
        chmod 755 "$root/usr/local/sbin/harness-job"
        cat >"$root/etc/systemd/system/harness-job.service" <<'EOF'
[Unit]
Description=VM test harness job (from the host's 9p share)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/harness-job
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
        chroot "$root" systemctl enable harness-job.service >/dev/null 2>&1
        rm -f "$root/usr/sbin/policy-rc.d"

        chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$out/packages.txt"
        cp "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n1)" "$out/vmlinuz"
        cp "$(ls "$root"/boot/initrd.img-* | sort -V | tail -n1)" "$out/initrd.img"
        log "making the ext4 image"
        # mke2fs announces the image file it creates on stdout even with -q; stdout is the image
        # directory's name for image_ensure's callers.
        mkfs.ext4 -q -L root -d "$root" "$out/root.img" 3G >"$out/mkfs.log" 2>&1 ||
                { tail -n 30 "$out/mkfs.log" >&2; return 1; }
        # The tree stays: derived images (extra runtime dependencies) start from it.
}

# image_ensure RELEASE [EXTRA_PACKAGE...] -> prints the image directory
# (root.img, vmlinuz, initrd.img, packages.txt, root/).
image_ensure() {
        local release=$1 hash dir
        shift
        IMAGE_RELEASE=$release
        IMAGE_EXTRA="$*"
        hash=$(inputs_hash "image" "$release" "$(debian_mirror)" "$(declare -f _image_build image_packages)" \
                "$IMAGE_EXTRA")
        # Images with extra packages (a package that needs more than the base has) are kept
        # beside the base image, not instead of it.
        local kind="image-$release"
        [ -z "$IMAGE_EXTRA" ] || kind="image-$release-extra"
        dir="$UNIFIED_VM_CACHE/$kind-$hash"
        cache_ensure "$dir" _image_build
        cache_prune "$dir" "$kind"
        echo "$dir"
}

# The packages apt would have to fetch to install these .debs in the image (which is offline):
# asked of apt itself in the image's tree, so alternatives and virtual packages count as apt
# counts them.
deb_missing_depends() {
        local image=$1 tmp deb own=() inside=()
        shift
        tmp=$(mktemp -d "$image/root/tmp/debs.XXXXXX")
        for deb in "$@"; do
                cp "$deb" "$tmp/"
                own+=(-e "$(dpkg-deb -f "$deb" Package)")
                inside+=("${tmp#"$image/root"}/$(basename "$deb")")
        done
        LC_ALL=C chroot "$image/root" apt-get install -s -q --no-install-recommends "${inside[@]}" |
                awk '/^Inst / { print $2 }' | grep -vx "${own[@]}" || true
        rm -rf "$tmp"
}

# --- build roots ---------------------------------------------------------------------------------

_buildroot_build() {
        local out=$1 root=$1/root mirror
        mirror=$(debian_mirror)
        log "debootstrap $BUILDROOT_RELEASE (buildd) from $mirror"
        debootstrap --variant=buildd "$BUILDROOT_RELEASE" "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
                { tail -n 30 "$out/debootstrap.log" >&2; return 1; }
        policy_rc_block "$root"
        mkdir -p "$root/build/deps"
        cp -r "$SOURCE_ROOT/packaging/deb/debian" "$root/build/deps/"
        log "installing build dependencies and lintian into the $BUILDROOT_RELEASE build root"
        chroot_run "$root" sh -c 'apt-get install -y -q --no-install-recommends lintian &&
                cd /build/deps && apt-get build-dep -y -q ./' >"$out/apt.log" 2>&1 ||
                { tail -n 30 "$out/apt.log" >&2; return 1; }
        chroot_run "$root" apt-get clean
        rm -rf "$root/build/deps"
}

# buildroot_ensure RELEASE -> prints the build root directory (the chroot is DIR/root).
buildroot_ensure() {
        local release=$1 hash dir
        BUILDROOT_RELEASE=$release
        hash=$(inputs_hash "buildroot" "$release" "$(debian_mirror)" "$(declare -f _buildroot_build)" \
                "$(cat "$SOURCE_ROOT/packaging/deb/debian/control")")
        dir="$UNIFIED_VM_CACHE/buildroot-$release-$hash"
        cache_ensure "$dir" _buildroot_build
        cache_prune "$dir" "buildroot-$release"
        echo "$dir"
}

# build_deb_in RELEASE OUTDIR: builds the package from this checkout inside the release's build
# root, as sbuild would; leaves unified_*.deb (and .changes/.buildinfo) in OUTDIR.
build_deb_in() {
        local release=$1 outdir=$2 broot work rc=0 start
        broot=$(buildroot_ensure "$release")/root
        work=$(mktemp -d "$broot/build/src.XXXXXX")
        start=$(date +%s)
        log "building the $release package in $broot"
        tar -C "$SOURCE_ROOT" --exclude=.git --exclude='./build*' --exclude='*.o' -cf - . | tar -C "$work" -xf -
        mkdir -p "$work.out"
        chroot_run "$broot" "/build/$(basename "$work")/packaging/deb/build-deb" "/build/$(basename "$work").out" \
                >"$outdir/build-$release.log" 2>&1 || rc=$?
        if [ $rc -ne 0 ]; then
                tail -n 60 "$outdir/build-$release.log" >&2
                rm -rf "$work" "$work.out"
                log "package build for $release failed (full log: $outdir/build-$release.log)"
                return $rc
        fi
        cp "$work.out"/* "$outdir/"
        rm -rf "$work" "$work.out"
        log "built the $release package in $(( $(date +%s) - start )) s"
}

# --- booting -------------------------------------------------------------------------------------

# qemu can run here at all: the binary is there, executes, and has TCG (no KVM needed).
qemu_usable() {
        command -v qemu-system-x86_64 >/dev/null || return 1
        qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg
}

# TCG VMs share the machine's cores: nine VMs on two cores boot in ten minutes each and hit their
# timeouts, so VMs queue for one of UNIFIED_VM_SLOTS slots (default: cores / 2, at least 1),
# host-wide. The slot is held until the caller exits or calls vm_slot_release.
vm_slot_acquire() {
        local slots i waited=0
        slots=${UNIFIED_VM_SLOTS:-$(( $(nproc) / 2 ))}
        [ "$slots" -ge 1 ] || slots=1
        mkdir -p "$UNIFIED_VM_CACHE"
        while :; do
                for (( i = 0; i < slots; i++ )); do
                        exec {VM_SLOT_FD}>"$UNIFIED_VM_CACHE/.vm-slot-$i"
                        flock -n "$VM_SLOT_FD" && return 0
                        exec {VM_SLOT_FD}>&-
                done
                [ $waited -eq 1 ] || log "waiting for a free VM slot (UNIFIED_VM_SLOTS=$slots, other VMs are running)"
                waited=1
                sleep 2
        done
}

vm_slot_release() {
        [ -z "${VM_SLOT_FD:-}" ] || exec {VM_SLOT_FD}>&-
        VM_SLOT_FD=
}

# vm_boot IMAGE_DIR SHARE_DIR TIMEOUT_SECONDS CONSOLE_LOG|- : boots the image with SHARE_DIR as the
# 9p share "share". With CONSOLE_LOG "-" the serial console is this terminal (interactive).
# qemu is killed when the timeout expires; the return value is qemu's (124 on timeout).
vm_boot() {
        local image=$1 share=$2 timeout=$3 console=$4 rc=0
        local -a qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 2048 -smp 2
                -kernel "$image/vmlinuz" -initrd "$image/initrd.img"
                -append "root=/dev/vda rw console=ttyS0 panic=-1 systemd.firstboot=off ${UNIFIED_VM_CMDLINE:-}"
                -drive "file=$image/root.img,format=raw,if=virtio" -snapshot
                -virtfs "local,path=$share,mount_tag=share,security_model=none,id=share"
                -nic none -nographic -no-reboot)
        vm_slot_acquire
        if [ "$console" = - ]; then
                "${qemu[@]}" || rc=$?
        else
                timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >"$console" 2>&1 || rc=$?
        fi
        vm_slot_release
        return $rc
}

# stage_share SHARE MODE: puts the guest-side harness (job, runner, lib, cases) into SHARE.
stage_share() {
        local share=$1
        shift
        mkdir -p "$share/harness" "$share/cases" "$share/results"
        cp "$INTEGRATION_DIR/guest-job" "$share/job"
        cp "$INTEGRATION_DIR/runner.sh" "$INTEGRATION_DIR/lib.sh" "$share/harness/"
        chmod 755 "$share/job"
        : >"$share/job.conf"
}
