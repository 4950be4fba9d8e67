// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

int famfs_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	uint64_t v, mult = 1;
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		const char *u = strchr(units, end[0] & ~0x20);

		if (!u || !end[0])
			return -EINVAL;
		mult = 1ULL << (10 * (u - units + 1));
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B") || !strcmp(end, "ib"))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}
