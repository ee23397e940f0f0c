#!/usr/bin/env bash
# lockstep: one entry for people and CI.
#
#   ./run.sh                 the whole live suite on this kernel (verdict table, record under results/)
#   ./run.sh --ktap          the same, KTAP v1 on stdout
#   ./run.sh list            the scenarios
#   ./run.sh run ID...       some scenarios (an ID may name a family: selftests.mlock2)
#   ./run.sh test            the package's tests (swift test --no-parallel)
#   ./run.sh bench           timings against their targets
#   ./run.sh vm --kernel K   the suite in a QEMU guest booting K (a bzImage, or a Debian version: 6.1, 6.12.117)
#   ./run.sh bisect ...      git bisect run helper (0 good, 1 bad, 125 skip, 128 abort); --kernels A,B,... bisects prebuilt kernels
#   ./run.sh report          the newest run of each kernel side by side (markdown; HTML in results/report.html)
#   ./run.sh selfcheck       the suite against simulated kernel bugs (exit 0: each caught or rightly skipped)
#   ./run.sh build           build only
#   ./run.sh ARGS...         anything else goes to the tool (./run.sh --help)
#
# Installs what is missing (as root, with apt), builds quietly, then runs. Root is
# needed for the exact page layer (PFNs, kpageflags, stat_refresh); without it the
# rest still runs. The exit status is the tool's: 0 pass, 1 fail, 4 all skipped, 2 usage.
set -euo pipefail
invoked_from=$PWD   # bisect runs in the kernel tree git bisect run was started in
cd "$(dirname "$(readlink -f "$0")")"
build_dir=${LOCKSTEP_BUILD_DIR:-.build}   # SwiftPM's scratch path
tool=$build_dir/release/lockstep

say() { printf 'run.sh: %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# Debian packages the build needs; installed only when missing, and only when we can.
install_missing() {
    command -v dpkg-query >/dev/null && command -v apt-get >/dev/null && is_root || return 0
    local p missing=()
    for p in libcap-dev libseccomp-dev pkg-config; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The static agent links libseccomp.a (selfcheck's simulated bugs): say so plainly if absent.
check_libseccomp() {
    local dir
    dir=$(pkg-config --variable=libdir libseccomp 2>/dev/null) || dir=""
    for d in "$dir" /usr/lib/*-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
        [ -n "$d" ] && [ -f "$d/libseccomp.a" ] && return 0
    done
    say "libseccomp.a not found: the static lockstep-agent links it (Debian: apt-get install libseccomp-dev)"
    exit 1
}

# swift build -c release into $build_dir; its output only when it fails.
build() {
    local log=$build_dir/run-sh-build.log
    if ! mkdir -p "$build_dir" 2>/dev/null || [ ! -w "$build_dir" ]; then
        [ -x "$tool" ] && return 0   # someone else's build: use it as it is
        say "cannot build: $build_dir is not writable by $(id -un) (run ./run.sh build as its owner)"
        exit 1
    fi
    check_libseccomp
    if ! swift build -c release --scratch-path "$build_dir" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        say "build failed (full log: $log)"
        exit 1
    fi
}

root_note() {
    is_root && return 0
    say "not root: the exact page layer (PFNs, kpageflags, stat_refresh) needs root; running what can run without it"
    export LOCKSTEP_ROOT_NOTED=1
}

install_missing || say "could not install the build's packages; trying to build anyway"
case "${1-}" in
    test)
        shift
        root_note
        check_libseccomp
        exec swift test --no-parallel --scratch-path "$build_dir" "$@"
        ;;
    build)
        build
        ;;
    -h|--help|help)
        sed -n '4,15s/^# \{0,1\}//p' "$0"
        build
        echo
        exec "$tool" --help
        ;;
    vm)
        shift
        . vm/vm.sh
        vm_main "$@"
        exit
        ;;
    bisect)
        shift
        . vm/vm.sh
        . vm/bisect.sh
        bisect_main "$@"
        exit
        ;;
    bench)
        build
        root_note
        rc=0; "$tool" "$@" || rc=$?
        echo
        . vm/vm.sh
        vm_bench
        exit $rc
        ;;
    list)
        build
        exec "$tool" "$@"
        ;;
    *)  # the whole suite, --ktap, run ID..., bench, and anything else the tool takes
        build
        root_note
        exec "$tool" "$@"
        ;;
esac
