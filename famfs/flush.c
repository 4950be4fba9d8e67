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

#elif defined(__aarch64__)

/*
 * arm64: DC CVAC cleans a line to the point of coherence (flush), DC CIVAC
 * cleans and invalidates it (invalidate); DSB SY orders them. The line size
 * is CTR_EL0.DminLine (log2 of words), readable from EL0 on Linux.
 */
static size_t dline;

static size_t line_size(void)
{
	if (!dline) {
		uint64_t ctr;

		__asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
		dline = (size_t)4 << ((ctr >> 16) & 0xf);
	}
	return dline;
}

void famfs_cache_flush(const void *addr, size_t len)
{
	size_t l = line_size();
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(l - 1), end = (uintptr_t)addr + len;

	__asm__ volatile("dsb sy" ::: "memory");
	for (; p < end; p += l)
		__asm__ volatile("dc cvac, %0" ::"r"(p) : "memory");
	__asm__ volatile("dsb sy" ::: "memory");
}

void famfs_cache_invalidate(const void *addr, size_t len)
{
	size_t l = line_size();
	uintptr_t p = (uintptr_t)addr & ~(uintptr_t)(l - 1), end = (uintptr_t)addr + len;

	__asm__ volatile("dsb sy" ::: "memory");
	for (; p < end; p += l)
		__asm__ volatile("dc civac, %0" ::"r"(p) : "memory");
	__asm__ volatile("dsb sy" ::: "memory");
}

const char *famfs_cache_flush_method(void)
{
	return "dc cvac/civac";
}

#else
#error "famfs: CPU cache flush/invalidate for shared memory exist for x86-64 and arm64 only"
#endif
