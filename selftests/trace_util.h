/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tracefs for the tests of cmabuf's trace events (trace_test, heap_test): turning the
 * cmabuf:* events on and off, reading the trace buffer, and the fields of its lines.
 * Every helper returns a plain value; assertions stay in the tests.
 */
#ifndef CMABUF_TRACE_UTIL_H
#define CMABUF_TRACE_UTIL_H

#include <limits.h>
#include <sys/mount.h>

#include "cmabuf_util.h"

#define TRACEFS "/sys/kernel/tracing"

/* Mounts tracefs unless it is there; 0 or -1. */
static inline int tracefs_ready(void)
{
	if (path_exists(TRACEFS "/events"))
		return 0;
	return mount("tracefs", TRACEFS, "tracefs", 0, NULL);
}

/* Empties the trace buffer (opening "trace" with O_TRUNC); 0 or -1. */
static inline int trace_clear(void)
{
	int fd = open(TRACEFS "/trace", O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Turns the cmabuf events on or off and empties the trace buffer; 0 or -1. */
static inline int trace_reset(bool enable)
{
	if (write_text(TRACEFS "/events/enable", "0") ||
	    write_text(TRACEFS "/events/cmabuf/enable", enable ? "1" : "0") ||
	    trace_clear() || write_text(TRACEFS "/tracing_on", "1"))
		return -1;
	return 0;
}

/* The whole trace buffer as text (malloc'd), or NULL. */
static inline char *trace_read(void)
{
	size_t len = 0, cap = 1 << 16;
	char *text = malloc(cap);
	int fd = open(TRACEFS "/trace", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (!text || fd < 0) {
		free(text);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, text + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			char *more = realloc(text, cap * 2);

			if (!more)
				break;
			text = more;
			cap *= 2;
		}
	}
	close(fd);
	text[len] = 0;
	return text;
}

/*
 * The lines of event `name` in `text`, one after another: returns the line after
 * `from` (NULL: the first) or NULL. A line is NUL-free; use field() on it.
 */
static inline const char *next_event(const char *text, const char *name, const char *from)
{
	char tag[64];
	const char *p = from ? strchr(from, '\n') : text;

	snprintf(tag, sizeof(tag), " %s: ", name);
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		const char *hit = strstr(p, tag);

		if (hit && (!eol || hit < eol) && *p != '#')
			return p;
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* The text after `key=` in the line at `line`, copied up to the next blank; "" if none. */
static inline const char *field_text(const char *line, const char *key, char *out, size_t len)
{
	char tag[64];
	const char *eol = strchr(line, '\n'), *p;
	size_t n = 0;

	snprintf(tag, sizeof(tag), " %s=", key);
	p = strstr(line, tag);
	out[0] = 0;
	if (!p || (eol && p > eol))
		return out;
	p += strlen(tag);
	while (p[n] && p[n] != ' ' && p[n] != '\n' && n + 1 < len)
		n++;
	memcpy(out, p, n);
	out[n] = 0;
	return out;
}

/* The number after `key=` in the event line, or LLONG_MIN if the field is missing. */
static inline long long field(const char *line, const char *key)
{
	char text[64];

	if (!*field_text(line, key, text, sizeof(text)))
		return LLONG_MIN;
	return strtoll(text, NULL, 0);
}

/* The event `name` of buffer `id` in `text`, or NULL. */
static inline const char *event_of(const char *text, const char *name, unsigned int id)
{
	const char *line = NULL;

	while ((line = next_event(text, name, line)))
		if (field(line, "id") == id)
			return line;
	return NULL;
}

static inline int count_events(const char *text, const char *name)
{
	const char *line = NULL;
	int n = 0;

	while ((line = next_event(text, name, line)))
		n++;
	return n;
}

#endif /* CMABUF_TRACE_UTIL_H */
