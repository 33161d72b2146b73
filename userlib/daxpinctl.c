// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * daxpinctl: see the pins daxpin holds on this system (daxpinctl(8)).
 *
 *   daxpinctl [list]     every pin, from /proc/daxpin (root)
 *   daxpinctl why FILE   the pins a layout change of FILE waits for
 *   daxpinctl status     module, parameters, device node, memlock limit
 *   daxpinctl watch      pins, unpins, recalls, revocations and drains as
 *                        they happen, from daxpin's tracepoints (root)
 *
 * Human columns by default, JSON with -J; -o picks columns, -p a pid.
 * /proc/daxpin's format (docs/ioctl.md) is read by its header line, so
 * columns a newer module appends are ignored and missing ones shown as
 * unknown.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <unistd.h>

/* A build may point it at a sample listing (-DPROC_LISTING=...). */
#ifndef PROC_LISTING
#define PROC_LISTING	"/proc/daxpin"
#endif
#define SYS_MODULE	"/sys/module/daxpin"
#define DEVICE		"/dev/daxpin"
#define TRACEFS		"/sys/kernel/tracing"

struct pin {
	int pid;
	char command[64];
	unsigned int handle;
	char state[16];
	unsigned int maj, min;
	unsigned long long ino;
	unsigned long long start, length;
	char access[8];
	long long deadline_left_ms;	/* -1: not recalled */
	unsigned int reason;
	unsigned long long mem_bytes;
	long long age_ms;		/* -1: not in this module's listing */
	long long vmas, dmabufs;	/* -1: not in this module's listing */
	char *path;
	char *holders;			/* NULL: not in this module's listing */
};

enum col {
	COL_PID, COL_COMMAND, COL_HANDLE, COL_STATE, COL_ACCESS, COL_DEV,
	COL_INODE, COL_START, COL_END, COL_LENGTH, COL_DEADLINE, COL_AGE,
	COL_REASON, COL_MEM, COL_VIA, COL_VMAS, COL_DMABUFS, COL_HOLDERS,
	COL_PATH, NR_COLS
};

static const struct {
	const char *name;	/* for -o and the header */
	const char *json;	/* JSON key */
	bool number;		/* JSON number (or null), right-aligned */
	const char *help;
} cols[NR_COLS] = {
	[COL_PID] = { "PID", "pid", true, "process that opened the daxpin file (draining: that made the pin; it may be gone)" },
	[COL_COMMAND] = { "COMMAND", "command", false, "its command name" },
	[COL_HANDLE] = { "HANDLE", "handle", true, "the pin's handle in that file" },
	[COL_STATE] = { "STATE", "state", false, "active, recalled, revoked or draining" },
	[COL_ACCESS] = { "ACCESS", "access", false, "rw or ro" },
	[COL_DEV] = { "DEV", "dev", false, "major:minor of the file's file system" },
	[COL_INODE] = { "INODE", "inode", true, "the file's inode number" },
	[COL_START] = { "START", "start", true, "first byte of the range" },
	[COL_END] = { "END", "end", true, "last byte of the range" },
	[COL_LENGTH] = { "LENGTH", "length", true, "bytes pinned" },
	[COL_DEADLINE] = { "DEADLINE", "deadline_left_ms", true, "time left before a recalled pin is revoked (JSON: ms, null if not recalled)" },
	[COL_AGE] = { "AGE", "age_ms", true, "time since the pin was made (JSON: ms)" },
	[COL_REASON] = { "REASON", "revoke_reason", true, "why it was revoked (enum daxpin_revoke_reason; 0: not revoked)" },
	[COL_MEM] = { "MEM", "mem_bytes", true, "kernel memory the pin takes, in bytes" },
	[COL_VIA] = { "VIA", "via", false, "how daxpin exposes the pin to devices: map (its mapping is mapped: a pinning registration can hold it), dmabuf (exported), map+dmabuf, or - (neither: unregistered, or registered by ODP through the file's own mapping, which daxpin does not see)" },
	[COL_VMAS] = { "VMAS", "vmas", true, "VMAs mapping the pin now, in any process" },
	[COL_DMABUFS] = { "DMABUFS", "dmabufs", true, "dma-bufs exporting the pin now" },
	[COL_HOLDERS] = { "HOLDERS", "holders", false, "live processes that mapped or exported the pin, comma-separated: who can hold its pages (- if none)" },
	[COL_PATH] = { "PATH", "path", false, "the pinned file" },
};

