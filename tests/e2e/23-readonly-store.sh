# status and report open the store read-only: they work on a store on a
# read-only file system, and never exit 0 with output that did not arrive.
. "$(dirname "$0")/common.sh"
mkdir -p src/in mnt
"$TOOL" gen src/in/a.png 200 150 3 8 1
"$TOOL" mask src/in/a_mask.png 200 150 disk:100,75,20
expect_exit 0 "$TP" run src/in -o src/out --engine telea -q
expect_exit 0 "$TP" report -o src/out --format json
cp "$T/.stdout" want.json
mount --bind src mnt || fail "cannot bind-mount (this test needs root)"
trap 'umount "$T/mnt" 2>/dev/null || true; rm -rf "$T"' EXIT
mount -o remount,ro,bind mnt || fail "cannot remount read-only"
touch mnt/out/probe 2>/dev/null && fail "the mount is writable"
expect_exit 0 "$TP" status -o mnt/out
grep_out "1 done"
expect_exit 0 "$TP" report -o mnt/out --format json
# the same report but for the store's path, which it names
sed 's#"mnt/out/#"src/out/#g' "$T/.stdout" > got.json
cmp got.json want.json || fail "report differs on the read-only store"
umount mnt
note "a report that cannot be written is an error"
set +e
"$TP" report -o src/out >/dev/full 2>"$T/full.err"; rc=$?
"$TP" status -o src/out >/dev/full 2>>"$T/full.err"; rc2=$?
set -e
eq "$rc" 74 "report to a full disk"
eq "$rc2" 74 "status to a full disk"
grep -q "No space left on device" "$T/full.err" || fail "no reason given: $(cat "$T/full.err")"
