// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_OPTS 40

int cli_optind(void)
{
	return optind;
}

static bool defines_short(const struct cli_cmd *cmd, int key)
{
	for (const struct cli_opt *o = cmd->opts; o && o->name; o++)
		if (o->key == key)
			return true;
	return false;
}

static void help_line(const struct cli_opt *o, FILE *out, const char *text)
{
	char left[64];

	if (o->key < 256)
		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	else
		snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	if (strlen(left) > 28)
		fprintf(out, "  %s\n  %-28s %s\n", left, "", text);
	else
		fprintf(out, "  %-28s %s\n", left, text);
}

void cli_help(const struct cli_cmd *cmd, FILE *out)
{
	bool any_ignored = false;

	fprintf(out, "Usage: famfs %s %s\n\n%s\n", cmd->name, cmd->args, cmd->summary);
	fprintf(out, "\nOptions:\n");
	for (const struct cli_opt *o = cmd->opts; o && o->name; o++) {
		if (o->ignored)
			any_ignored = true;
		else if (!o->alias)
			help_line(o, out, o->help);
	}
	if (defines_short(cmd, 'h'))
		fprintf(out, "  %-28s %s\n", "-?, --help", "show this help and exit");
	else
		fprintf(out, "  %-28s %s\n", "-h, -?, --help", "show this help and exit");
	if (any_ignored) {
		fprintf(out,
			"\nAccepted for the existing famfs tools' scripts, without effect here:\n");
		for (const struct cli_opt *o = cmd->opts; o && o->name; o++)
			if (o->ignored && !o->alias)
				help_line(o, out, o->ignored);
	}
	if (cmd->details)
		fprintf(out, "\n%s\n", cmd->details);
}

static const struct cli_opt *find_opt(const struct cli_cmd *cmd, int key)
{
	for (const struct cli_opt *o = cmd->opts; o && o->name; o++)
		if (o->key == key)
			return o;
	return NULL;
}

int cli_getopt(const struct cli_cmd *cmd, int argc, char **argv, const char **arg)
{
	static const struct cli_cmd *cur;
	static struct option longopts[MAX_OPTS + 2];
	static char shortopts[3 * MAX_OPTS + 5];
	const struct cli_opt *o;
	int c;

	if (cur != cmd) {
		size_t n = 0, s = 0;

		cur = cmd;
		optind = 1;
		/* Options may follow operands (as the existing tools' scripts write
		 * them: `logplay --shadow DIR MPT -vv`): getopt moves the operands
		 * to the end. "--" ends the options. */
		shortopts[s++] = ':'; /* report missing arguments as ':' */
		for (o = cmd->opts; o && o->name && n < MAX_OPTS; o++, n++) {
			longopts[n] = (struct option){
			    o->name, o->arg ? required_argument : no_argument, NULL, o->key};
			if (o->key < 256 && find_opt(cmd, o->key) == o) {
				shortopts[s++] = (char)o->key;
				if (o->arg)
					shortopts[s++] = ':';
			}
		}
		longopts[n++] = (struct option){"help", no_argument, NULL, CLI_OPT_HELP};
		longopts[n] = (struct option){0};
		if (!defines_short(cmd, 'h'))
			shortopts[s++] = 'h';
		shortopts[s] = '\0';
	}
	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, shortopts, longopts, NULL);
		*arg = optarg;
		if (c == 'h' && !defines_short(cmd, 'h'))
			c = CLI_OPT_HELP;
		switch (c) {
		case CLI_OPT_HELP:
			cli_help(cmd, stdout);
			exit(CLI_OK);
		case '?':
			if (optopt == '?') { /* -?: the existing tools' help */
				cli_help(cmd, stdout);
				exit(CLI_OK);
			}
			if (optopt)
				exit(cli_usage_error(cmd, "unknown option '-%s'",
						     famfs_esc((char[]){(char)optopt, '\0'})));
			exit(cli_usage_error(cmd, "unknown option '%s'",
					     famfs_esc(argv[optind - 1])));
		case ':':
			exit(cli_usage_error(cmd, "option '%s' needs an argument",
					     famfs_esc(argv[optind - 1])));
		default:
			o = c == -1 ? NULL : find_opt(cmd, c);
			if (o && o->ignored) {
				char name[64];

				if (c < 256)
					snprintf(name, sizeof(name), "-%c", c);
				else
					snprintf(name, sizeof(name), "--%s", o->name);
				fprintf(stderr, "famfs %s: option %s%s ignored: %s\n", cmd->name,
					name, o->arg ? " (and its argument)" : "", o->ignored);
				continue;
			}
			return c;
		}
	}
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "famfs %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: famfs %s %s\nTry 'famfs %s --help' for more information.\n",
		cmd->name, cmd->args, cmd->name);
	return CLI_USAGE;
}

int cli_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "famfs %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

const char *cli_fmt_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const names[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	unsigned int i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, size, "%" PRIu64 " bytes", bytes);
	else
		snprintf(buf, size, "%.2f %s", v, names[i]);
	return buf;
}

