# lockstep in a VM: sourced by run.sh (needs say, is_root, build helpers from there).
#
#   vm_main [--kernel K] [--timeout S] [--results-dir D] [--memory M] [-- lockstep args...]
#
# K is a bzImage/vmlinuz path, a Debian kernel version (6.1.192, 6.12.117), a series
# (6.1, 6.12: its newest build) or a package name (linux-image-6.1.0-56-amd64). Debian
# kernels are downloaded with apt-get once and kept under $LOCKSTEP_CACHE
# (/var/cache/lockstep). The guest is QEMU TCG (KVM only when LOCKSTEP_KVM=1 and a probe
# boot works: /dev/kvm on these machines cannot run a stock kernel), 2 vCPUs, two NUMA
# nodes; an initramfs of busybox + the static lockstep + lockstep-agent runs the whole
# suite and sends results/<release>/<run id>/ back on the second serial port.
#
# Exit: 0 pass, 1 fail (a divergence, or the kernel panicked / oopsed / warned / hung, or
# it never reached the suite), 2 bad input (no such file, unknown version, not a kernel
# image), 4 everything skipped. <run dir>/vm.env says which, for `bisect`.

vm_cache=${LOCKSTEP_CACHE:-/var/cache/lockstep}
vm_static_dir=${LOCKSTEP_STATIC_BUILD_DIR:-.build-static}

# Debian kernel packages the registry offers, "package version" sorted by version; kept
# in the cache until apt's lists change (one apt-cache call per package is slow).
vm_debian_kernels() {
    local list=$vm_cache/debian-kernels.txt
    if [ -s "$list" ] && [ -z "$(find /var/lib/apt/lists -maxdepth 1 -newer "$list" -name '*Packages*' 2>/dev/null | head -1)" ]; then
        cat "$list"; return
    fi
    mkdir -p "$vm_cache" 2>/dev/null
    vm_debian_kernels_uncached | tee "$list.tmp.$$" && [ -s "$list.tmp.$$" ] && mv "$list.tmp.$$" "$list" 2>/dev/null
    rm -f "$list.tmp.$$"
}

vm_debian_kernels_uncached() {
    apt-cache search --names-only '^linux-image-6\.[0-9.]+(-[0-9]+|\+deb[0-9]+)-amd64$' 2>/dev/null |
        awk '{print $1}' | while read -r p; do
            v=$(apt-cache show --no-all-versions "$p" 2>/dev/null | awk '/^Version:/{print $2; exit}')
            [ -n "$v" ] && echo "$p ${v%%-*}"
        done | sort -k2,2V -k1,1V
}

# Package name for K (version, series or package name); empty when unknown.
vm_debian_package() {
    local k=$1 list
    list=$(vm_debian_kernels)
    case "$k" in
        linux-image-*) awk -v k="$k" '$1==k{print $1}' <<<"$list" | tail -1 ;;
        *.*.*) awk -v k="$k" '$2==k{print $1}' <<<"$list" | tail -1 ;;          # newest build of that version
        *.*) awk -v k="$k" 'index($2, k".")==1{print $1}' <<<"$list" | tail -1 ;; # newest of the series
    esac
}