static const enum col default_cols[] = {
	COL_PID, COL_COMMAND, COL_HANDLE, COL_STATE, COL_ACCESS, COL_START,
	COL_LENGTH, COL_DEADLINE, COL_AGE, COL_VIA, COL_HOLDERS, COL_PATH,
};

static enum col out_cols[NR_COLS * 2];
static size_t nr_out_cols;
static bool opt_json, opt_noheadings;
static int opt_pid = -1;
static const char *prog = "daxpinctl";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		die("out of memory");
	return p;
}

/* Read a small file, trailing newline cut: 0, or -1 (errno set). */
static int read_line_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ret = -1;

	if (!f)
		return -1;
	if (fgets(buf, (int)len, f)) {
		buf[strcspn(buf, "\n")] = 0;
		ret = 0;
	} else {
		buf[0] = 0;
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* Undo seq_path()'s \ooo escapes, in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) |
				      (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = 0;
}

/* ---- /proc/daxpin --------------------------------------------------- */

enum field {
	F_PID, F_HANDLE, F_STATE, F_DEVINO, F_OFFSET, F_LENGTH, F_ACCESS,
	F_LEFT, F_REASON, F_MEM, F_PATH, F_AGE, F_VMAS, F_DMABUFS, F_HOLDERS,
	NR_FIELDS
};

static const char *const field_names[NR_FIELDS] = {
	"pid", "handle", "state", "dev:ino", "offset", "length", "access",
	"deadline_left_ms", "revoke_reason", "mem_bytes", "path", "age_ms",
	"vmas", "dmabufs", "holders",
};

/* Columns appended after the first release: an older module lacks them. */
#define F_FIRST_OPTIONAL F_AGE

#define MAX_TOKENS 64

static int split(char *line, char **tok)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " \t\n", &save); t && n < MAX_TOKENS;
	     t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	return n;
}

static bool parse_ull(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && end != s && !*end;
}

static bool parse_ll(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 0);
	return !errno && end != s && !*end;
}

