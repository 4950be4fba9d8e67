/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * fmap_compat.h - the only environment the fmap codec depends on.
 *
 * fmap.c is compiled unchanged into user space (C11, glibc) and into the
 * patched fs/fuse kernel module (kbuild, gnu11).  Everything it needs from
 * its environment goes through the handful of names below:
 *
 *   uint8_t .. uint64_t, size_t, bool   fixed-width types
 *   offsetof()                           structure layout
 *   fmap_zalloc(size) / fmap_free_mem(p) zeroed allocation that may be large
 *                                        (the kernel side falls back to vmalloc)
 *   fmap_memcpy / fmap_memset            byte copies
 *   fmap_le{16,32,64}_to_cpu,
 *   fmap_cpu_to_le{16,32,64}             wire byte order
 *   fmap_div_u64_rem(n, d, &rem)         u64 / u32 (do_div on 32-bit kernels)
 *   FMAP_U64_MAX                         largest uint64_t
 *   fmap_likely / fmap_unlikely          branch hints
 *   FMAP_STATIC_ASSERT(expr, msg)        compile-time check at file scope
 *
 * No floating point, no VLAs, no recursion, no other libc use.
 */
#ifndef FMAP_COMPAT_H
#define FMAP_COMPAT_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/math64.h>
#include <linux/limits.h>
#include <asm/byteorder.h>

#define fmap_zalloc(size) kvzalloc((size), GFP_KERNEL)
#define fmap_free_mem(p)  kvfree(p)

#define fmap_le16_to_cpu(x) ((uint16_t)le16_to_cpu((__force __le16)(x)))
#define fmap_le32_to_cpu(x) ((uint32_t)le32_to_cpu((__force __le32)(x)))
#define fmap_le64_to_cpu(x) ((uint64_t)le64_to_cpu((__force __le64)(x)))
#define fmap_cpu_to_le16(x) ((__force uint16_t)cpu_to_le16(x))
#define fmap_cpu_to_le32(x) ((__force uint32_t)cpu_to_le32(x))
#define fmap_cpu_to_le64(x) ((__force uint64_t)cpu_to_le64(x))

static inline uint64_t fmap_div_u64_rem(uint64_t n, uint32_t d, uint32_t *rem)
{
	return div_u64_rem(n, d, rem);
}

#else /* !__KERNEL__ */

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include <endian.h>

#define fmap_zalloc(size) calloc(1, (size))
#define fmap_free_mem(p)  free(p)

#define fmap_le16_to_cpu(x) ((uint16_t)le16toh(x))
#define fmap_le32_to_cpu(x) ((uint32_t)le32toh(x))
#define fmap_le64_to_cpu(x) ((uint64_t)le64toh(x))
#define fmap_cpu_to_le16(x) ((uint16_t)htole16(x))
#define fmap_cpu_to_le32(x) ((uint32_t)htole32(x))
#define fmap_cpu_to_le64(x) ((uint64_t)htole64(x))

static inline uint64_t fmap_div_u64_rem(uint64_t n, uint32_t d, uint32_t *rem)
{
	*rem = (uint32_t)(n % d);
	return n / d;
}

#endif /* __KERNEL__ */

#define fmap_memcpy(dst, src, n) memcpy((dst), (src), (n))
#define fmap_memset(dst, c, n)	 memset((dst), (c), (n))

#define FMAP_U64_MAX ((uint64_t)~0ULL)

/* Branch hints (gcc and clang, both sides). */
#define fmap_likely(x)	 __builtin_expect(!!(x), 1)
#define fmap_unlikely(x) __builtin_expect(!!(x), 0)

/* C11 _Static_assert: gcc/clang accept it in both -std=c11 and gnu11. */
#define FMAP_STATIC_ASSERT(expr, msg) _Static_assert(expr, msg)

#endif /* FMAP_COMPAT_H */
