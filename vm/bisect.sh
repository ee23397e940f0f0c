# lockstep bisect: sourced by run.sh after vm/vm.sh.
#
#   git bisect run <lockstep>/run.sh bisect [options] [-- scenario ids]   (in a kernel tree)
#   <lockstep>/run.sh bisect --kernels V1,V2,...  [options] [-- ids]      (prebuilt Debian kernels)
#
# Options: --build CMD (default: merge <lockstep>/selftests/config into .config, make
# olddefconfig, make -j$(nproc) bzImage), --image PATH (default arch/x86/boot/bzImage),
# --repeat N (default 1), --signature SIG (default: the first failure seen, kept in
# $LOCKSTEP_BISECT_STATE or .git/lockstep-bisect-signature), --timeout S.
# The scenario ids default to the whole suite.
#
# In a kernel tree it exits as `git bisect run` wants: 0 good, 1 bad (the failure's
# signature matches), 125 cannot test (build or boot failure, a hang, a different
# failure, a result that changes between repeats), 128 abort (lockstep itself is broken).
# With --kernels it bisects the ordered list itself: the first kernel's outcome is the
# old behaviour, the last one's the new; it prints the first kernel showing the new one.

# One step's outcome: "pass", "bad <signature>", or "skip <why>"; sets bisect_last_dir.
bisect_outcome() {
    local kernel=$1 ; shift
    local out rc dir
    # The VM's messages are shown (stderr) and kept; the console stream is not shown.
    out=$(vm_main --kernel "$kernel" --timeout "$bisect_timeout" --results-dir "$bisect_results" -- run "$@" 2>&1 >/dev/null |
        while IFS= read -r l; do printf '%s\n' "$l" >&2; printf '%s\n' "$l"; done)
    rc=$?
    dir=$(sed -n 's/^run.sh: vm: results in //p' <<<"$out" | tail -1)
    bisect_last_dir=$dir
    [ -n "$dir" ] && [ -f "$dir/vm.env" ] || { echo "abort the VM runner gave no verdict"; return; }
    local status; status=$(sed -n 's/^status=//p' "$dir/vm.env")
    case "$status" in
        pass) echo pass ;;
        fail) local sig; sig=$(bisect_signature "$dir/ktap.txt" 2>/dev/null)
              if [ -n "$sig" ]; then echo "bad $sig"; else echo "skip the suite failed without a KTAP failure to compare"; fi ;;
        usage-error) echo "abort the suite in the guest rejected its arguments ($(sed -n 's/^why=//p' "$dir/vm.env"))" ;;
        kernel-error) echo "bad kernel-error: $(sed -n 's/^why=kernel ERROR: //p' "$dir/vm.env" | sed -E 's/^\[ *[0-9.]+\] //; s/ at .*//; s/CPU: [0-9]+ PID: [0-9]+ //' | cut -c1-60)" ;;
        skip) echo "skip every scenario skipped" ;;
        *) echo "skip $status: $(sed -n 's/^why=//p' "$dir/vm.env")" ;;
    esac
}