static void fill_command(struct pin *p)
{
	char path[64];

	strcpy(p->command, "-");
	if (p->pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/comm", p->pid);
	if (read_line_file(path, p->command, sizeof(p->command)) ||
	    !p->command[0])
		strcpy(p->command, "?");
}

/* Every pin of /proc/daxpin, in its order; exits with a message on error. */
static struct pin *read_pins(size_t *nr)
{
	int idx[NR_FIELDS], ntok, i, f;
	char *tok[MAX_TOKENS], *line = NULL;
	struct pin *pins = NULL;
	size_t cap = 0, len = 0, n = 0;
	unsigned long long v;
	long long sv;
	FILE *in;

	in = fopen(PROC_LISTING, "r");
	if (!in) {
		if (errno == ENOENT)
			die("%s does not exist: is the daxpin module loaded?",
			    PROC_LISTING);
		if (errno == EACCES || errno == EPERM)
			die("%s: %s (it lists every user's pins: root only; a daxpin file's owner sees its own pins in /proc/PID/fdinfo)",
			    PROC_LISTING, strerror(errno));
		die("%s: %s", PROC_LISTING, strerror(errno));
	}
	if (getline(&line, &len, in) < 0)
		die("%s: no header line", PROC_LISTING);
	for (f = 0; f < NR_FIELDS; f++)
		idx[f] = -1;
	ntok = split(line, tok);
	for (i = 0; i < ntok; i++)
		for (f = 0; f < NR_FIELDS; f++)
			if (!strcmp(tok[i], field_names[f]))
				idx[f] = i;
	for (f = 0; f < NR_FIELDS; f++)
		if (idx[f] < 0 && f < F_FIRST_OPTIONAL)
			die("%s: no column '%s' in its header", PROC_LISTING,
			    field_names[f]);

	while (getline(&line, &len, in) >= 0) {
		struct pin p = { .age_ms = -1, .vmas = -1, .dmabufs = -1 };
		bool ok = true;

		ntok = split(line, tok);
		for (f = 0; f < NR_FIELDS; f++)
			if (idx[f] >= ntok && f < F_FIRST_OPTIONAL)
				ok = false;
		if (!ok)
			die("%s: a line with too few columns", PROC_LISTING);
		ok = parse_ll(tok[idx[F_PID]], &sv) && (p.pid = (int)sv, true);
		ok = ok && parse_ull(tok[idx[F_HANDLE]], &v) &&
		     (p.handle = (unsigned int)v, true);
		snprintf(p.state, sizeof(p.state), "%s", tok[idx[F_STATE]]);
		ok = ok && sscanf(tok[idx[F_DEVINO]], "%u:%u:%llu", &p.maj,
				  &p.min, &p.ino) == 3;
		ok = ok && parse_ull(tok[idx[F_OFFSET]], &p.start);
		ok = ok && parse_ull(tok[idx[F_LENGTH]], &p.length);
		snprintf(p.access, sizeof(p.access), "%s", tok[idx[F_ACCESS]]);
		ok = ok && parse_ll(tok[idx[F_LEFT]], &p.deadline_left_ms);
		ok = ok && parse_ull(tok[idx[F_REASON]], &v) &&
		     (p.reason = (unsigned int)v, true);
		ok = ok && parse_ull(tok[idx[F_MEM]], &p.mem_bytes);
		if (ok && idx[F_AGE] >= 0 && idx[F_AGE] < ntok)
			ok = parse_ll(tok[idx[F_AGE]], &p.age_ms);
		if (ok && idx[F_VMAS] >= 0 && idx[F_VMAS] < ntok)
			ok = parse_ll(tok[idx[F_VMAS]], &p.vmas);
		if (ok && idx[F_DMABUFS] >= 0 && idx[F_DMABUFS] < ntok)
			ok = parse_ll(tok[idx[F_DMABUFS]], &p.dmabufs);
		if (ok && idx[F_HOLDERS] >= 0 && idx[F_HOLDERS] < ntok) {
			p.holders = strdup(tok[idx[F_HOLDERS]]);
			if (!p.holders)
				die("out of memory");
		}
		if (!ok)
			die("%s: a line that does not parse", PROC_LISTING);
		if (opt_pid >= 0 && p.pid != opt_pid)
			continue;
		p.path = strdup(tok[idx[F_PATH]]);
		if (!p.path)
			die("out of memory");
		unescape(p.path);
		fill_command(&p);
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			pins = realloc(pins, cap * sizeof(*pins));
			if (!pins)
				die("out of memory");
		}
		pins[n++] = p;
	}
	free(line);
	fclose(in);
	*nr = n;
	return pins;
}

/* ---- output ---------------------------------------------------------- */

static void fmt_ms(char *buf, size_t len, long long ms)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 1000)
		snprintf(buf, len, "%lldms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%lld.%llds", ms / 1000, ms % 1000 / 100);
	else if (ms < 3600000)
		snprintf(buf, len, "%lldm%02llds", ms / 60000, ms % 60000 / 1000);
	else
		snprintf(buf, len, "%lldh%02lldm", ms / 3600000,
			 ms % 3600000 / 60000);
}

/* No value: @human's placeholder, or JSON's null. Returns false. */
static bool no_value(char *buf, size_t len, bool human, const char *shown)
{
	snprintf(buf, len, "%s", human ? shown : "null");
	return false;
}

/*
 * The value of column @c for @p into @buf: false if it is unknown (JSON
 * null). @human formats durations for people.
 */