# Downloads and unpacks a Debian kernel package once; prints its directory.
vm_fetch_debian() {
    local pkg=$1 dir=$vm_cache/kernels/$1
    if [ ! -f "$dir/.complete" ]; then
        say "downloading $pkg (once; cached in $dir)"
        rm -rf "$dir" && mkdir -p "$dir/deb" || return 1
        (cd "$dir/deb" && apt-get download -q "$pkg" >"$dir/apt.log" 2>&1) || {
            say "apt-get download $pkg failed (network or mirror unreachable?): $(grep -m1 -E '^(E|Err)' "$dir/apt.log" | cut -c1-200)"
            return 1
        }
        dpkg -x "$dir"/deb/*.deb "$dir/root" && rm -rf "$dir/deb" && touch "$dir/.complete" || return 1
    fi
    echo "$dir"
}

# Is this a bzImage (x86 boot protocol header "HdrS" at 0x202)?
vm_is_bzimage() {
    [ "$(dd if="$1" bs=1 skip=514 count=4 2>/dev/null)" = "HdrS" ]
}

# The release a bzImage announces (boot protocol: kernel_version, a pointer at 0x20E, +0x200).
vm_image_release() {
    local off
    off=$(od -An -tu2 -j $((0x20E)) -N2 "$1" 2>/dev/null | tr -d ' ')
    [ -n "$off" ] && [ "$off" -gt 0 ] || return 0
    dd if="$1" bs=1 skip=$((off + 0x200)) count=128 2>/dev/null | tr '\0' '\n' | head -1 | awk '{print $1}' | tr -cd 'A-Za-z0-9._+~-'
}

# Static lockstep and lockstep-agent for the guest, stripped; prints their directory.
vm_static_build() {
    local log=$vm_static_dir/run-sh-build.log out=$vm_static_dir/guest
    mkdir -p "$vm_static_dir" || return 1
    # LOCKSTEP_VM_PREBUILT=1: take the static binaries as they are (a bisect or bench loop).
    if [ "${LOCKSTEP_VM_PREBUILT-}" = 1 ] && [ -x "$vm_static_dir/release/lockstep" ]; then :
    elif ! swift build -c release --scratch-path "$vm_static_dir" -Xswiftc -static-executable >"$log" 2>&1; then
        tail -n 30 "$log" >&2; say "static build failed (full log: $log)"; return 1
    fi
    mkdir -p "$out"
    local b
    for b in lockstep lockstep-agent; do
        if [ ! -f "$out/$b" ] || [ "$vm_static_dir/release/$b" -nt "$out/$b" ]; then
            strip -o "$out/$b.tmp" "$vm_static_dir/release/$b" && mv "$out/$b.tmp" "$out/$b" || return 1
        fi
    done
    echo "$out"
}

# newc cpio (gzip) of a directory tree.
vm_cpio() { (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1; }

# The guest's base initramfs (busybox, init, lockstep, agent), rebuilt when an input changes.
vm_base_initramfs() {
    local bin=$1 key out
    key=$(cat "$bin/lockstep" "$bin/lockstep-agent" vm/init "$(command -v busybox)" | sha256sum | cut -c1-16)
    out=$vm_cache/initramfs/base-$key.cpio.gz
    if [ ! -f "$out" ]; then
        local t; t=$(mktemp -d)
        mkdir -p "$t"/{bin,dev,proc,sys,tmp,results,lockstep,modules} "$out.d" 2>/dev/null; rmdir "$out.d"
        cp "$(command -v busybox)" "$t/bin/busybox"
        local a; for a in $("$t/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$t/bin/$a"; done
        cp vm/init "$t/init" && cp "$bin/lockstep" "$bin/lockstep-agent" "$t/lockstep/"
        mkdir -p "$(dirname "$out")" && vm_cpio "$t" >"$out.tmp" && mv "$out.tmp" "$out"
        rm -rf "$t"
        find "$vm_cache/initramfs" -name 'base-*.cpio.gz' ! -newer "$out" ! -path "$out" -mmin +60 -delete 2>/dev/null
    fi
    echo "$out"
}

# Modules for a disk filesystem under /tmp (brd RAM disk + ext4) and zram (swap for the
# lazy.* reclaim scenarios), from a Debian
# package's tree, as a cpio with /modules/order; empty when the kernel has none.
vm_modules_initramfs() {
    local mods=$1 out=$2 t m f deps order=()
    [ -d "$mods" ] || return 0
    t=$(mktemp -d); mkdir -p "$t/modules"
    vm_add_module() {
        local name=$1 f d
        case " ${order[*]-} " in *" $name.ko "*) return 0 ;; esac
        f=$(find "$mods" -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" | head -1); [ -n "$f" ] || return 0
        case "$f" in   # busybox insmod takes plain modules
            *.xz) xz -dc "$f" >"$t/modules/$name.ko" ;;
            *.zst) zstd -qdc "$f" >"$t/modules/$name.ko" ;;
            *) cp "$f" "$t/modules/$name.ko" ;;
        esac || return 1
        deps=$(strings -a "$t/modules/$name.ko" | sed -n 's/^depends=//p' | head -1)
        for d in ${deps//,/ }; do vm_add_module "$d"; done
        order+=("$name.ko")
    }
    for m in crc32c_generic crc16 mbcache jbd2 ext4 brd zram; do vm_add_module "$m"; done
    printf '%s\n' "${order[@]}" >"$t/modules/order"
    vm_cpio "$t" >"$out"; rm -rf "$t"
}

# The console's verdict on the kernel: prints "kind<TAB>first matching line" or nothing.
vm_console_trouble() {
    grep -a -m1 -n -E 'Kernel panic|BUG:|Oops|WARNING:|general protection fault|Unable to handle kernel|kernel BUG at|-- System halted|invalid compressed format|Decompressing Linux.*(error|failed)' "$1" |
        sed -E 's/^([0-9]+):(.*)$/\1\t\2/'
}

vm_main() {
    set +e +o pipefail   # every failure below is handled and named
    local kernel="" timeout=${LOCKSTEP_VM_TIMEOUT:-300} results=results memory=2G extra=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --kernel) kernel=${2-}; shift 2 || { say "--kernel needs a value"; return 2; } ;;
            --kernel=*) kernel=${1#*=}; shift ;;
            --timeout) timeout=${2-}; shift 2 || { say "--timeout needs seconds"; return 2; } ;;
            --results-dir) results=${2-}; shift 2 || { say "--results-dir needs a directory"; return 2; } ;;
            --memory) memory=${2-}; shift 2 || { say "--memory needs a size"; return 2; } ;;
            --append) vm_append=${2-}; shift 2 ;;
            --initrd-extra) vm_initrd_extra=${2-}; shift 2 ;;
            --) shift; extra=("$@"); break ;;
            -h|--help) sed -n '3,17s/^# \{0,1\}//p' vm/vm.sh; return 0 ;;
            *) extra+=("$1"); shift ;;
        esac
    done
    [ -n "$kernel" ] || { say "vm: --kernel K is required (a bzImage path, a Debian version like 6.1.192, or a series: 6.1, 6.12)"; return 2; }
    [[ "$timeout" =~ ^[0-9]+$ ]] && [ "$timeout" -gt 0 ] || { say "vm: --timeout must be a positive number of seconds"; return 2; }
    command -v qemu-system-x86_64 >/dev/null || vm_install qemu-system-x86 || { say "vm: qemu-system-x86_64 is missing"; return 1; }
    command -v busybox >/dev/null || vm_install busybox-static || { say "vm: busybox is missing"; return 1; }
    command -v cpio >/dev/null || vm_install cpio || { say "vm: cpio is missing"; return 1; }

    # The kernel image, and modules when it comes from a Debian package.
    local image mods="" label pkg dir
    if [ -e "$kernel" ]; then
        image=$kernel; label=$(basename "$kernel")
    else
        # A machine whose apt has never fetched its lists knows no kernel: fetch them once.
        if [ -z "$(vm_debian_kernels)" ] && is_root; then
            say "vm: apt knows no Debian kernel packages: apt-get update (network needed)"
            apt-get update -qq >/dev/null 2>&1 || { say "vm: apt-get update failed (network or mirror unreachable?)"; return 1; }
        fi
        [ -n "$(vm_debian_kernels)" ] || { say "vm: no Debian kernel list (apt-cache knows no linux-image-*-amd64; apt sources or network missing)"; return 1; }
        pkg=$(vm_debian_package "$kernel")
        [ -n "$pkg" ] || { say "vm: '$kernel' is neither a file nor a Debian kernel version (known: $(vm_debian_kernels | awk '{print $2}' | tr '\n' ' '))"; return 2; }
        dir=$(vm_fetch_debian "$pkg") || { say "vm: could not fetch $pkg"; return 1; }
        image=$(ls "$dir"/root/boot/vmlinuz-* | head -1); mods=$(ls -d "$dir"/root/lib/modules/* | head -1); label=$pkg
    fi
    [ -f "$image" ] && [ -r "$image" ] || { say "vm: $image is not a readable file"; return 2; }
    vm_is_bzimage "$image" || { say "vm: $image is not a bootable x86 kernel image (no bzImage header); give a bzImage or vmlinuz"; return 2; }

    local bin base modcpio="" initrd t0 work
    t0=$(date +%s.%N)
    bin=$(vm_static_build) || return 1
    base=$(vm_base_initramfs "$bin") || return 1
    if [ -n "$mods" ]; then
        modcpio=$vm_cache/initramfs/modules-ext4-brd-zram-$(basename "$mods").cpio.gz
        [ -f "$modcpio" ] || vm_modules_initramfs "$mods" "$modcpio"
    fi
    work=$(mktemp -d /tmp/lockstep-vm.XXXXXX)
    # The run's arguments travel in a small cpio of their own, appended to the base.
    mkdir -p "$work/args/lockstep"; printf '%s ' "${extra[@]}" >"$work/args/lockstep/args"
    vm_cpio "$work/args" >"$work/args.cpio.gz"
    initrd=$work/initrd.cpio.gz
    cat "$base" ${modcpio:+"$modcpio"} ${vm_initrd_extra:+"$vm_initrd_extra"} "$work/args.cpio.gz" >"$initrd"

    local accel=tcg
    [ "${LOCKSTEP_KVM-}" = 1 ] && vm_kvm_works "$image" && accel=kvm
    local half=$(( $(vm_mib "$memory") / 2 ))
    local console=$work/console.log resultsfile=$work/results.b64
    say "vm: booting $label under QEMU $accel (2 vCPUs, 2 NUMA nodes, ${memory}), timeout ${timeout}s"
    : >"$console"
    local tq; tq=$(date +%s.%N)   # the verdict's clock starts at boot: build and initramfs are cached work
    # secretmem.enable=1: memfd_secret is off by default before 6.5 ("mm/secretmem: make
    # it on by default"), so 6.1 guests would skip the files.secret.* scenarios.
    # One socket per node: CPUs of one package on two nodes make the kernel WARN (topology_sane).
    local qemu=(qemu-system-x86_64 -accel "$accel$([ "$accel" = tcg ] && echo "${LOCKSTEP_VM_TCG_OPTS-,thread=single}")" -m "$memory" -smp 2,sockets=2,cores=1,threads=1
        -object memory-backend-ram,id=m0,size=${half}M -object memory-backend-ram,id=m1,size=${half}M
        -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1
        -display none -monitor none -no-reboot -nodefaults
        -serial stdio -chardev file,id=res,path="$resultsfile" -serial chardev:res
        -kernel "$image" -initrd "$initrd"
        -append "console=ttyS0 loglevel=4 panic=-1 secretmem.enable=1 ${vm_append-}")
    local rc_file=$work/qemu.rc
    # Stream the console (progress) while keeping it; stop early on a decompressor halt.
    ( timeout -k 5 "$timeout" "${qemu[@]}" </dev/null 2>"$work/qemu.err" & echo $! >"$work/qemu.pid"; wait $!; echo $? >"$rc_file" ) |
        while IFS= read -r line; do
            line=${line%$'\r'}
            printf '%s\n' "$line" >>"$console"
            printf '  | %s\n' "$line"
            case "$line" in *"System halted"*) kill "$(cat "$work/qemu.pid")" 2>/dev/null ;; esac
        done
    local qrc; qrc=$(cat "$rc_file" 2>/dev/null || echo 1)
    local t1 secs boot; t1=$(date +%s.%N); secs=$(awk -v a="$tq" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')

    # Bring the results back: results/<release>/<run id>/ from the guest, plus the console.
    local guestdir="" status rc=1 why trouble
    if grep -q LOCKSTEP-RESULTS-END "$resultsfile" 2>/dev/null; then
        mkdir -p "$work/out"
        sed -n '/LOCKSTEP-RESULTS-BEGIN/,/LOCKSTEP-RESULTS-END/p' "$resultsfile" | sed '1d;$d' | tr -d '\r' |
            base64 -d | tar -xzf - -C "$work/out" 2>/dev/null
        local rec; rec=$(find "$work/out" -name record.json | head -1)
        if [ -n "$rec" ]; then
            local rel run; run=$(basename "$(dirname "$rec")"); rel=$(basename "$(dirname "$(dirname "$rec")")")
            guestdir=$results/$rel/$run
            mkdir -p "$guestdir" && cp "$(dirname "$rec")"/* "$guestdir/"
            cp "$work/out/dmesg.txt" "$guestdir/dmesg.txt" 2>/dev/null
        fi
    fi
    if [ -z "$guestdir" ]; then
        # No record: name the run after the release the image announces.
        local rel; rel=$(vm_image_release "$image")
        guestdir=$results/${rel:-$label}/vm-$(date -u +%Y%m%dT%H%M%SZ)-$$
        mkdir -p "$guestdir"
    fi
    cp "$console" "$guestdir/console.log"
    trouble=$(vm_console_trouble "$guestdir/console.log"; [ -f "$guestdir/dmesg.txt" ] && vm_console_trouble "$guestdir/dmesg.txt")
    trouble=$(head -1 <<<"$trouble")
    local guestrc; guestrc=$(cat "$work/out/rc" 2>/dev/null)
    if [ -n "$trouble" ]; then
        status=kernel-error; rc=1
        local n=${trouble%%$'\t'*}
        why="kernel ERROR: ${trouble#*$'\t'}"
        echo "--- console excerpt ($guestdir/console.log, line $n) ---" >&2
        awk -v n="$n" 'NR>=n-3 && NR<=n+25' "$guestdir/console.log" | grep -a . >&2 || sed -n "$((n > 3 ? n - 3 : 1)),$((n + 25))p" "$guestdir/dmesg.txt" >&2
    elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
        status=hang; rc=1; why="timeout: no result after ${timeout}s (the kernel hung; last console line: $(grep -a . "$console" | tail -1 | cut -c1-120))"
    elif [ -n "$guestrc" ]; then
        rc=$guestrc
        case "$rc" in 0) status=pass ;; 4) status=skip ;; 2) status=usage-error ;; *) status=fail ;; esac
        why="suite exit $rc in the guest"
        [ "$rc" = 2 ] && why="$why: $(grep -a -m1 '^lockstep: ' "$console" | cut -c1-160)"
    elif ! grep -q 'lockstep-guest: begin' "$console"; then
        status=no-boot; rc=1; why="the kernel did not reach the suite (qemu exit $qrc$(head -c 200 "$work/qemu.err" | tr '\n' ' ' | sed 's/^./: &/'))"
    else
        status=no-result; rc=1; why="the suite started but sent no result (qemu exit $qrc)"
    fi
    {
        echo "status=$status"; echo "exit=$rc"; echo "kernel=$label"; echo "image=$image"; echo "accel=$accel"
        echo "seconds=$secs"; echo "guest_suite_seconds=$(sed -n 's/^lockstep-guest: end .*suite=\([0-9.]*\)s.*/\1/p' "$guestdir/console.log")"
        echo "why=$why"
    } >"$guestdir/vm.env"
    rm -rf "$work"
    say "vm: $label: $status in ${secs}s: $why"
    say "vm: results in $guestdir"
    return "$rc"
}

