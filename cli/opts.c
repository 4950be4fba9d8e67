// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_OPTS 32

int cli_optind(void)
{
	return optind;
}

void cli_help(const struct cli_cmd *cmd, FILE *out)
{
	fprintf(out, "Usage: famfs %s %s\n\n%s\n", cmd->name, cmd->args, cmd->summary);
	fprintf(out, "\nOptions:\n");
	for (const struct cli_opt *o = cmd->opts; o && o->name; o++) {
		char left[64];

		if (o->key < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		fprintf(out, "  %-28s %s\n", left, o->help);
	}
	fprintf(out, "  %-28s %s\n", "-h, --help", "show this help and exit");
	if (cmd->details)
		fprintf(out, "\n%s\n", cmd->details);
}

int cli_getopt(const struct cli_cmd *cmd, int argc, char **argv, const char **arg)
{
	static const struct cli_cmd *cur;
	static struct option longopts[MAX_OPTS + 2];
	static char shortopts[3 * MAX_OPTS + 4];
	int c;

	if (cur != cmd) {
		size_t n = 0, s = 0;

		cur = cmd;
		optind = 1;
		shortopts[s++] = '+'; /* stop at the first operand */
		shortopts[s++] = ':'; /* report missing arguments as ':' */
		for (const struct cli_opt *o = cmd->opts; o && o->name && n < MAX_OPTS; o++, n++) {
			longopts[n] = (struct option){
			    o->name, o->arg ? required_argument : no_argument, NULL, o->key};
			if (o->key < 256) {
				shortopts[s++] = (char)o->key;
				if (o->arg)
					shortopts[s++] = ':';
			}
		}
		longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
		longopts[n] = (struct option){0};
		shortopts[s++] = 'h';
		shortopts[s] = '\0';
	}
	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	*arg = optarg;
	switch (c) {
	case 'h':
		cli_help(cmd, stdout);
		exit(CLI_OK);
	case '?':
		if (optopt)
			exit(cli_usage_error(cmd, "unknown option '-%c'", optopt));
		exit(cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]));
	case ':':
		exit(cli_usage_error(cmd, "option '%s' needs an argument", argv[optind - 1]));
	default:
		return c;
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
