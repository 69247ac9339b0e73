/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cmabuf's trace events as the Rust code sees them (rust/ffi/tracing.rs): each event's
 * tracepoint, whose static key the Rust code tests before it computes the event's
 * fields, and a wrapper that emits it (trace_events.c). The events themselves are
 * defined in cmabuf_trace.h.
 */
#ifndef _CMABUF_TRACE_EVENTS_H
#define _CMABUF_TRACE_EVENTS_H

#include <linux/tracepoint-defs.h>
#include <linux/types.h>

extern struct tracepoint __tracepoint_cmabuf_alloc;
extern struct tracepoint __tracepoint_cmabuf_free;
extern struct tracepoint __tracepoint_cmabuf_prepare;
extern struct tracepoint __tracepoint_cmabuf_alloc_fail;
extern struct tracepoint __tracepoint_cmabuf_cache_hit;
extern struct tracepoint __tracepoint_cmabuf_cache_miss;
extern struct tracepoint __tracepoint_cmabuf_cache_zeroed;
extern struct tracepoint __tracepoint_cmabuf_cache_release;

void cmabuf_trace_alloc(const char *pool, u64 size, u64 align, u32 cache, s32 tgid, s32 errno,
			u64 latency_ns, u64 migrated, u32 attempts, bool warm, u32 id, s32 by);
void cmabuf_trace_free(const char *pool, u64 size, u64 lifetime_ns, bool stranded,
		       bool cached, u32 id);
void cmabuf_trace_prepare(const char *pool, u64 run_size, u32 runs, s32 tgid,
			  u64 duration_ns, s32 errno);
void cmabuf_trace_alloc_fail(const char *pool, u64 size, s32 tgid, s32 errno,
			     const char *reason, s64 pfn, u32 attempts);
void cmabuf_trace_cache_hit(const char *pool, u64 size, bool zeroed, bool prepared);
void cmabuf_trace_cache_miss(const char *pool, u64 size, u32 cached_runs);
void cmabuf_trace_cache_zeroed(const char *pool, u64 size, u64 duration_ns, bool ok);
void cmabuf_trace_cache_release(const char *pool, u64 size, const char *reason,
				bool prepared);

#endif /* _CMABUF_TRACE_EVENTS_H */
