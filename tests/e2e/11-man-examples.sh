# Every command line in the man page's EXAMPLES section runs and succeeds
# (the crontab line is checked for syntax only: its paths are a user's).
. "$(dirname "$0")/common.sh"
MAN="$TP_TOP/man/tilepaint.1"
mkdir scans masks
"$TOOL" gen scans/page.png 300 200 3 8 1
"$TOOL" mask scans/page_mask.png 300 200 disk:100,100,15
"$TOOL" mask masks/page.png 300 200 disk:100,100,15
"$TOOL" gen big.tif 400 300 3 16 2
"$TOOL" mask big_mask.png 400 300 rect:10,10,30,30
"$TOOL" gen photo.png 200 150 3 8 3
"$TOOL" mask photo_mask.png 200 150 disk:40,40,9
# lines after .SH EXAMPLES that start with "tilepaint ", with groff escapes undone
sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$MAN" | grep '^tilepaint ' | sed 's/\\-/-/g' > cmds
[ "$(wc -l < cmds)" -ge 6 ] || fail "too few examples found"
while read -r line; do
	note "$line"
	expect_exit 0 sh -c "\"\$0\" ${line#tilepaint }" "$TP"
done < cmds
[ -s timings.csv ] && grep -q '^input,stage' timings.csv || fail "report --format csv > timings.csv"
cron=$(sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$MAN" | grep '^\*/10' | sed 's/\\-/-/g')
set -f; set -- $cron; set +f
[ "$6" = tilepaint ] || fail "crontab line has no command in field 6: $cron"
shift 6
expect_exit 64 "$TP" "$@" --frobnicate   # parses up to our bogus option
grep_err "unknown option '--frobnicate'"
