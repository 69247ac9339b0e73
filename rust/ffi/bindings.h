/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Input of scripts/gen-bindings.sh: the kernel headers whose functions cmabuf calls but
 * the kernel's Rust bindings leave out, and the module's own C shim.
 */
#include <linux/cgroup_dmem.h>
#include <linux/cma.h>
#include <linux/dma-heap.h>
#include <linux/dma-map-ops.h>
#include <linux/of_reserved_mem.h>

#include "shim.h"
#include "trace_events.h"
#include "sysfs_attrs.h"

/* The uAPI: rust/uapi.rs uses the structs and constants bindgen makes of it. */
#include <uapi/linux/cmabuf.h>
