# SPDX-License-Identifier: GPL-2.0
# bench.awk - vmtest --bench: the table of one bench guest's console log
# ("BENCH-CONFIG name", then "BENCH path io|mmap pattern 4k|1m MiB/s").
# Columns: famfs (famfs.ko, kernel DAX), ext4-dax (ext4 -o dax on the same
# pmem), fuse (famfs.ko unloaded: the kernel's FUSE, the server moves the
# data), and the ratios famfs/ext4-dax and, for reads, famfs/fuse.
/^BENCH-CONFIG/ { cfg = $2; next }
# "BENCH-TOOLS config cp|tar files centiseconds": best files/s per config
/^BENCH-TOOLS / { if ($5 + 0 > 0) { fs = $4 * 100 / $5; k = $2 SUBSEP $3; if (fs > t[k] + 0) t[k] = fs } next }
/^BENCH / { k = cfg SUBSEP $3 " " $4 " " $5; if ($6 + 0 > v[k] + 0) v[k] = $6 }
function r(a, b) { return (a + 0 > 0 && b + 0 > 0) ? sprintf("%.2fx", a / b) : "-" }
END {
	printf "%-24s %9s %9s %9s | %9s %9s\n", "MiB/s", "famfs", "ext4-dax", "fuse", "/ext4-dax", "/fuse"
	nm = split("io mmap", m, " "); nb = split("4k 1m", b, " ")
	np = split("seq-read rand-read seq-write rand-write", p, " ")
	for (i = 1; i <= nm; i++)
		for (j = 1; j <= nb; j++)
			for (k = 1; k <= np; k++) {
				key = m[i] " " p[k] " " b[j]
				a = v["famfs", key]; e = v["ext4-dax", key]; f = v["fuse", key]
				printf "%-24s %9s %9s %9s | %9s %9s\n", key, a, e, f, r(a, e),
					(p[k] ~ /read/) ? r(a, f) : ""
			}
	printf "\n%-24s %9s %9s %9s | %9s %9s\n", "files/s", "famfs", "ext4-dax", "fuse", "/ext4-dax", "/fuse"
	nt = split("cp tar", tl, " ")
	for (i = 1; i <= nt; i++) {
		a = t["famfs", tl[i]]; e = t["ext4-dax", tl[i]]; f = t["fuse", tl[i]]
		printf "%-24s %9s %9s %9s | %9s %9s\n", (tl[i] == "cp" ? "cp -r small files" : "tar x small files"),
			a == "" ? "-" : sprintf("%d", a), e == "" ? "-" : sprintf("%d", e),
			f == "" ? "-" : sprintf("%d", f), r(a, e), r(a, f)
	}
	print "Plain tools: four copies of the payload's headers, to the end of sync (famfs: every"
	print "file committed); famfs and fuse on 4 KiB units; best of 3 turns (fuse: 1)."
	print "Each pass opens (and maps) afresh, runs at most ~0.5 s; best of 2 passes x 3"
	print "turns (fuse: 1 turn). TCG: ratios matter, not MiB/s. fuse: -o cache=auto (6.1:"
	print "page cache, dropped at each open; 6.6+: direct I/O)."
}
