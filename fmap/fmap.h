/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * fmap.h - the famfs file map ("fmap"): wire format, in-memory model,
 * validation and offset resolution.
 *
 * An fmap is a file's complete map onto DAX memory devices.  The FUSE
 * server builds one per file and sends it in reply to FUSE_GET_FMAP; the
 * kernel decodes it once, caches it per inode and resolves every
 * read/write/fault offset with fmap_resolve().  The same source
 * (fmap.c + this header + fmap_compat.h) is compiled into both sides.
 *
 * Authoritative wire format: shared/reference/kernel-protocol.md
 * ("Wire structures").  All sizes, offsets and lengths in this API are in
 * bytes.  Errors are negative errno values.  See docs/fmap-codec.md.
 */
#ifndef FMAP_H
#define FMAP_H

#include "fmap_compat.h"

/* ---------------------------------------------------------------- limits */

#define FMAP_VERSION	  1	      /* fmap_version on the wire */
#define FMAP_ALIGN	  0x200000ULL /* 2 MiB: the default alignment (PMD_SIZE on x86-64) */
#define FMAP_ALIGN_SHIFT  21
#define FMAP_ALIGN_PAGE	  0x1000ULL /* 4 KiB: the smallest alignment a map may have */
#define FMAP_MAX_IEXTENTS 32	    /* interleaved extents per fmap */
#define FMAP_MAX_STRIPS	  32	    /* strips per interleaved extent */
#define FMAP_MSG_MAX	  1048576   /* largest fmap message we produce or accept */
#define FMAP_HDR_SIZE	  32
#define FMAP_EXT_SIZE	  24 /* simple extent and interleaved-extent header */
#define FMAP_MIN_MSG	  (FMAP_HDR_SIZE + FMAP_EXT_SIZE) /* 56: header + 1 extent */
#define FMAP_SIZE_REPLY	  4 /* "buffer too small" reply: u32 needed size */

/*
 * Simple extents are bounded only by the message size (43689).  The
 * reference kernel caps them at 32, which would make "unrolled" striped
 * maps (one simple extent per chunk) impossible; we deliberately do not.
 */
#define FMAP_MAX_SIMPLE_EXTENTS ((FMAP_MSG_MAX - FMAP_HDR_SIZE) / FMAP_EXT_SIZE)
/* Total strips an interleaved fmap can carry. */
#define FMAP_MAX_STRIPS_TOTAL (FMAP_MAX_IEXTENTS * FMAP_MAX_STRIPS)

enum fmap_file_type {
	FMAP_FILE_REGULAR = 0,
	FMAP_FILE_SUPERBLOCK = 1,
	FMAP_FILE_LOG = 2,
};

enum fmap_ext_type {
	FMAP_EXT_SIMPLE = 0,
	FMAP_EXT_INTERLEAVE = 1,
};

/* ----------------------------------------------------------- wire format */

/*
 * On-the-wire structures.  Every field is little-endian; natural alignment,
 * no packing, no implicit padding (checked below).  The codec never
 * dereferences these in the message buffer directly: it memcpy()s each one
 * into a local copy, so messages need not be aligned.
 */
struct fmap_wire_header {
	uint8_t file_type;     /* enum fmap_file_type */
	uint8_t reserved;      /* must be 0 */
	uint16_t fmap_version; /* FMAP_VERSION */
	uint32_t ext_type;     /* enum fmap_ext_type */
	uint32_t nextents;     /* simple extents, or interleaved extents */
	uint32_t reserved0;    /* must be 0 */
	uint64_t file_size;    /* bytes */
	uint64_t reserved1;    /* must be 0 */
};

struct fmap_wire_simple_ext {
	uint32_t devindex; /* which DAX device */
	uint32_t reserved; /* must be 0 */
	uint64_t offset;   /* device byte offset, 2 MiB multiple */
	uint64_t len;	   /* bytes, 2 MiB multiple, != 0 */
};

/* Followed immediately by nstrips struct fmap_wire_simple_ext (the strips). */
struct fmap_wire_iext {
	uint32_t nstrips;    /* 1..FMAP_MAX_STRIPS */
	uint32_t chunk_size; /* bytes, power of two, 2 MiB multiple */
	uint64_t nbytes;     /* file bytes this interleaved extent covers, != 0 */
	uint64_t reserved;   /* must be 0 */
};