# A failure's signature from the KTAP: each failed scenario with its failed observables
# (step and op), sorted, joined with ";". XFAIL and SKIP are not failures.
bisect_signature() {
    awk '
        /^    not ok / { sub(/^    not ok [0-9]+ /, ""); sub(/ #.*/, ""); buf = buf (buf ? "," : "") $0; next }
        /^    ok /     { next }
        /^not ok / && !/# (XFAIL|SKIP)/ { id = $4; print id "[" buf "]"; buf = ""; next }
        /^ok / || /^not ok / { buf = "" }
    ' "$1" | sort | paste -sd';' -
}

bisect_main() {
    set +e +o pipefail
    local build="" image="" repeat=1 signature="" kernels="" ids=()
    bisect_timeout=${LOCKSTEP_VM_TIMEOUT:-300}
    bisect_results=${LOCKSTEP_BISECT_RESULTS:-$PWD/results}
    while [ $# -gt 0 ]; do
        case "$1" in
            --build) build=$2; shift 2 ;;
            --image) image=$2; shift 2 ;;
            --repeat) repeat=$2; shift 2 ;;
            --signature) signature=$2; shift 2 ;;
            --kernels) kernels=$2; shift 2 ;;
            --timeout) bisect_timeout=$2; shift 2 ;;
            -h|--help) sed -n '3,19s/^# \{0,1\}//p' vm/bisect.sh; return 0 ;;
            --) shift; ids+=("$@"); break ;;
            -*) say "bisect: unknown option $1 (see ./run.sh bisect --help)"; return 128 ;;
            *) ids+=("$1"); shift ;;
        esac
    done
    [[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { say "bisect: --repeat must be a positive number"; return 128; }
    if [ -n "$kernels" ]; then
        bisect_list "$signature" "$repeat" "${ids[@]}"
        return
    fi
    bisect_git_step "$build" "$image" "$signature" "$repeat" "${ids[@]}"
}

# One `git bisect run` step in the kernel tree we were called from.
bisect_git_step() {
    local build=$1 image=$2 signature=$3 repeat=$4; shift 4
    local tree=$invoked_from
    [ -f "$tree/Makefile" ] && [ -d "$tree/mm" ] || { say "bisect: $tree is not a kernel tree (run it from one, as git bisect run does)"; return 128; }
    local state=${LOCKSTEP_BISECT_STATE:-$(git -C "$tree" rev-parse --git-dir 2>/dev/null | sed "s|^\([^/]\)|$tree/\1|")/lockstep-bisect-signature}
    local lockstep_dir=$PWD
    image=${image:-$tree/arch/x86/boot/bzImage}
    [ -n "$build" ] || build="scripts/kconfig/merge_config.sh -m .config '$lockstep_dir/selftests/config' >/dev/null && make olddefconfig >/dev/null && make -j$(nproc) bzImage"
    local rev; rev=$(git -C "$tree" rev-parse --short HEAD 2>/dev/null)
    say "bisect: $rev: building ($build)"
    local log=${state%/*}/lockstep-bisect-build.log
    if ! (cd "$tree" && bash -c "$build") >"$log" 2>&1; then
        tail -n 15 "$log" >&2; say "bisect: $rev: build failed (log: $log): cannot test"; return 125
    fi
    [ -f "$image" ] || { say "bisect: $rev: no image at $image after the build: cannot test"; return 125; }
    # The image is copied: the next build overwrites it while the results keep pointing at it.
    local verdict
    verdict=$(bisect_repeat "$image" "$repeat" "$@") || return $?
    bisect_judge "$rev" "$verdict" "$signature" "$state"
}

# Runs one kernel N times; prints the outcome if every repeat agrees, else "skip ...".
bisect_repeat() {
    local kernel=$1 repeat=$2; shift 2
    local first="" o i
    for ((i = 1; i <= repeat; i++)); do
        o=$(bisect_outcome "$kernel" "$@")
        case "$o" in abort*) say "bisect: ${o#abort }"; return 128 ;; esac
        [ $repeat -gt 1 ] && say "bisect: repeat $i/$repeat: $o"
        if [ -z "$first" ]; then first=$o
        elif [ "$o" != "$first" ]; then echo "skip the outcome changed between repeats ($first / $o)"; return 0
        fi
    done
    echo "$first"
}

# Maps an outcome to git bisect's exit code, keeping the first failure's signature.
bisect_judge() {
    local what=$1 verdict=$2 signature=$3 state=$4
    case "$verdict" in
        pass) say "bisect: $what: good"; return 0 ;;
        skip*) say "bisect: $what: cannot test: ${verdict#skip }"; return 125 ;;
    esac
    local sig=${verdict#bad }
    if [ -z "$signature" ] && [ -n "$state" ] && [ -s "$state" ]; then signature=$(cat "$state"); fi
    if [ -z "$signature" ]; then
        [ -n "$state" ] && printf '%s\n' "$sig" >"$state"
        say "bisect: $what: bad (first failure seen; its signature is now the one to match: $sig)"
        return 1
    fi
    if [ "$sig" = "$signature" ]; then say "bisect: $what: bad ($sig)"; return 1; fi
    say "bisect: $what: cannot test: a different failure ($sig, not $signature)"
    return 125
}

# Bisects an ordered list of prebuilt kernels: the first is "old", the last "new".
bisect_list() {
    local signature=$1 repeat=$2; shift 2
    local list=() k
    IFS=', ' read -r -a list <<<"$kernels"
    [ ${#list[@]} -ge 2 ] || { say "bisect: --kernels needs at least two kernels, oldest first"; return 128; }
    for k in "${list[@]}"; do
        [ -e "$k" ] || [ -n "$(vm_debian_package "$k")" ] || { say "bisect: '$k' is neither a file nor a Debian kernel version"; return 128; }
    done
    local -A seen=()
    outcome_of() {   # cached per index
        local i=$1; shift
        if [ -z "${seen[$i]-}" ]; then
            say "bisect: [$i] ${list[$i]}: booting"
            seen[$i]=$(bisect_repeat "${list[$i]}" "$repeat" "$@") || return $?
            say "bisect: [$i] ${list[$i]}: ${seen[$i]}"
        fi
    }
    local lo=0 hi=$((${#list[@]} - 1))
    outcome_of $lo "$@" || return $?
    outcome_of $hi "$@" || return $?
    local old=${seen[$lo]} new=${seen[$hi]}
    case "$old$new" in *skip*) say "bisect: an end of the list cannot be tested (${list[$lo]}: $old; ${list[$hi]}: $new)"; return 125 ;; esac
    [ -n "$signature" ] && for x in old new; do
        [ "${!x}" = pass ] || [ "${!x}" = "bad $signature" ] || { say "bisect: ${list[$([ $x = old ] && echo $lo || echo $hi)]} fails differently from --signature: ${!x}"; return 125; }
    done
    [ "$old" != "$new" ] || { say "bisect: ${list[$lo]} and ${list[$hi]} behave the same ($old): nothing to bisect"; return 0; }
    local skipped=()
    while [ $((hi - lo)) -gt 1 ]; do
        local mid=$(((lo + hi) / 2)) m
        outcome_of $mid "$@" || return $?
        m=${seen[$mid]}
        # A kernel that cannot be tested: try its neighbours towards hi, as git bisect skip does.
        while [[ "$m" == skip* ]] && [ $((mid + 1)) -lt $hi ]; do skipped+=("${list[$mid]}"); mid=$((mid + 1)); outcome_of $mid "$@" || return $?; m=${seen[$mid]}; done
        if [[ "$m" == skip* ]]; then skipped+=("${list[$mid]}"); break; fi
        if [ "$m" = "$old" ]; then lo=$mid
        elif [ "$m" = "$new" ]; then hi=$mid
        else say "bisect: ${list[$mid]} behaves like neither end ($m): cannot place it"; return 125
        fi
    done
    echo
    echo "bisect: the behaviour changes between ${list[$lo]} and ${list[$hi]}"
    echo "  ${list[$lo]} (and before): $old"
    echo "  ${list[$hi]} (and after):  $new"
    [ ${#skipped[@]} -eq 0 ] || echo "  could not test: ${skipped[*]}"
    echo "  tested: $(for i in "${!seen[@]}"; do echo "$i"; done | sort -n | while read -r i; do printf '%s=%s ' "${list[$i]}" "${seen[$i]%% *}"; done)"
    return 0
}
