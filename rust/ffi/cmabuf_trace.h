/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cmabuf's trace events, the cmabuf:* system of tracefs (Documentation/admin-guide.rst,
 * "Trace events"). Only trace_events.c includes this header; the Rust code reaches the
 * events through the wrappers that trace_events.h declares, and tests each event's
 * static key itself (rust/ffi/tracing.rs).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM cmabuf

#if !defined(_CMABUF_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _CMABUF_TRACE_H

#include <linux/tracepoint.h>
#include <uapi/linux/cmabuf.h>

#define cmabuf_show_cache(mode)						\
	__print_symbolic(mode,						\
			 { CMABUF_CACHED, "cached" },			\
			 { CMABUF_WRITECOMBINE, "writecombine" },	\
			 { CMABUF_UNCACHED, "uncached" })

/*
 * An allocation, served or failed, from /dev/cmabuf-<pool> or the pool's dma-heap.
 * errno is 0 when served; latency_ns is the time the debugfs latency histogram counts
 * (served allocations only). id is the buffer's number in debugfs (0 if it failed).
 * tgid is the process the buffer is charged to, by the one that allocated it: the same
 * unless a service allocated for a client (CMABUF_ALLOC_FOR_CLIENT).
 */
TRACE_EVENT(cmabuf_alloc,
	TP_PROTO(const char *pool, u64 size, u64 align, u32 cache, s32 tgid, s32 errno,
		 u64 latency_ns, u64 migrated, u32 attempts, bool warm, u32 id, s32 by),
	TP_ARGS(pool, size, align, cache, tgid, errno, latency_ns, migrated, attempts, warm, id,
		by),
	TP_STRUCT__entry(
		__string(pool, pool)
		__field(u64, size)
		__field(u64, align)
		__field(u64, latency_ns)
		__field(u64, migrated)
		__field(u32, cache)
		__field(s32, tgid)
		__field(s32, errno)
		__field(u32, attempts)
		__field(u32, id)
		__field(s32, by)
		__field(bool, warm)
	),
	TP_fast_assign(
		__assign_str(pool);
		__entry->size = size;
		__entry->align = align;
		__entry->latency_ns = latency_ns;
		__entry->migrated = migrated;
		__entry->cache = cache;
		__entry->tgid = tgid;
		__entry->errno = errno;
		__entry->attempts = attempts;
		__entry->id = id;
		__entry->by = by;
		__entry->warm = warm;
	),
	TP_printk("pool=%s size=%llu align=%llu cache=%s tgid=%d errno=%d latency_ns=%llu migrated=%llu attempts=%u warm=%d id=%u by=%d",
		  __get_str(pool), __entry->size, __entry->align,
		  cmabuf_show_cache(__entry->cache), __entry->tgid, __entry->errno,
		  __entry->latency_ns, __entry->migrated, __entry->attempts,
		  __entry->warm, __entry->id, __entry->by)
);

/*
 * A buffer freed (its dma-buf's last reference gone). stranded: its pages are still
 * referenced and stay out of the pool; cached: kept in the warm cache.
 */
TRACE_EVENT(cmabuf_free,
	TP_PROTO(const char *pool, u64 size, u64 lifetime_ns, bool stranded, bool cached,
		 u32 id),
	TP_ARGS(pool, size, lifetime_ns, stranded, cached, id),
	TP_STRUCT__entry(
		__string(pool, pool)
		__field(u64, size)
		__field(u64, lifetime_ns)
		__field(u32, id)
		__field(bool, stranded)
		__field(bool, cached)
	),
	TP_fast_assign(
		__assign_str(pool);
		__entry->size = size;
		__entry->lifetime_ns = lifetime_ns;
		__entry->id = id;
		__entry->stranded = stranded;
		__entry->cached = cached;
	),
	TP_printk("pool=%s size=%llu lifetime_ns=%llu stranded=%d cached=%d id=%u",
		  __get_str(pool), __entry->size, __entry->lifetime_ns,
		  __entry->stranded, __entry->cached, __entry->id)
);

/* A CMABUF_IOC_PREPARE call: runs of run_size bytes asked for, and its result. */
TRACE_EVENT(cmabuf_prepare,
	TP_PROTO(const char *pool, u64 run_size, u32 runs, s32 tgid, u64 duration_ns, s32 errno),
	TP_ARGS(pool, run_size, runs, tgid, duration_ns, errno),
	TP_STRUCT__entry(
		__string(pool, pool)
		__field(u64, run_size)
		__field(u64, duration_ns)
		__field(u32, runs)
		__field(s32, tgid)
		__field(s32, errno)
	),
	TP_fast_assign(
		__assign_str(pool);
		__entry->run_size = run_size;
		__entry->duration_ns = duration_ns;
		__entry->runs = runs;
		__entry->tgid = tgid;
		__entry->errno = errno;
	),
	TP_printk("pool=%s run_size=%llu runs=%u bytes=%llu tgid=%d duration_ns=%llu errno=%d",
		  __get_str(pool), __entry->run_size, __entry->runs,
		  __entry->run_size * __entry->runs, __entry->tgid,
		  __entry->duration_ns, __entry->errno)
);