FMAP_STATIC_ASSERT(sizeof(struct fmap_wire_header) == FMAP_HDR_SIZE, "fmap header size");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_header, file_type) == 0, "hdr.file_type");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_header, reserved) == 1, "hdr.reserved");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_header, fmap_version) == 2, "hdr.fmap_version");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_header, ext_type) == 4, "hdr.ext_type");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_header, nextents) == 8, "hdr.nextents");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_header, reserved0) == 12, "hdr.reserved0");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_header, file_size) == 16, "hdr.file_size");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_header, reserved1) == 24, "hdr.reserved1");
FMAP_STATIC_ASSERT(sizeof(struct fmap_wire_simple_ext) == FMAP_EXT_SIZE, "simple ext size");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_simple_ext, devindex) == 0, "se.devindex");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_simple_ext, reserved) == 4, "se.reserved");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_simple_ext, offset) == 8, "se.offset");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_simple_ext, len) == 16, "se.len");
FMAP_STATIC_ASSERT(sizeof(struct fmap_wire_iext) == FMAP_EXT_SIZE, "iext size");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_iext, nstrips) == 0, "ie.nstrips");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_iext, chunk_size) == 4, "ie.chunk_size");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_iext, nbytes) == 8, "ie.nbytes");
FMAP_STATIC_ASSERT(offsetof(struct fmap_wire_iext, reserved) == 16, "ie.reserved");
FMAP_STATIC_ASSERT(FMAP_MAX_SIMPLE_EXTENTS == 43689, "simple extent bound");

/* ------------------------------------------------------- in-memory model */

/* A simple extent, or one strip of an interleaved extent. */
struct fmap_extent {
	uint64_t offset;   /* device byte offset */
	uint64_t len;	   /* bytes */
	uint32_t devindex; /* device index (GET_DAXDEV) */
};

/* An interleaved (striped) extent; its strips live in fmap->ext[]. */
struct fmap_iext {
	uint64_t chunk_size;  /* bytes, power of two, 2 MiB multiple, <= 2^31 */
	uint64_t nbytes;      /* file bytes covered by this interleaved extent */
	uint32_t nstrips;     /* strips: ext[first_strip .. first_strip+nstrips-1] */
	uint32_t first_strip; /* set by fmap_finalize(); builders need not set it */
	uint32_t chunk_shift; /* log2(chunk_size), set by fmap_finalize() */
};

/*
 * A validated fmap.  Builders (the server) get one from fmap_alloc(), fill
 * file_type, file_size, ext[] (and iext[] chunk_size/nbytes/nstrips for
 * interleave), then call fmap_finalize().  The arrays belong to the single
 * allocation made by fmap_alloc(): never replace the pointers.
 */
struct fmap {
	uint8_t file_type;	 /* enum fmap_file_type */
	uint8_t ready;		 /* set by finalize/decode: start[] etc. are valid */
	uint32_t ext_type;	 /* enum fmap_ext_type */
	uint64_t file_size;	 /* bytes */
	uint32_t nextents;	 /* simple extents, or interleaved extents */
	uint32_t nstrips_total;	 /* interleave: strips in ext[]; simple: 0 */
	struct fmap_extent *ext; /* simple: nextents; interleave: all strips in order */
	struct fmap_iext *iext;	 /* interleave only (NULL for simple) */
	uint64_t *start;	 /* nextents + 1 entries: file offset where each
				  * simple extent / iext begins; start[nextents]
				  * is the total mapped length */
	uint32_t uniform_shift;	 /* simple only: nonzero when every extent but the
				  * last is exactly 1 << uniform_shift bytes
				  * (O(1) resolve); 63 for a single extent */
	uint64_t align;		 /* every offset, len and chunk_size is a multiple:
				  * FMAP_ALIGN (2 MiB, what fmap_alloc() sets) or a
				  * smaller power of two >= FMAP_ALIGN_PAGE.  Not on
				  * the wire: the decoder's caller says what it
				  * accepts (fmap_decode_align()) */
};

/* Result of resolving one file offset. */
struct fmap_loc {
	uint64_t offset;   /* device byte offset */
	uint64_t len;	   /* contiguous bytes from there (not clipped to file_size) */
	uint32_t devindex; /* device index */
};

/* Detailed reason for a validation failure. */
struct fmap_diag {
	const char *why; /* static string naming the rule; NULL if none failed */
	int32_t ext;	 /* simple extent or interleaved-extent index, -1 if n/a */
	int32_t strip;	 /* strip index within that interleaved extent, -1 if n/a */
};

/* ------------------------------------------------------------------- API */