static bool col_value(const struct pin *p, enum col c, char *buf, size_t len,
		      bool human)
{
	switch (c) {
	case COL_PID:
		snprintf(buf, len, "%d", p->pid);
		break;
	case COL_COMMAND:
		snprintf(buf, len, "%s", p->command);
		break;
	case COL_HANDLE:
		snprintf(buf, len, "%u", p->handle);
		break;
	case COL_STATE:
		snprintf(buf, len, "%s", p->state);
		break;
	case COL_ACCESS:
		snprintf(buf, len, "%s", p->access);
		break;
	case COL_DEV:
		snprintf(buf, len, "%u:%u", p->maj, p->min);
		break;
	case COL_INODE:
		snprintf(buf, len, "%llu", p->ino);
		break;
	case COL_START:
		snprintf(buf, len, "%llu", p->start);
		break;
	case COL_END:
		snprintf(buf, len, "%llu", p->start + p->length - 1);
		break;
	case COL_LENGTH:
		snprintf(buf, len, "%llu", p->length);
		break;
	case COL_DEADLINE:
	case COL_AGE: {
		long long ms = c == COL_AGE ? p->age_ms : p->deadline_left_ms;

		if (ms < 0)
			return no_value(buf, len, human, "-");
		if (human)
			fmt_ms(buf, len, ms);
		else
			snprintf(buf, len, "%lld", ms);
		break;
	}
	case COL_REASON:
		snprintf(buf, len, "%u", p->reason);
		break;
	case COL_VMAS:
	case COL_DMABUFS: {
		long long v = c == COL_VMAS ? p->vmas : p->dmabufs;

		if (v < 0)
			return no_value(buf, len, human, "?");
		snprintf(buf, len, "%lld", v);
		break;
	}
	case COL_VIA:
		if (p->vmas < 0 || p->dmabufs < 0)
			return no_value(buf, len, human, "?");
		snprintf(buf, len, "%s", p->vmas && p->dmabufs ? "map+dmabuf" :
			 p->vmas ? "map" : p->dmabufs ? "dmabuf" : "-");
		break;
	case COL_MEM:
		snprintf(buf, len, "%llu", p->mem_bytes);
		break;
	case COL_HOLDERS:
		if (!p->holders)
			return no_value(buf, len, human, "?");
		snprintf(buf, len, "%s", p->holders);
		break;
	case COL_PATH:
		snprintf(buf, len, "%s", p->path);
		break;
	default:
		buf[0] = 0;
	}
	return true;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json_pins(const struct pin *pins, size_t n, const char *key)
{
	char buf[8192];
	size_t i, j;

	printf("{\n   \"%s\": [", key);
	for (i = 0; i < n; i++) {
		printf("%s\n      {", i ? "," : "");
		for (j = 0; j < nr_out_cols; j++) {
			enum col c = out_cols[j];
			bool known = col_value(&pins[i], c, buf, sizeof(buf),
					       false);

			printf("%s\"%s\": ", j ? ", " : "", cols[c].json);
			if (!known || cols[c].number)
				fputs(buf, stdout);
			else
				json_string(buf);
		}
		putchar('}');
	}
	printf("%s]\n}\n", n ? "\n   " : "");
}

static void print_table(const struct pin *pins, size_t n)
{
	size_t width[NR_COLS * 2], i, j;
	char buf[8192];

	for (j = 0; j < nr_out_cols; j++)
		width[j] = opt_noheadings ? 0 : strlen(cols[out_cols[j]].name);
	for (i = 0; i < n; i++)
		for (j = 0; j < nr_out_cols; j++) {
			col_value(&pins[i], out_cols[j], buf, sizeof(buf), true);
			if (strlen(buf) > width[j])
				width[j] = strlen(buf);
		}
	for (i = opt_noheadings ? 1 : 0; i <= n; i++) {
		for (j = 0; j < nr_out_cols; j++) {
			enum col c = out_cols[j];
			bool last = j + 1 == nr_out_cols;

			if (i == 0)
				snprintf(buf, sizeof(buf), "%s", cols[c].name);
			else
				col_value(&pins[i - 1], c, buf, sizeof(buf),
					  true);
			if (cols[c].number && i)
				printf("%*s", (int)width[j], buf);
			else if (last)
				fputs(buf, stdout);
			else
				printf("%-*s", (int)width[j], buf);
			if (!last)
				putchar(' ');
		}
		putchar('\n');
	}
}

static void free_pins(struct pin *pins, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(pins[i].path);
		free(pins[i].holders);
	}
	free(pins);
}

