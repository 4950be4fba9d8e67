/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPU cache maintenance for memory shared by hosts whose caches are not
 * coherent with each other (docs/format.md, "Shared-memory coherence").
 */
#ifndef FAMFS_FLUSH_H
#define FAMFS_FLUSH_H

#include <stddef.h>

/**
 * famfs_cache_flush() - write back the cache lines covering [addr, addr+len)
 * and order them before any later store (clwb, else clflushopt, else clflush;
 * then sfence; on arm64 DC CVAC then DSB SY). After it returns, another host
 * that invalidates its cache sees the bytes. Other CPUs do not build: famfs
 * refuses to guess how their caches reach shared memory.
 */
void famfs_cache_flush(const void *addr, size_t len);

/**
 * famfs_cache_invalidate() - drop this CPU's cached copies of
 * [addr, addr+len) (clflushopt, else clflush; arm64 DC CIVAC; fenced on both sides), so the
 * next load reads what another host wrote to memory.
 */
void famfs_cache_invalidate(const void *addr, size_t len);

/** famfs_cache_flush_method() - "clwb", "clflushopt", "clflush" or "none": what this CPU uses. */
const char *famfs_cache_flush_method(void);

#endif
