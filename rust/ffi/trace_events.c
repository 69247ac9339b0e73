// SPDX-License-Identifier: GPL-2.0
/*
 * Creates cmabuf's trace events (cmabuf_trace.h) and gives the Rust code one function per
 * event (trace_events.h). The Rust code calls them only when the event's static key is
 * on; the trace_*() call tests it again, which costs nothing more than a patched branch.
 */
#define CREATE_TRACE_POINTS
#include "cmabuf_trace.h"

#include "trace_events.h"

void cmabuf_trace_alloc(const char *pool, u64 size, u64 align, u32 cache, s32 tgid, s32 errno,
			u64 latency_ns, u64 migrated, u32 attempts, bool warm, u32 id, s32 by)
{
	trace_cmabuf_alloc(pool, size, align, cache, tgid, errno, latency_ns, migrated,
			   attempts, warm, id, by);
}

void cmabuf_trace_free(const char *pool, u64 size, u64 lifetime_ns, bool stranded,
		       bool cached, u32 id)
{
	trace_cmabuf_free(pool, size, lifetime_ns, stranded, cached, id);
}

void cmabuf_trace_prepare(const char *pool, u64 run_size, u32 runs, s32 tgid,
			  u64 duration_ns, s32 errno)
{
	trace_cmabuf_prepare(pool, run_size, runs, tgid, duration_ns, errno);
}

void cmabuf_trace_alloc_fail(const char *pool, u64 size, s32 tgid, s32 errno,
			     const char *reason, s64 pfn, u32 attempts)
{
	trace_cmabuf_alloc_fail(pool, size, tgid, errno, reason, pfn, attempts);
}

void cmabuf_trace_cache_hit(const char *pool, u64 size, bool zeroed, bool prepared)
{
	trace_cmabuf_cache_hit(pool, size, zeroed, prepared);
}

void cmabuf_trace_cache_miss(const char *pool, u64 size, u32 cached_runs)
{
	trace_cmabuf_cache_miss(pool, size, cached_runs);
}

void cmabuf_trace_cache_zeroed(const char *pool, u64 size, u64 duration_ns, bool ok)
{
	trace_cmabuf_cache_zeroed(pool, size, duration_ns, ok);
}

void cmabuf_trace_cache_release(const char *pool, u64 size, const char *reason,
				bool prepared)
{
	trace_cmabuf_cache_release(pool, size, reason, prepared);
}