/**
 * fmap_alloc() - allocate a zeroed fmap for a builder.
 * @ext_type:      FMAP_EXT_SIMPLE or FMAP_EXT_INTERLEAVE.
 * @nextents:      simple extents (1..FMAP_MAX_SIMPLE_EXTENTS) or interleaved
 *                 extents (1..FMAP_MAX_IEXTENTS).
 * @nstrips_total: interleave: total strips over all iexts
 *                 (nextents..FMAP_MAX_STRIPS_TOTAL); simple: ignored.
 *
 * One allocation holds the struct and its ext[], iext[] and start[] arrays.
 * ext_type, nextents and nstrips_total are filled in, align is FMAP_ALIGN
 * (2 MiB; a builder of a 4 KiB-unit file system lowers it); everything
 * else is 0.
 * Return: the map, or NULL on a bad argument or allocation failure.
 */
struct fmap *fmap_alloc(uint32_t ext_type, uint32_t nextents, uint32_t nstrips_total);

/**
 * fmap_free() - free a map from fmap_alloc(), fmap_decode() or fmap_unroll().
 * @m: the map; NULL is allowed.
 */
void fmap_free(struct fmap *m);

/**
 * fmap_finalize() - validate a builder-made map and build its index.
 * @m: map from fmap_alloc() with file_type, file_size, ext[] and (interleave)
 *     iext[].chunk_size/nbytes/nstrips filled in.
 *
 * Applies every semantic rule fmap_decode() applies (kernel-protocol.md
 * "The kernel validates", tightened as in docs/fmap-codec.md): counts,
 * alignment to m->align (2 MiB unless the builder lowered it), non-zero
 * lengths, no u64 overflow, chunk/strip
 * geometry, coverage of file_size.  On success fills start[],
 * uniform_shift, iext[].first_strip and iext[].chunk_shift and marks the
 * map ready for fmap_resolve() and fmap_encode().
 * Return: 0, or -EINVAL if a rule is broken (m is then not ready).
 */
int fmap_finalize(struct fmap *m);

/**
 * fmap_finalize_diag() - fmap_finalize() that also reports which rule failed.
 * @m:    as for fmap_finalize().
 * @diag: optional (may be NULL); on -EINVAL, why/ext/strip name the rule and
 *        the offending extent.
 * Return: as fmap_finalize().
 */
int fmap_finalize_diag(struct fmap *m, struct fmap_diag *diag);

/**
 * fmap_encoded_size() - bytes the wire message for @m needs.
 * @m: a map (need not be finalized).
 *
 * 32 + 24 * nextents (simple), or 32 + 24 * (nextents + nstrips_total)
 * (interleave).  Return: the size, or 0 if ext_type or the counts are
 * outside the limits (such a map cannot be encoded).
 */
size_t fmap_encoded_size(const struct fmap *m);

/**
 * fmap_encode() - write the GET_FMAP reply payload for @m.
 * @m:    a map that satisfies every validation rule (it is re-checked).
 * @buf:  output, need not be aligned.
 * @size: bytes available at @buf.
 *
 * Writes the little-endian message of kernel-protocol.md "Wire
 * structures", reserved fields zero.  Nothing at all is written on error.
 * Return: bytes written (== fmap_encoded_size(m)), -EINVAL if @m breaks a
 * rule (so we never send what a decoder must reject), -ENOSPC if @size is
 * too small (reply with fmap_reply_too_small() instead).
 */
long fmap_encode(const struct fmap *m, void *buf, size_t size);

/**
 * fmap_decode() - validate a GET_FMAP reply and build the in-memory map.
 * @msg: the reply payload, any alignment.
 * @len: its length in bytes; must be exactly what the counts imply
 *       (FMAP_MIN_MSG..FMAP_MSG_MAX).
 * @out: on success, the new map (free with fmap_free()); untouched on error.
 * @why: optional; on -EINVAL points to a static string naming the broken rule.
 *
 * Enforces every rule in docs/fmap-codec.md "Validation" (superset of
 * kernel-protocol.md "The kernel validates") with every offset, len and
 * chunk_size a multiple of 2 MiB (FMAP_ALIGN), then builds the resolution
 * index as fmap_finalize() does.
 * Return: 0, -EINVAL (malformed or invalid), or -ENOMEM.
 */
int fmap_decode(const void *msg, size_t len, struct fmap **out, const char **why);

/**
 * fmap_decode_diag() - fmap_decode() with extent/strip indices in @diag.
 * Return: as fmap_decode().
 */
