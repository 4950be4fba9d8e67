// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

#include "crc.h"
#include "entry.h"
#include "super.h"

void famfs_sb_format(struct famfs_superblock *sb, uint64_t devsize, uint64_t log_len,
		     uint64_t alloc_unit, const uint8_t system_uuid[16], const char *devname)
{
	memset(sb, 0, sizeof(*sb));
	sb->magic = FAMFS_SUPER_MAGIC;
	sb->version = FAMFS_VERSION;
	sb->log_offset = FAMFS_LOG_OFFSET;
	sb->log_len = log_len;
	sb->alloc_unit = alloc_unit;
	sb->omf_ver_major = FAMFS_OMF_MAJOR;
	sb->omf_ver_minor = FAMFS_OMF_MINOR;
	uuid_generate(sb->fs_uuid);
	uuid_generate(sb->device_uuid);
	memcpy(sb->system_uuid, system_uuid, FAMFS_UUID_LEN);
	sb->daxdev.size = devsize;
	snprintf(sb->daxdev.name, sizeof(sb->daxdev.name), "%s", devname);
	sb->crc = famfs_sb_crc(sb);
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

uint64_t famfs_default_log_len(uint64_t devsize, uint64_t alloc_unit)
{
	uint64_t want, len = FAMFS_LOG_LEN_MIN;

	if (alloc_unit != FAMFS_ALLOC_UNIT_4K)
		return FAMFS_LOG_LEN_DEFAULT;
	want =
	    FAMFS_LOG_HEADER_SIZE + devsize / FAMFS_LOG_BYTES_PER_ENTRY_4K * FAMFS_LOG_ENTRY_SIZE;
	while (len < want && len < FAMFS_LOG_LEN_DEFAULT_MAX)
		len <<= 1;
	while (len > FAMFS_LOG_LEN_MIN && FAMFS_LOG_OFFSET + len + FAMFS_ALLOC_UNIT > devsize)
		len >>= 1;
	return len;
}

unsigned int famfs_sb_check(const struct famfs_superblock *sb, uint64_t devsize,
			    struct famfs_checker *c)
{
	unsigned int before = c ? c->count : 0;
	struct famfs_checker local = {0};
	uint64_t crc;

	if (!c)
		c = &local;
	if (sb->magic != FAMFS_SUPER_MAGIC) {
		/* Nothing else in a non-famfs superblock is worth reporting. */
		famfs_report(c, FAMFS_P_SB_MAGIC, -1, "magic %#llx, expected %#llx",
			     (unsigned long long)sb->magic, FAMFS_SUPER_MAGIC);
		return c->count - before;
	}
	if (sb->version != FAMFS_VERSION_47 && sb->version != FAMFS_VERSION_48)
		famfs_report(c, FAMFS_P_SB_VERSION, -1, "version %llu, expected 47 or 48",
			     (unsigned long long)sb->version);
	else if (sb->omf_ver_major != FAMFS_OMF_MAJOR ||
		 sb->omf_ver_minor !=
		     (sb->version == FAMFS_VERSION_48 ? FAMFS_OMF_MINOR : FAMFS_OMF_MINOR_47))
		famfs_report(c, FAMFS_P_SB_OMF, -1, "omf %u.%u with version %llu",
			     sb->omf_ver_major, sb->omf_ver_minor, (unsigned long long)sb->version);
	crc = famfs_sb_crc(sb);
	if (sb->crc != crc)
		famfs_report(c, FAMFS_P_SB_CRC, -1, "crc %#llx, computed %#llx",
			     (unsigned long long)sb->crc, (unsigned long long)crc);
	if (sb->alloc_unit != FAMFS_ALLOC_UNIT && sb->alloc_unit != FAMFS_ALLOC_UNIT_4K)
		famfs_report(c, FAMFS_P_SB_ALLOC_UNIT, -1,
			     "alloc_unit %#llx, expected 0x200000 or 0x1000",
			     (unsigned long long)sb->alloc_unit);
	if (sb->log_offset != FAMFS_LOG_OFFSET)
		famfs_report(c, FAMFS_P_SB_LOG_OFFSET, -1, "log_offset %#llx, expected 0x200000",
			     (unsigned long long)sb->log_offset);
	if (!is_pow2(sb->log_len) || sb->log_len < FAMFS_LOG_LEN_MIN ||
	    sb->log_len > FAMFS_LOG_LEN_MAX)
		famfs_report(c, FAMFS_P_SB_LOG_LEN, -1,
			     "log_len %#llx: must be a power of two >= 8 MiB",
			     (unsigned long long)sb->log_len);
	else if (sb->daxdev.size < sb->log_offset + sb->log_len)
		famfs_report(c, FAMFS_P_SB_DEVSIZE, -1,
			     "daxdev.size %llu ends before the log end %llu",
			     (unsigned long long)sb->daxdev.size,
			     (unsigned long long)(sb->log_offset + sb->log_len));
	if (devsize && sb->daxdev.size > devsize)
		famfs_report(c, FAMFS_P_SB_DEVSIZE, -1, "daxdev.size %llu exceeds device size %llu",
			     (unsigned long long)sb->daxdev.size, (unsigned long long)devsize);
	return c->count - before;
}

unsigned int famfs_sb_check_primary(const struct famfs_superblock *sb, uint64_t devsize,
				    struct famfs_checker *c)
{
	unsigned int n = famfs_sb_check(sb, devsize, c);

	if (sb->magic == FAMFS_SUPER_MAGIC &&
	    (sb->sb_flags & ~(FAMFS_SB_PRIMARY | FAMFS_SB_COMPAT))) {
		famfs_report(c, FAMFS_P_SB_FLAGS, -1,
			     "sb_flags %#x: a primary has bit 0 and compat (0x100) at most",
			     sb->sb_flags);
		n++;
	}
	return n;
}

void famfs_sb_format_secondary(struct famfs_superblock *sb, const struct famfs_superblock *primary,
			       uint64_t devsize, const char *devname)
{
	memset(sb, 0, sizeof(*sb));
	sb->magic = FAMFS_SUPER_MAGIC;
	sb->version = primary->version;
	sb->omf_ver_major = primary->omf_ver_major;
	sb->omf_ver_minor = primary->omf_ver_minor;
	memcpy(sb->fs_uuid, primary->fs_uuid, FAMFS_UUID_LEN);
	uuid_generate(sb->device_uuid);
	memcpy(sb->primary_uuid, primary->device_uuid, FAMFS_UUID_LEN);
	sb->sb_flags = FAMFS_SB_SECONDARY;
	sb->daxdev.size = devsize;
	snprintf(sb->daxdev.name, sizeof(sb->daxdev.name), "%s", devname);
	sb->crc = famfs_sb_crc(sb);
}

bool famfs_sb_is_secondary(const struct famfs_superblock *sb)
{
	return sb->sb_flags & FAMFS_SB_SECONDARY;
}

static bool uuid_zero(const uint8_t u[FAMFS_UUID_LEN])
{
	static const uint8_t zero[FAMFS_UUID_LEN];

	return !memcmp(u, zero, FAMFS_UUID_LEN);
}

unsigned int famfs_sb_check_secondary(const struct famfs_superblock *sb, uint64_t devsize,
				      struct famfs_checker *c)
{
	unsigned int before = c ? c->count : 0;
	struct famfs_checker local = {0};
	uint64_t crc;

	if (!c)
		c = &local;
	if (sb->magic != FAMFS_SUPER_MAGIC) {
		famfs_report(c, FAMFS_P_SB_MAGIC, -1, "magic %#llx, expected %#llx",
			     (unsigned long long)sb->magic, FAMFS_SUPER_MAGIC);
		return c->count - before;
	}
	if (sb->version != FAMFS_VERSION_48)
		famfs_report(c, FAMFS_P_SB_VERSION, -1,
			     "version %llu: secondary superblocks exist from version 48",
			     (unsigned long long)sb->version);
	else if (sb->omf_ver_major != FAMFS_OMF_MAJOR || sb->omf_ver_minor != FAMFS_OMF_MINOR)
		famfs_report(c, FAMFS_P_SB_OMF, -1, "omf %u.%u with version %llu",
			     sb->omf_ver_major, sb->omf_ver_minor, (unsigned long long)sb->version);
	crc = famfs_sb_crc(sb);
	if (sb->crc != crc)
		famfs_report(c, FAMFS_P_SB_CRC, -1, "crc %#llx, computed %#llx",
			     (unsigned long long)sb->crc, (unsigned long long)crc);
	if (sb->sb_flags != FAMFS_SB_SECONDARY)
		famfs_report(c, FAMFS_P_SB_FLAGS, -1, "sb_flags %#x: a secondary has bit 1 only",
			     sb->sb_flags);
	if (sb->log_offset != 0)
		famfs_report(c, FAMFS_P_SB_LOG_OFFSET, -1,
			     "log_offset %#llx: a secondary has no log",
			     (unsigned long long)sb->log_offset);
	if (sb->log_len != 0)
		famfs_report(c, FAMFS_P_SB_LOG_LEN, -1, "log_len %#llx: a secondary has no log",
			     (unsigned long long)sb->log_len);
	if (sb->alloc_unit != 0)
		famfs_report(c, FAMFS_P_SB_ALLOC_UNIT, -1,
			     "alloc_unit %#llx: a secondary has none (its primary's applies)",
			     (unsigned long long)sb->alloc_unit);
	if (uuid_zero(sb->device_uuid) || uuid_zero(sb->primary_uuid) || uuid_zero(sb->fs_uuid))
		famfs_report(c, FAMFS_P_SB_SECONDARY, -1,
			     "a secondary needs its file system, device and primary uuids");
	if (sb->daxdev.size < FAMFS_DAXDEV_SIZE_MIN)
		famfs_report(c, FAMFS_P_SB_DEVSIZE, -1, "daxdev.size %llu, at least %llu",
			     (unsigned long long)sb->daxdev.size, FAMFS_DAXDEV_SIZE_MIN);
	if (devsize && sb->daxdev.size > devsize)
		famfs_report(c, FAMFS_P_SB_DEVSIZE, -1, "daxdev.size %llu exceeds device size %llu",
			     (unsigned long long)sb->daxdev.size, (unsigned long long)devsize);
	return c->count - before;
}

bool famfs_sb_is_master(const struct famfs_superblock *sb, const uint8_t system_uuid[16])
{
	return memcmp(sb->system_uuid, system_uuid, FAMFS_UUID_LEN) == 0;
}

void famfs_log_header_init(struct famfs_log_header *h, uint64_t log_len)
{
	memset(h, 0, sizeof(*h));
	h->magic = FAMFS_LOG_MAGIC;
	h->log_len = log_len;
	h->last_index = famfs_log_nslots(log_len) - 1;
	h->crc = famfs_log_header_crc(h);
	h->next_seqnum = 0;
	h->next_index = 0;
}

unsigned int famfs_log_header_check(const struct famfs_log_header *h,
				    const struct famfs_superblock *sb, struct famfs_checker *c)
{
	unsigned int before = c ? c->count : 0;
	struct famfs_checker local = {0};
	uint64_t nslots = famfs_log_nslots(sb->log_len), crc;

	if (!c)
		c = &local;
	if (h->magic != FAMFS_LOG_MAGIC) {
		famfs_report(c, FAMFS_P_LOG_MAGIC, -1, "magic %#llx, expected %#llx",
			     (unsigned long long)h->magic, FAMFS_LOG_MAGIC);
		return c->count - before;
	}
	if (h->log_len != sb->log_len)
		famfs_report(c, FAMFS_P_LOG_LEN, -1, "log_len %#llx, superblock says %#llx",
			     (unsigned long long)h->log_len, (unsigned long long)sb->log_len);
	if (h->last_index + 1 != nslots)
		famfs_report(c, FAMFS_P_LOG_LAST_INDEX, -1, "last_index %llu, expected %llu",
			     (unsigned long long)h->last_index, (unsigned long long)(nslots - 1));
	crc = famfs_log_header_crc(h);
	if (h->crc != crc)
		famfs_report(c, FAMFS_P_LOG_CRC, -1, "crc %#llx, computed %#llx",
			     (unsigned long long)h->crc, (unsigned long long)crc);
	if (h->next_index > nslots)
		famfs_report(c, FAMFS_P_LOG_NEXT_INDEX, -1, "next_index %llu, log has %llu slots",
			     (unsigned long long)h->next_index, (unsigned long long)nslots);
	if (h->next_seqnum != h->next_index && famfs_log_torn_slot(h, nslots) < 0)
		famfs_report(c, FAMFS_P_LOG_NEXT_SEQNUM, -1, "next_seqnum %llu, next_index %llu",
			     (unsigned long long)h->next_seqnum, (unsigned long long)h->next_index);
	return c->count - before;
}

int64_t famfs_log_torn_slot(const struct famfs_log_header *h, uint64_t nslots)
{
	uint64_t lo = h->next_seqnum < h->next_index ? h->next_seqnum : h->next_index;
	uint64_t hi = h->next_seqnum < h->next_index ? h->next_index : h->next_seqnum;

	if (hi - lo != 1 || lo >= nslots)
		return -1;
	return (int64_t)lo;
}

int famfs_log_torn_check(const struct famfs_log_header *h, int64_t slot,
			 const struct famfs_log_entry *e, struct famfs_checker *c)
{
	if (!e || famfs_entry_intact(e, (uint64_t)slot, NULL)) {
		famfs_report(c, FAMFS_P_LOG_NEXT_SEQNUM, -1,
			     "next_seqnum %llu, next_index %llu, and no intact entry in slot %lld",
			     (unsigned long long)h->next_seqnum, (unsigned long long)h->next_index,
			     (long long)slot);
		return -EUCLEAN;
	}
	famfs_report(c, FAMFS_P_LOG_TORN, -1,
		     "next_seqnum %llu, next_index %llu: entry %lld is intact, %llu entries "
		     "published",
		     (unsigned long long)h->next_seqnum, (unsigned long long)h->next_index,
		     (long long)slot, (unsigned long long)h->next_index);
	return 0;
}
