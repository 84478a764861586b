# A full disk is reported as the user would say it: the output's own name
# (never the temporary's) and the system's reason, once per image, exit 74;
# nothing is left behind, and the batch runs again cleanly once there is room.
. "$(dirname "$0")/common.sh"
mkdir in full
for f in a.png b.tif c.jpg; do
	"$TOOL" gen "in/$f" 800 600 3 8 7
	"$TOOL" mask "in/${f%.*}_mask.png" 800 600 disk:100,100,20
done
mount -t tmpfs -o size=256k tmpfs full || fail "cannot mount a tmpfs (this test needs root)"
trap 'umount "$T/full" 2>/dev/null || true; rm -rf "$T"' EXIT
expect_exit 74 "$TP" run in -o full/out --db store.db --engine telea --png-level 0 -q
for f in a.png b.tif c.jpg; do
	grep_err "error: writing full/out/$f: No space left on device"
done
eq "$(grep -c . "$T/.stderr")" 3 "one line per image"
grep -q '\.tmp-' "$T/.stderr" && fail "a temporary's name in an error"
eq "$(sql store.db "select count(*) from jobs where state = 3 and error like '%No space left on device'")" 3 "failed jobs"
no_temps full
eq "$(sql store.db "pragma integrity_check")" ok "integrity"
umount full
expect_exit 0 "$TP" run in -o full/out --db store.db --engine telea --png-level 0 -q
eq "$(sql store.db "select count(*) from jobs where state = 2")" 3 "done once there is room"
