// SPDX-License-Identifier: Apache-2.0
#include <stdint.h>

#include "flush.h"

#define CACHELINE 64

#if defined(__x86_64__)
#include <cpuid.h>

enum flush_insn { INSN_UNKNOWN, INSN_CLFLUSH, INSN_CLFLUSHOPT, INSN_CLWB };

static enum flush_insn flush_insn, inval_insn;

static void detect(void)
{
	unsigned int a, b, c, d;

	flush_insn = INSN_CLFLUSH; /* part of SSE2, always on x86-64 */
	inval_insn = INSN_CLFLUSH;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		if (b & (1U << 23)) { /* CLFLUSHOPT */
			flush_insn = INSN_CLFLUSHOPT;
			inval_insn = INSN_CLFLUSHOPT;
		}
		if (b & (1U << 24)) /* CLWB */
			flush_insn = INSN_CLWB;
	}
}

static void lines(const void *addr, size_t len, enum flush_insn insn)
{
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(CACHELINE - 1);
	uintptr_t end = (uintptr_t)addr + len;

	for (; p < end; p += CACHELINE) {
		switch (insn) {
		case INSN_CLWB:
			__asm__ volatile(".byte 0x66, 0x0f, 0xae, 0x30" /* clwb (%rax) */
					 : "+m"(*(volatile char *)p)
					 : "a"(p));
			break;
		case INSN_CLFLUSHOPT:
			__asm__ volatile(".byte 0x66, 0x0f, 0xae, 0x38" /* clflushopt (%rax) */
					 : "+m"(*(volatile char *)p)
					 : "a"(p));
			break;
		default:
			__asm__ volatile("clflush %0" : "+m"(*(volatile char *)p));
			break;
		}
	}
}

void famfs_cache_flush(const void *addr, size_t len)
{
	if (flush_insn == INSN_UNKNOWN)
		detect();
	lines(addr, len, flush_insn);
	__asm__ volatile("sfence" ::: "memory");
}

void famfs_cache_invalidate(const void *addr, size_t len)
{
	if (inval_insn == INSN_UNKNOWN)
		detect();
	__asm__ volatile("mfence" ::: "memory");
	lines(addr, len, inval_insn);
	__asm__ volatile("mfence" ::: "memory");
}

const char *famfs_cache_flush_method(void)
{
	if (flush_insn == INSN_UNKNOWN)
		detect();
	return flush_insn == INSN_CLWB	       ? "clwb"
	       : flush_insn == INSN_CLFLUSHOPT ? "clflushopt"
					       : "clflush";
}

#else /* other architectures: ordering only; shared memory there is cache coherent to us */

void famfs_cache_flush(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void famfs_cache_invalidate(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

const char *famfs_cache_flush_method(void)
{
	return "none";
}
#endif