int cli_parse_mode(const char *arg, mode_t *mode)
{
	char *end;
	unsigned long v;

	if (!arg || !*arg || *arg == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(arg, &end, 8);
	if (errno || *end || v > 07777)
		return -EINVAL;
	*mode = (mode_t)v;
	return 0;
}

int cli_parse_id(const char *arg, bool group, unsigned int *id)
{
	unsigned long long v;
	char *end;

	if (!arg || !*arg || *arg == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!errno && !*end) {
		if (v >= 0xffffffffULL)
			return -EINVAL;
		*id = (unsigned int)v;
		return 0;
	}
	if (group) {
		struct group *g = getgrnam(arg);

		if (!g)
			return -EINVAL;
		*id = g->gr_gid;
	} else {
		struct passwd *p = getpwnam(arg);

		if (!p)
			return -EINVAL;
		*id = p->pw_uid;
	}
	return 0;
}

int cli_parse_threads(const char *arg, unsigned int *n)
{
	unsigned long v;
	char *end;

	if (!arg || !*arg || *arg == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || v > CLI_MAX_THREADS)
		return -EINVAL;
	*n = (unsigned int)v;
	return 0;
}

int cli_owner_opt(const struct cli_cmd *cmd, int key, const char *arg, mode_t *mode,
		  unsigned int *uid, unsigned int *gid)
{
	if (key == 'm' && cli_parse_mode(arg, mode))
		return cli_usage_error(cmd, "--mode %s: not an octal mode", famfs_esc(arg));
	if (key == 'u' && cli_parse_id(arg, false, uid))
		return cli_usage_error(cmd, "--uid %s: not a user", famfs_esc(arg));
	if (key == 'g' && cli_parse_id(arg, true, gid))
		return cli_usage_error(cmd, "--gid %s: not a group", famfs_esc(arg));
	return 0;
}

int cli_threads_opt(const struct cli_cmd *cmd, const char *arg, unsigned int *n)
{
	if (cli_parse_threads(arg, n))
		return cli_usage_error(cmd, "--threads %s: 0 to %d", famfs_esc(arg),
				       CLI_MAX_THREADS);
	return 0;
}

struct par {
	void (*fn)(void *arg, size_t i);
	void *arg;
	size_t n, next;
	pthread_mutex_t lock;
};

static void *par_worker(void *p_)
{
	struct par *p = p_;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&p->lock);
		i = p->next < p->n ? p->next++ : p->n;
		pthread_mutex_unlock(&p->lock);
		if (i == p->n)
			return NULL;
		p->fn(p->arg, i);
	}
}

int cli_parallel(size_t n, unsigned int threads, void (*fn)(void *arg, size_t i), void *arg)
{
	struct par p = {.fn = fn, .arg = arg, .n = n, .lock = PTHREAD_MUTEX_INITIALIZER};
	pthread_t tid[CLI_MAX_THREADS];
	unsigned int started = 0;

	if (threads > n)
		threads = (unsigned int)n;
	if (threads > CLI_MAX_THREADS)
		threads = CLI_MAX_THREADS;
	if (threads <= 1) {
		for (size_t i = 0; i < n; i++)
			fn(arg, i);
		return 0;
	}
	/* The calling thread works too, so a failed pthread_create only slows down. */
	for (unsigned int t = 1; t < threads; t++)
		if (pthread_create(&tid[started], NULL, par_worker, &p) == 0)
			started++;
	par_worker(&p);
	for (unsigned int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	return 0;
}

void cli_pattern_fill(void *buf, uint64_t off, size_t len, uint64_t seed)
{
	uint8_t *b = buf;
	size_t i = 0;

	/* Whole aligned words first when we can, byte by byte at the edges. */
	while (i < len && ((off + i) & 7)) {
		uint64_t k = (off + i) / 8, w = seed * (k + 1);

		b[i] = (uint8_t)(w >> (8 * ((off + i) & 7)));
		i++;
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w = seed * ((off + i) / 8 + 1);

		for (int j = 0; j < 8; j++)
			b[i + j] = (uint8_t)(w >> (8 * j));
	}
	for (; i < len; i++) {
		uint64_t w = seed * ((off + i) / 8 + 1);

		b[i] = (uint8_t)(w >> (8 * ((off + i) & 7)));
	}
}

size_t cli_pattern_check(const void *buf, uint64_t off, size_t len, uint64_t seed)
{
	uint8_t want[4096];

	for (size_t i = 0; i < len; i += sizeof(want)) {
		size_t n = len - i < sizeof(want) ? len - i : sizeof(want);

		cli_pattern_fill(want, off + i, n, seed);
		if (memcmp(want, (const uint8_t *)buf + i, n))
			for (size_t j = 0; j < n; j++)
				if (want[j] != ((const uint8_t *)buf)[i + j])
					return i + j;
	}
	return len;
}
