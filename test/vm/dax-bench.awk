# SPDX-License-Identifier: GPL-2.0
# dax-bench.awk - vmtest --bench-dax: the tables of one kernel's dax bench
# guests ("BENCH-CONFIG name", "BENCH io|mmap pattern bs MiB/s", and
# "BIND-SIZE MiB", "BIND op ms" lines of test/vm/dax.sh case=bench/bench-bind).
/^BENCH-CONFIG/ { cfg = $2; next }
/^BENCH / { if ($5 + 0 > v[cfg, $2 "-" $3, $4] + 0) v[cfg, $2 "-" $3, $4] = $5; next }
/^BIND-SIZE/ { gib = $2 / 1024; next }
/^BIND / { t[$2] = t[$2] " " $3; if (!($2 in best) || $3 + 0 < best[$2] + 0) best[$2] = $3; next }
function r(a, b) { return (a + 0 > 0 && b + 0 > 0) ? sprintf("%.2fx", a / b) : "-" }
END {
	n = split("io-seq-read io-rand-read io-seq-write io-rand-write mmap-seq-read mmap-rand-read mmap-seq-write mmap-rand-write", k, " ")
	split("4096 1048576", bs, " ")
	for (j = 1; j <= 2; j++) {
		if (!(("raw-devdax", "mmap-seq-read", bs[j]) in v)) continue
		printf "%-16s %10s %11s | %8s\n", "MiB/s, " (j == 1 ? "4 KiB" : "1 MiB"), "famfs", "raw-devdax", "/raw"
		for (i = 1; i <= n; i++) {
			a = v["famfs", k[i], bs[j]]
			x = v["raw-devdax", "mmap-" substr(k[i], index(k[i], "-") + 1), bs[j]]
			printf "%-16s %10s %11s | %8s\n", k[i], a, x, r(a, x)
		}
	}
	if (gib > 0) {
		printf "rebinding a %.1f GiB devdax device (ms; three rounds; per GiB from the best):\n", gib
		split("device_dax-unbind famfs_dax-bind famfs_dax-unbind device_dax-bind", o, " ")
		for (i = 1; i <= 4; i++)
			printf "  %-18s %-22s %8.1f ms/GiB\n", o[i], t[o[i]], best[o[i]] / gib
	}
	print "famfs: a file of famfs.ko on famfs_dax (kernel DAX); raw-devdax: mmap of /dev/dax0.0 on"
	print "device_dax, the same memory, the same guest, three rounds alternating. Each pass"
	print "opens and maps afresh (2 MiB-aligned mapping, faults included): best of 9."
}