int fmap_decode_diag(const void *msg, size_t len, struct fmap **out, struct fmap_diag *diag);

/**
 * fmap_decode_align() - fmap_decode_diag() for a receiver that accepts
 * extents aligned to @align bytes: a power of two from FMAP_ALIGN_PAGE
 * (4 KiB) to FMAP_ALIGN (2 MiB).  A kernel passes the alignment it can map
 * (PAGE_SIZE: PTE faults where an extent is not 2 MiB-aligned) and must
 * have told the server so (docs/protocol.md, GET_FMAP flags); nobody gets
 * the looser rule without asking for it.  The map's align is @align.
 * Return: as fmap_decode(); -EINVAL also for a bad @align.
 */
int fmap_decode_align(const void *msg, size_t len, uint64_t align, struct fmap **out,
		      struct fmap_diag *diag);

/**
 * fmap_aligned() - is every offset, len and chunk_size of @m a multiple of
 * @align?  What a server asks before sending @m to a kernel that accepts
 * only @align-aligned maps (2 MiB for the posted famfs kernels).
 * Return: true or false (false also for an @align that is not a power of two).
 */
bool fmap_aligned(const struct fmap *m, uint64_t align);

/**
 * fmap_resolve() - map a file offset to a device location.
 * @m:   a ready map (from fmap_decode(), fmap_finalize() or fmap_unroll()).
 * @off: file byte offset, must be < file_size.
 * @loc: result: device byte offset, devindex, and the number of bytes that
 *       are contiguous on the device from there: to the end of the
 *       containing simple extent, or (interleave) to the end of the chunk
 *       or of the interleaved extent's nbytes, whichever is first.  Not
 *       clipped to file_size.
 *
 * Simple: O(1) when uniform_shift is set, else binary search on start[].
 * Interleave (kernel-protocol.md "Resolution", on-media-format.md
 * "Striped address math"): find the iext, o = off - its start,
 * c = o / chunk, strip = c % nstrips, stripe = c / nstrips,
 * offset = strip.offset + stripe * chunk + o % chunk.
 * Return: 0, -ERANGE if off >= file_size, -EINVAL if @m is not ready.
 */
int fmap_resolve(const struct fmap *m, uint64_t off, struct fmap_loc *loc);

/**
 * fmap_unroll() - turn a striped map into an equivalent simple map.
 * @striped: a ready map.
 * @out:     on success, a new ready simple map (free with fmap_free()).
 *
 * Interleave: one simple extent per chunk, in file order, for the chunks
 * that cover [0, file_size) (at least one chunk).  Every offset below
 * file_size resolves to the same device, offset and (clipped to
 * file_size) length as in @striped.  With one chunk size the result is
 * uniform (O(1) resolve).  A simple map is copied.
 * Return: 0; -E2BIG if more than FMAP_MAX_SIMPLE_EXTENTS extents would be
 * needed; -EINVAL if @striped is not ready or an interleaved extent that is
 * followed by another ends mid-chunk at a boundary that is not a multiple
 * of the map's align (not representable as simple extents); -ENOMEM.
 */
int fmap_unroll(const struct fmap *striped, struct fmap **out);

/**
 * fmap_reply_too_small() - build the 4-byte "buffer too small" reply.
 * @needed: size of the full fmap message in bytes
 *          (FMAP_MIN_MSG..FMAP_MSG_MAX).
 * @buf:    output, any alignment.
 * @size:   bytes available at @buf (>= 4).
 *
 * kernel-protocol.md "Size-negotiated retry": when the fmap does not fit
 * the kernel's buffer, the server replies with exactly 4 bytes, a LE u32
 * holding the size needed.
 * Return: 4 (bytes written), -EINVAL if @needed is out of range, -ENOSPC if
 * @size < 4.
 */
int fmap_reply_too_small(uint32_t needed, void *buf, size_t size);

/**
 * fmap_parse_size_reply() - recognise the 4-byte "buffer too small" reply.
 * @msg:    reply payload.
 * @len:    its length in bytes.
 * @needed: on success, the size the server needs.
 *
 * A reply of exactly 4 bytes is never an fmap (the smallest is 56).  The
 * caller must still refuse a second too-small reply (retry once, then -EIO)
 * and a @needed not larger than the buffer it offered.
 * Return: 0, or -EINVAL if @len != 4 or needed is < FMAP_MIN_MSG or
 * > FMAP_MSG_MAX.
 */
int fmap_parse_size_reply(const void *msg, size_t len, uint32_t *needed);

#endif /* FMAP_H */
