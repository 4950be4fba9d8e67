// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "problem.h"

static const struct {
	const char *name;
	const char *text;
} table[FAMFS_P_COUNT] = {
#define FAMFS_PCODE_ROW(name, text) [FAMFS_P_##name] = {#name, text},
    FAMFS_PROBLEMS(FAMFS_PCODE_ROW)
#undef FAMFS_PCODE_ROW
};

const char *famfs_pcode_name(enum famfs_pcode code)
{
	return code < FAMFS_P_COUNT ? table[code].name : "?";
}

const char *famfs_pcode_text(enum famfs_pcode code)
{
	return code < FAMFS_P_COUNT ? table[code].text : "?";
}

void famfs_report(struct famfs_checker *c, enum famfs_pcode code, int64_t index, const char *fmt,
		  ...)
{
	struct famfs_problem p = {.code = code, .index = index};
	va_list ap;

	if (!c)
		return;
	va_start(ap, fmt);
	vsnprintf(p.detail, sizeof(p.detail), fmt, ap);
	va_end(ap);
	famfs_report_problem(c, &p);
}

void famfs_report_problem(struct famfs_checker *c, const struct famfs_problem *p)
{
	if (!c)
		return;
	if (c->count++ == 0)
		c->first = *p;
	if (c->fn)
		c->fn(p, c->arg);
}

void famfs_problem_format(const struct famfs_problem *p, char *buf, unsigned long size)
{
	char where[32] = "";

	if (p->index >= 0)
		snprintf(where, sizeof(where), "entry %lld: ", (long long)p->index);
	snprintf(buf, size, "%s%s: %s%s%s%s", where, famfs_pcode_name(p->code),
		 famfs_pcode_text(p->code), p->detail[0] ? " (" : "", p->detail,
		 p->detail[0] ? ")" : "");
}