/*
 * Why an allocation failed, as debugfs counts it (reason: no_room, limit, dmem, busy,
 * other). pfn: a page in the pool that could not be migrated (busy with a census that
 * found one), else -1.
 */
TRACE_EVENT(cmabuf_alloc_fail,
	TP_PROTO(const char *pool, u64 size, s32 tgid, s32 errno, const char *reason, s64 pfn,
		 u32 attempts),
	TP_ARGS(pool, size, tgid, errno, reason, pfn, attempts),
	TP_STRUCT__entry(
		__string(pool, pool)
		__string(reason, reason)
		__field(u64, size)
		__field(s64, pfn)
		__field(s32, tgid)
		__field(s32, errno)
		__field(u32, attempts)
	),
	TP_fast_assign(
		__assign_str(pool);
		__assign_str(reason);
		__entry->size = size;
		__entry->pfn = pfn;
		__entry->tgid = tgid;
		__entry->errno = errno;
		__entry->attempts = attempts;
	),
	TP_printk("pool=%s size=%llu tgid=%d errno=%d reason=%s pfn=%lld attempts=%u",
		  __get_str(pool), __entry->size, __entry->tgid, __entry->errno,
		  __get_str(reason), __entry->pfn, __entry->attempts)
);

/*
 * The warm cache served an allocation: zeroed says the run was zeroed already (no
 * zeroing in the allocation), prepared that it came from CMABUF_IOC_PREPARE.
 */
TRACE_EVENT(cmabuf_cache_hit,
	TP_PROTO(const char *pool, u64 size, bool zeroed, bool prepared),
	TP_ARGS(pool, size, zeroed, prepared),
	TP_STRUCT__entry(
		__string(pool, pool)
		__field(u64, size)
		__field(bool, zeroed)
		__field(bool, prepared)
	),
	TP_fast_assign(
		__assign_str(pool);
		__entry->size = size;
		__entry->zeroed = zeroed;
		__entry->prepared = prepared;
	),
	TP_printk("pool=%s size=%llu zeroed=%d prepared=%d", __get_str(pool),
		  __entry->size, __entry->zeroed, __entry->prepared)
);

/* The warm cache held runs, none of which served an allocation of size bytes. */
TRACE_EVENT(cmabuf_cache_miss,
	TP_PROTO(const char *pool, u64 size, u32 cached_runs),
	TP_ARGS(pool, size, cached_runs),
	TP_STRUCT__entry(
		__string(pool, pool)
		__field(u64, size)
		__field(u32, cached_runs)
	),
	TP_fast_assign(
		__assign_str(pool);
		__entry->size = size;
		__entry->cached_runs = cached_runs;
	),
	TP_printk("pool=%s size=%llu cached_runs=%u", __get_str(pool), __entry->size,
		  __entry->cached_runs)
);

/* The background work zeroed a freed run in the warm cache (ok=0: interrupted). */
TRACE_EVENT(cmabuf_cache_zeroed,
	TP_PROTO(const char *pool, u64 size, u64 duration_ns, bool ok),
	TP_ARGS(pool, size, duration_ns, ok),
	TP_STRUCT__entry(
		__string(pool, pool)
		__field(u64, size)
		__field(u64, duration_ns)
		__field(bool, ok)
	),
	TP_fast_assign(
		__assign_str(pool);
		__entry->size = size;
		__entry->duration_ns = duration_ns;
		__entry->ok = ok;
	),
	TP_printk("pool=%s size=%llu duration_ns=%llu ok=%d", __get_str(pool),
		  __entry->size, __entry->duration_ns, __entry->ok)
);

/*
 * A cached run went back to the CMA area; reason as debugfs counts it: idle, for_room,
 * unbind, dropped, for_memory.
 */
TRACE_EVENT(cmabuf_cache_release,
	TP_PROTO(const char *pool, u64 size, const char *reason, bool prepared),
	TP_ARGS(pool, size, reason, prepared),
	TP_STRUCT__entry(
		__string(pool, pool)
		__string(reason, reason)
		__field(u64, size)
		__field(bool, prepared)
	),
	TP_fast_assign(
		__assign_str(pool);
		__assign_str(reason);
		__entry->size = size;
		__entry->prepared = prepared;
	),
	TP_printk("pool=%s size=%llu reason=%s prepared=%d", __get_str(pool),
		  __entry->size, __get_str(reason), __entry->prepared)
);

#endif /* _CMABUF_TRACE_H */

/* Out of tree: the header is found through Kbuild's -I$(src)/rust/ffi. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE cmabuf_trace
#include <trace/define_trace.h>
