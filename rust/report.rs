// SPDX-License-Identifier: GPL-2.0

//! Module-wide debugfs reports, next to the pools' directories:
//! `/sys/kernel/debug/cmabuf/zones`, `/sys/kernel/debug/cmabuf/vmstat` and
//! `/sys/kernel/debug/cmabuf/mapping`.

use crate::{
    ffi::{
        dcache,
        debugfs::{
            Dir,
            File, //
        },
        dma_buf,
        fault::FailAlloc,
        mm,
        VmEvents, //
    },
    uapi::CacheMode, //
};
use core::fmt;
use kernel::{
    prelude::*,
    uaccess::UserSliceReader, //
};

/// The names of the module-wide entries in `/sys/kernel/debug/cmabuf/`, beside the
/// pools' directories: no pool may have one of them as its name.
pub(crate) const MODULE_ENTRIES: [&CStr; 4] = [c"zones", c"vmstat", c"mapping", c"fail_alloc"];

/// The module-wide files; removed on drop. Each open one pins the module.
pub(crate) struct Reports {
    _zones: File<()>,
    _vmstat: File<VmEvents>,
    _mapping: File<()>,
    _fail_alloc: FailAlloc,
}

impl Reports {
    /// Creates the files in `root`; `vmstat` counts from now on as well as since boot.
    pub(crate) fn new(root: &Dir) -> Result<Self> {
        // The last, `fail_alloc`, is the fault-injection directory the C shim makes.
        let [zones, vmstat, mapping, _] = MODULE_ENTRIES;
        Ok(Self {
            _zones: root.read_file(zones, (), |(), f| write_zones(f))?,
            _vmstat: root.read_file(vmstat, mm::vm_events(), write_vmstat)?,
            _mapping: root.read_file(mapping, (), |(), f| write_mapping(f))?,
            _fail_alloc: FailAlloc::create(),
        })
    }
}

/// Every populated zone as a block of `key: value` lines, as `/proc/zoneinfo` counts
/// them (pages).
fn write_zones(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for z in mm::zones() {
        f.write_fmt(fmt!("zone: {} {}\n", z.nid, mm::zone_name(&z)))?;
        f.write_fmt(fmt!("managed: {}\n", z.managed))?;
        f.write_fmt(fmt!("present: {}\n", z.present))?;
        f.write_fmt(fmt!("spanned: {}\n", z.spanned))?;
        f.write_fmt(fmt!("start_pfn: {}\n", z.start_pfn))?;
        f.write_fmt(fmt!("free: {}\n", z.free))?;
        f.write_fmt(fmt!("free_cma: {}\n", z.free_cma))?;
        f.write_fmt(fmt!("min: {}\n", z.wmark_min))?;
        f.write_fmt(fmt!("low: {}\n", z.wmark_low))?;
        f.write_fmt(fmt!("high: {}\n", z.wmark_high))?;
        f.write_fmt(fmt!("boost: {}\n", z.boost))?;
        f.write_str("lowmem_reserve:")?;
        let zones = (z.nr_zones as usize).min(z.lowmem_reserve.len());
        for r in &z.lowmem_reserve[..zones] {
            f.write_fmt(fmt!(" {}", r))?;
        }
        f.write_str("\nfree_blocks_by_order:")?;
        let orders = (z.nr_orders as usize).min(z.free_blocks.len());
        for n in &z.free_blocks[..orders] {
            f.write_fmt(fmt!(" {}", n))?;
        }
        f.write_str("\n\n")?;
    }
    Ok(())
}

/// How buffers are mapped and kept coherent: the memory type of user mappings and of
/// importers' `vmap` per cache mode, the cache-maintenance device and what it did
/// (`Documentation/reliability.rst`).
fn write_mapping(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let d = dcache::status();
    let device = if d.present { "cmabuf-dcache" } else { "none" };
    f.write_fmt(fmt!("device: {}\n", device))?;
    f.write_fmt(fmt!("dma_mask_bits: {}\n", d.mask_bits))?;
    f.write_fmt(fmt!("coherent: {}\n", u32::from(d.coherent)))?;
    f.write_fmt(fmt!("cleans: {}\n", d.cleans))?;
    f.write_fmt(fmt!("clean_failures: {}\n", d.failures))?;
    f.write_fmt(fmt!("cpu_syncs_unattached: {}\n", d.syncs_unattached))?;
    let modes = [
        ("cached", CacheMode::Cached),
        ("writecombine", CacheMode::WriteCombine),
        ("uncached", CacheMode::Uncached),
    ];
    for (name, mode) in modes {
        let user = dma_buf::memtype(mode, false);
        f.write_fmt(fmt!("user_{}: {}\n", name, user.name()))?;
    }
    for (name, mode) in modes {
        let kernel = dma_buf::memtype(mode, true);
        f.write_fmt(fmt!("kernel_{}: {}\n", name, kernel.name()))?;
    }
    Ok(())
}

/// The migration, compaction and CMA counters since boot and since cmabuf loaded.
fn write_vmstat(at_load: &VmEvents, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let now = mm::vm_events();
    // Each counter by its name in /proc/vmstat: now, and at load.
    macro_rules! rows {
        ($($counter:ident),* $(,)?) => {
            [$((stringify!($counter), now.$counter, at_load.$counter)),*]
        };
    }
    let rows: [(&str, usize, usize); 11] = rows![
        pgmigrate_success,
        pgmigrate_fail,
        compact_migrate_scanned,
        compact_free_scanned,
        compact_isolated,
        compact_stall,
        compact_fail,
        compact_success,
        cma_alloc_success,
        cma_alloc_fail,
        oom_kill,
    ];
    f.write_str("# counter since_boot since_load (per pool: migrated_pages in <pool>/info)\n")?;
    for (name, boot, load) in rows {
        f.write_fmt(fmt!("{} {} {}\n", name, boot, boot.wrapping_sub(load)))?;
    }
    Ok(())
}

/// Runs `reset` if user space wrote `reset` (with or without a newline).
pub(crate) fn reset_command(input: &mut UserSliceReader, reset: impl FnOnce()) -> Result {
    word_command(input, b"reset", reset)
}

/// A debugfs write that must be `word` (with or without a newline) to run `action`.
pub(crate) fn word_command(
    input: &mut UserSliceReader,
    word: &[u8],
    action: impl FnOnce(),
) -> Result {
    let mut buf = [0u8; 16];
    let len = input.len();
    if len > buf.len() {
        return Err(EINVAL);
    }
    input.read_slice(&mut buf[..len])?;
    let given = buf[..len].strip_suffix(b"\n").unwrap_or(&buf[..len]);
    if given == word {
        action();
        Ok(())
    } else {
        Err(EINVAL)
    }
}
