#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kselftest entry for lockstep: checks the running kernel's locked-memory accounting
# (VmLck, smaps Locked, Mlocked, Unevictable, unevictable_pgs_*, kpageflags) against
# a reference model, scenario by scenario. KTAP v1 on stdout, one subtest per scenario.
# Exit: 0 all passed (some may skip), 1 a failure, 4 everything skipped.
# Extra arguments go to the tool (e.g. `run selftests.mlock2`), or set
# KSELFTEST_LOCKSTEP_MLOCK_SH_ARGS as kselftest's runner does.

ksft_skip=4
here="$(dirname "$(readlink -f "$0")")"
repo="$(dirname "$here")"

if ! command -v swift >/dev/null 2>&1 && [ ! -x "$repo/.build/release/lockstep" ]; then
    echo "TAP version 13"
    echo "1..0 # SKIP lockstep: no swift toolchain to build it with"
    exit $ksft_skip
fi

# Build first (quiet unless it fails): a harness that does not build is a failure
# of this test, reported before any KTAP output.
if ! "$repo/run.sh" build >&2; then
    echo "KTAP version 1"
    echo "1..0"
    echo "Bail out! lockstep did not build (see the messages above)"
    exit 1
fi

# Wait for another lockstep run at most 60 s: the settings file allows 300 s in all.
# shellcheck disable=SC2086
exec "$repo/run.sh" --ktap --wait 60 ${KSELFTEST_LOCKSTEP_MLOCK_SH_ARGS:-} "$@"