vm_mib() { local m=$1; case "$m" in *G) echo $(( ${m%G} * 1024 )) ;; *M) echo "${m%M}" ;; *) echo "$m" ;; esac; }

vm_install() {
    is_root && command -v apt-get >/dev/null || return 1
    say "installing $*"
    apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# KVM only when it really runs a kernel: a probe boot must print the kernel's banner in 20 s.
vm_kvm_works() {
    [ -w /dev/kvm ] || return 1
    timeout -k 2 20 qemu-system-x86_64 -accel kvm -m 256M -display none -monitor none -nodefaults -no-reboot \
        -serial stdio -kernel "$1" -append "console=ttyS0 panic=-1" </dev/null 2>/dev/null | grep -q -m1 'Linux version'
}

# bench: the VM verdict's cost (boot + whole suite, build and initramfs cached) for each
# Debian kernel already in the cache; nothing is downloaded for it.
vm_bench() {
    local d pkg any=0
    for d in "$vm_cache"/kernels/*/.complete; do
        [ -f "$d" ] || continue
        pkg=$(basename "$(dirname "$d")"); any=1
        local out secs boot suite status
        out=$(vm_main --kernel "$pkg" 2>&1 >/dev/null)
        local dir; dir=$(sed -n 's/^run.sh: vm: results in //p' <<<"$out" | tail -1)
        secs=$(sed -n 's/^seconds=//p' "$dir/vm.env" 2>/dev/null); status=$(sed -n 's/^status=//p' "$dir/vm.env" 2>/dev/null)
        boot=$(sed -n 's/^lockstep-guest: end .*boot=\([0-9.]*\)s.*/\1/p' "$dir/console.log" 2>/dev/null)
        suite=$(sed -n 's/^guest_suite_seconds=//p' "$dir/vm.env" 2>/dev/null)
        printf 'VM verdict %-36s %6ss (boot %ss + suite %ss in the guest; %s)   target <= 60 s  %s\n' \
            "$pkg" "${secs:-?}" "${boot:-?}" "${suite:-?}" "${status:-no verdict}" \
            "$(awk -v s="${secs:-999}" 'BEGIN{print (s <= 60) ? "ok" : "OVER"}')"
    done
    [ $any = 1 ] || echo "VM verdict: no kernel cached under $vm_cache/kernels (./run.sh vm --kernel 6.1 fetches one)"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (TCG shares them)"
}