static int cmd_list(void)
{
	size_t n;
	struct pin *pins = read_pins(&n);

	if (opt_json)
		print_json_pins(pins, n, "pins");
	else
		print_table(pins, n);
	free_pins(pins, n);
	return 0;
}

/*
 * why FILE: what a layout change of FILE (truncate, hole punch, reflink)
 * waits for - its recalled pins, until each is unpinned or revoked, and
 * its draining pins, until whoever holds their pages lets them go - and
 * which active pins one would recall.
 */
static int cmd_why(const char *file)
{
	struct pin *pins, *waits;
	size_t n, i, nwait = 0, nactive = 0;
	struct stat st;

	if (stat(file, &st))
		die("%s: %s", file, strerror(errno));
	pins = read_pins(&n);
	waits = xmalloc((n ? n : 1) * sizeof(*waits));
	for (i = 0; i < n; i++) {
		if (pins[i].maj != major(st.st_dev) ||
		    pins[i].min != minor(st.st_dev) ||
		    pins[i].ino != (unsigned long long)st.st_ino)
			continue;
		if (!strcmp(pins[i].state, "recalled") ||
		    !strcmp(pins[i].state, "draining"))
			waits[nwait++] = pins[i];
		else if (!strcmp(pins[i].state, "active"))
			nactive++;
	}
	if (opt_json) {
		print_json_pins(waits, nwait, "waits_for");
	} else if (!nwait) {
		printf("%s: no layout change waits for daxpin (%zu active pin%s would be recalled by one)\n",
		       file, nactive, nactive == 1 ? "" : "s");
	} else {
		printf("%s: a layout change waits for %zu pin%s (recalled: until unpinned or revoked at its deadline; draining: until its pages are let go)\n",
		       file, nwait, nwait == 1 ? "" : "s");
		print_table(waits, nwait);
	}
	free(waits);
	free_pins(pins, n);
	return 0;
}

/* ---- status ---------------------------------------------------------- */

static void json_key_string(const char *indent, const char *key,
			    const char *value, bool comma)
{
	printf("%s\"%s\": ", indent, key);
	if (value)
		json_string(value);
	else
		fputs("null", stdout);
	printf("%s\n", comma ? "," : "");
}

