# SPDX-License-Identifier: GPL-2.0
# bench.awk - vmtest --bench: the table of one bench guest's console log
# ("BENCH-CONFIG name" then "BENCH path io|mmap pattern MiB/s" lines).
/^BENCH-CONFIG/ { cfg = $2; next }
/^BENCH / { v[cfg, $3 "-" $4] = $5 }
function r(a, b) { return (a + 0 > 0 && b + 0 > 0) ? sprintf("%.2fx", a / b) : "-" }
END {
	n = split("io-seq-read io-rand-read io-seq-write io-rand-write mmap-seq-read mmap-rand-read mmap-seq-write mmap-rand-write", k, " ")
	printf "%-15s %9s %11s %12s %10s | %8s %8s %8s\n", "MiB/s, 4 KiB", "famfs", "stock-page", "stock-direct", "raw-devdax", "/raw", "/s-page", "/s-dir"
	for (i = 1; i <= n; i++) {
		a = v["famfs", k[i]]; p = v["stock-page", k[i]]; d = v["stock-direct", k[i]]
		x = v["raw-devdax", "mmap-" substr(k[i], index(k[i], "-") + 1)]
		printf "%-15s %9s %11s %12s %10s | %8s %8s %8s\n", k[i], a, p, d, x, r(a, x), r(a, p), r(a, d)
	}
	print "famfs: famfs.ko (kernel DAX); stock-page/-direct: the same file without famfs.ko,"
	print "the kernel's FUSE, server data path with -o cache=page / cache=direct; raw-devdax:"
	print "mmap of /dev/dax0.0 (same memory, devdax mode). Each pass opens/maps afresh: best of 3."
}