static void limit_str(rlim_t v, char *buf, size_t len, bool json)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, len, json ? "null" : "unlimited");
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static int cmd_status(void)
{
	char version[128], srcversion[128], value[4096], path[512];
	char soft[32], hard[32], mode[8], owner[64], group[64];
	struct dirent **names = NULL;
	bool loaded, have_version, have_src, have_dev;
	struct rlimit rl;
	struct stat st;
	int i, n, printed = 0;

	loaded = !access(SYS_MODULE, F_OK);
	have_version = !read_line_file(SYS_MODULE "/version", version,
				       sizeof(version));
	have_src = !read_line_file(SYS_MODULE "/srcversion", srcversion,
				   sizeof(srcversion));
	have_dev = !stat(DEVICE, &st);
	if (have_dev) {
		struct passwd *pw = getpwuid(st.st_uid);
		struct group *gr = getgrgid(st.st_gid);

		snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
		if (pw)
			snprintf(owner, sizeof(owner), "%s", pw->pw_name);
		else
			snprintf(owner, sizeof(owner), "%u", st.st_uid);
		if (gr)
			snprintf(group, sizeof(group), "%s", gr->gr_name);
		else
			snprintf(group, sizeof(group), "%u", st.st_gid);
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		die("getrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
	limit_str(rl.rlim_cur, soft, sizeof(soft), opt_json);
	limit_str(rl.rlim_max, hard, sizeof(hard), opt_json);
	n = loaded ? scandir(SYS_MODULE "/parameters", &names, NULL,
			     alphasort) : 0;
	if (n < 0)
		n = 0;

	if (opt_json) {
		printf("{\n   \"module\": {\n      \"loaded\": %s,\n",
		       loaded ? "true" : "false");
		json_key_string("      ", "version",
				have_version ? version : NULL, true);
		json_key_string("      ", "srcversion",
				have_src ? srcversion : NULL, false);
		printf("   },\n   \"parameters\": {");
	} else {
		printf("module:      %s", loaded ? "loaded" : "not loaded");
		if (have_version)
			printf(", version %s", version);
		if (have_src)
			printf(", srcversion %s", srcversion);
		printf("\nparameters:\n");
	}
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (name[0] == '.')
			goto next;
		snprintf(path, sizeof(path), SYS_MODULE "/parameters/%s", name);
		if (read_line_file(path, value, sizeof(value)))
			snprintf(value, sizeof(value), "?");
		if (opt_json) {
			printf("%s\n      ", printed++ ? "," : "");
			json_string(name);
			fputs(": ", stdout);
			json_string(value);
		} else {
			printf("  %-22s %s\n", name, value);
		}
next:
		free(names[i]);
	}
	free(names);
	if (opt_json) {
		printf("\n   },\n   \"device\": {\n");
		json_key_string("      ", "path", DEVICE, true);
		printf("      \"exists\": %s,\n", have_dev ? "true" : "false");
		json_key_string("      ", "mode", have_dev ? mode : NULL, true);
		json_key_string("      ", "owner", have_dev ? owner : NULL, true);
		json_key_string("      ", "group", have_dev ? group : NULL,
				false);
		printf("   },\n   \"memlock\": {\"soft\": %s, \"hard\": %s}\n}\n",
		       soft, hard);
	} else {
		if (have_dev)
			printf("device:      %s mode %s owner %s group %s\n",
			       DEVICE, mode, owner, group);
		else
			printf("device:      %s missing\n", DEVICE);
		printf("memlock:     soft %s, hard %s (bytes; RLIMIT_MEMLOCK of daxpinctl, inherited from its caller)\n",
		       soft, hard);
	}
	return 0;
}

/* ---- options ---------------------------------------------------------- */

/* ---- watch: daxpin's tracepoints, live ------------------------------- */

static char watch_instance[128];
static volatile sig_atomic_t watch_stop;

static void watch_on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* Write @val to @file of the watch's trace instance: 0, or -1 (errno). */
static int instance_write(const char *file, const char *val)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", watch_instance, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* Events off, then the instance gone: nothing of the watch stays behind. */
static void watch_cleanup(void)
{
	if (!watch_instance[0])
		return;
	instance_write("events/daxpin/enable", "0");
	rmdir(watch_instance);
	watch_instance[0] = 0;
}

/*
 * One line of trace_pipe: "TASK-TID [CPU] FLAGS SECONDS: EVENT: key=value
 * ..." (ftrace names the event without its system; the instance has only
 * daxpin's on). Printed as "SECONDS EVENT key=value ..." or, with -J, one
 * JSON object per line (JSON Lines): time, event, task, tid and each key,
 * its value a number where it is one. Returns whether it was an event.
 */
static bool watch_print(char *line)
{
	static const char *const events[] = {
		"pin", "unpin", "recall", "revoke", "drain",
	};
	char *ev = NULL, *fields, *colon, *tid, *tok, *save = NULL, *eq, *end;
	char task[64] = "";
	double secs = 0;
	size_t i;

	line[strcspn(line, "\n")] = 0;
	/* The timestamp: the first "DIGITS.DIGITS: " of the line. */
	for (colon = strstr(line, ": "); colon; colon = strstr(colon + 1, ": ")) {
		tok = colon;
		while (tok > line && (isdigit((unsigned char)tok[-1]) ||
				      tok[-1] == '.'))
			tok--;
		if (tok < colon && tok > line && tok[-1] == ' ' &&
		    memchr(tok, '.', (size_t)(colon - tok))) {
			secs = strtod(tok, NULL);
			tok[-1] = 0;
			ev = colon + 2;
			break;
		}
	}
	if (!ev)
		return false;
	colon = strchr(ev, ':');
	if (!colon)
		return false;
	*colon = 0;
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (!strcmp(ev, events[i]))
			break;
	if (i == sizeof(events) / sizeof(events[0]))
		return false;
	fields = colon + 1;
	while (*fields == ' ')
		fields++;
	/* "TASK-TID [CPU] FLAGS": the task may hold spaces, not " [". */
	while (*line == ' ')
		line++;
	tid = strstr(line, " [");
	if (tid) {
		while (tid > line && tid[-1] == ' ')
			tid--;
		*tid = 0;
	}
	snprintf(task, sizeof(task), "%.63s", line);
	tid = strrchr(task, '-');
	if (tid)
		*tid++ = 0;
	if (!opt_json) {
		printf("%.6f %-6s %s\n", secs, ev, fields);
		fflush(stdout);
		return true;
	}
	printf("{\"time\": %.6f, \"event\": ", secs);
	json_string(ev);
	printf(", \"task\": ");
	json_string(task);
	printf(", \"tid\": %s", tid && *tid ? tid : "null");
	for (tok = strtok_r(fields, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		unsigned long long v;

		eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq++ = 0;
		printf(", ");
		json_string(tok);
		errno = 0;
		v = strtoull(eq, &end, 0);
		if (*eq && *eq != '-' && !*end && !errno)
			printf(": %llu", v);
		else if (*eq == '-' && !*end)
			printf(": %s", eq);
		else {
			printf(": ");
			json_string(eq);
		}
	}
	printf("}\n");
	fflush(stdout);
	return true;
}

/*
 * A trace instance of its own (instances/daxpinctl-PID: the global buffer
 * and other tracers are left alone) with the daxpin events on, -p PID as
 * an owner filter, read until @count events (0: until a signal).
 */
static int cmd_watch(unsigned long count)
{
	static const char *const owned[] = { "pin", "unpin", "recall", "revoke" };
	struct sigaction sa = { .sa_handler = watch_on_signal };
	char buf[8192], line[1024], filter[64], file[64];
	unsigned long seen = 0;
	size_t used = 0, i;
	struct pollfd pfd;
	ssize_t n;
	char *nl;

	if (access(TRACEFS "/instances", W_OK))
		die("%s/instances: %s (tracefs, as root)", TRACEFS,
		    strerror(errno));
	snprintf(watch_instance, sizeof(watch_instance),
		 TRACEFS "/instances/daxpinctl-%d", (int)getpid());
	if (mkdir(watch_instance, 0700)) {
		int err = errno;

		watch_instance[0] = 0;
		die("cannot make a trace instance: %s", strerror(err));
	}
	atexit(watch_cleanup);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	if (opt_pid >= 0) {
		/* drain names no owner: a pid watch leaves it out. */
		snprintf(filter, sizeof(filter), "owner == %d", opt_pid);
		for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
			snprintf(file, sizeof(file), "events/daxpin/%s/filter",
				 owned[i]);
			if (instance_write(file, filter))
				die("%s: %s (is daxpin loaded?)", file,
				    strerror(errno));
			snprintf(file, sizeof(file), "events/daxpin/%s/enable",
				 owned[i]);
			if (instance_write(file, "1"))
				die("%s: %s", file, strerror(errno));
		}
	} else if (instance_write("events/daxpin/enable", "1")) {
		die("events/daxpin: %s (is daxpin loaded?)", strerror(errno));
	}
	snprintf(file, sizeof(file), "%s", "trace_pipe");
	snprintf(buf, sizeof(buf), "%s/%s", watch_instance, file);
	pfd.fd = open(buf, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (pfd.fd < 0)
		die("%s: %s", buf, strerror(errno));
	pfd.events = POLLIN;
	if (!opt_json) {
		printf("# SECONDS EVENT FIELDS (Ctrl-C ends)\n");
		fflush(stdout);
	}
	while (!watch_stop && (!count || seen < count)) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(pfd.fd, buf + used, sizeof(buf) - 1 - used);
		if (n <= 0)
			continue;
		used += (size_t)n;
		buf[used] = 0;
		while ((nl = strchr(buf, '\n')) &&
		       (!count || seen < count)) {
			size_t len = (size_t)(nl - buf) + 1;

			snprintf(line, sizeof(line), "%.*s", (int)len, buf);
			memmove(buf, nl + 1, used - len + 1);
			used -= len;
			if (watch_print(line))
				seen++;
		}
		if (used == sizeof(buf) - 1)
			used = 0;	/* a line longer than ours: dropped */
	}
	close(pfd.fd);
	watch_cleanup();
	return 0;
}

static void usage(FILE *out, int status)
{
	int c;

	fprintf(out,
		"Usage: %s [options] [list]\n"
		"       %s [options] why FILE\n"
		"       %s [-J] status\n"
		"       %s [-J] [-p PID] [-c COUNT] watch\n"
		"\n"
		"See the pins of daxpin (/dev/daxpin): every pin on the system (list,\n"
		"from /proc/daxpin: root), what a layout change of FILE waits for (why),\n"
		"the module's state (status), its events as they happen (watch: root).\n"
		"\n"
		"Options:\n"
		"  -J, --json            JSON output\n"
		"  -o, --output COLS     columns to show, comma-separated; +COLS adds to the default\n"
		"  -p, --pid PID         only the pins of daxpin files opened by PID\n"
		"  -n, --noheadings      no header line\n"
		"  -c, --count COUNT     watch: stop after COUNT events\n"
		"  -h, --help            this help\n"
		"\nColumns:\n", prog, prog, prog, prog);
	for (c = 0; c < NR_COLS; c++)
		fprintf(out, "  %-9s %s\n", cols[c].name, cols[c].help);
	exit(status);
}

static void add_cols(const char *list)
{
	char *copy = strdup(list), *save = NULL, *t;
	int c;

	if (!copy)
		die("out of memory");
	for (t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		for (c = 0; c < NR_COLS; c++)
			if (!strcasecmp(t, cols[c].name))
				break;
		if (c == NR_COLS)
			die("unknown column '%s' (see --help)", t);
		if (nr_out_cols == sizeof(out_cols) / sizeof(out_cols[0]))
			die("too many columns");
		out_cols[nr_out_cols++] = (enum col)c;
	}
	free(copy);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "output", required_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *outlist = NULL, *cmd;
	unsigned long long v, count = 0;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "Jo:p:nc:h", opts, NULL)) != -1) {
		switch (c) {
		case 'J':
			opt_json = true;
			break;
		case 'o':
			outlist = optarg;
			break;
		case 'p':
			if (!parse_ull(optarg, &v) || v > INT_MAX)
				die("bad pid '%s'", optarg);
			opt_pid = (int)v;
			break;
		case 'n':
			opt_noheadings = true;
			break;
		case 'c':
			if (!parse_ull(optarg, &count) || !count || count > ULONG_MAX)
				die("bad count '%s'", optarg);
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	/* JSON, for scripts, has every column unless told otherwise. */
	if (!outlist && opt_json)
		for (i = 0; i < NR_COLS; i++)
			out_cols[nr_out_cols++] = (enum col)i;
	else if (!outlist || outlist[0] == '+')
		for (i = 0; i < sizeof(default_cols) / sizeof(default_cols[0]); i++)
			out_cols[nr_out_cols++] = default_cols[i];
	if (outlist)
		add_cols(outlist[0] == '+' ? outlist + 1 : outlist);

	cmd = optind < argc ? argv[optind++] : "list";
	if (!strcmp(cmd, "list")) {
		if (optind != argc)
			usage(stderr, 2);
		return cmd_list();
	}
	if (!strcmp(cmd, "why")) {
		if (optind + 1 != argc)
			usage(stderr, 2);
		return cmd_why(argv[optind]);
	}
	if (!strcmp(cmd, "status")) {
		if (optind != argc)
			usage(stderr, 2);
		return cmd_status();
	}
	if (!strcmp(cmd, "watch")) {
		if (optind != argc)
			usage(stderr, 2);
		return cmd_watch((unsigned long)count);
	}
	fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
	usage(stderr, 2);
	return 2;
}
