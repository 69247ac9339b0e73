// SPDX-License-Identifier: GPL-2.0

//! Reading and checking a `cmabuf,pool` node's device-tree description.
//!
//! Each check that fails prints one `dev_err` line saying what to change in the device
//! tree, and probe fails with nothing left behind.

use crate::ffi::{
    RegionNode,
    ReservedRegion, //
};
use kernel::{
    device::Device,
    prelude::*,
    str::CString, //
};

/// Longest pool name (the part after `/dev/cmabuf-`).
pub(crate) const MAX_NAME_LEN: usize = 32;

/// Longest dma-heap name (the part after `/dev/dma_heap/`).
pub(crate) const MAX_HEAP_NAME_LEN: usize = 32;

/// The device-tree property that names a pool's dma-heap.
const HEAP_NAME_PROPERTY: &CStr = c"cmabuf,heap-name";

/// A validated `cmabuf,pool` node: which region it serves and under which name.
pub(crate) struct PoolSpec {
    /// The pool's name: the node's `label`, else the region's node name without unit address.
    pub(crate) name: CString,
    /// The name of the pool's dma-heap (`/dev/dma_heap/<heap_name>`, with `dma_heap=1`):
    /// the node's `cmabuf,heap-name`, else the pool's name.
    pub(crate) heap_name: CString,
    /// The reserved-memory region, as the reserved-memory core recorded it at boot.
    pub(crate) region: ReservedRegion,
    /// Limits on what the pool hands out.
    pub(crate) limits: Limits,
    /// Bytes of the pool's small-buffer arena: the module parameter
    /// `small_arena_bytes` if set, else the node's `cmabuf,small-arena-bytes` (0: none).
    pub(crate) small_arena_bytes: u64,
}

/// Limits on a pool's buffers; 0 means no limit.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Bytes in live buffers of the pool.
    pub(crate) max_bytes: u64,
    /// Live buffers of the pool.
    pub(crate) max_buffers: u64,
    /// Bytes in live buffers one process (thread group) allocated.
    pub(crate) max_process_bytes: u64,
    /// Live buffers one process allocated.
    pub(crate) max_process_buffers: u64,
}

impl Limits {
    /// `self`, with each limit that `overrides` sets (non-zero) replaced.
    pub(crate) fn overridden_by(self, overrides: Limits) -> Limits {
        let pick = |own: u64, other: u64| if other != 0 { other } else { own };
        Limits {
            max_bytes: pick(self.max_bytes, overrides.max_bytes),
            max_buffers: pick(self.max_buffers, overrides.max_buffers),
            max_process_bytes: pick(self.max_process_bytes, overrides.max_process_bytes),
            max_process_buffers: pick(self.max_process_buffers, overrides.max_process_buffers),
        }
    }
}

/// The device-tree properties that set [`Limits`], in field order.
const LIMIT_PROPERTIES: [&CStr; 4] = [
    c"cmabuf,max-bytes",
    c"cmabuf,max-buffers",
    c"cmabuf,max-process-bytes",
    c"cmabuf,max-process-buffers",
];

impl PoolSpec {
    /// Reads and checks `dev`'s node; prints what to fix and fails if it is not usable.
    pub(crate) fn from_device(dev: &Device) -> Result<Self> {
        let node = region_node(dev)?;
        let region_name = node.full_name();
        check_region_node(dev, &node, region_name)?;
        let Some(region) = node.reserved()? else {
            dev_err!(
                dev,
                "memory-region {} was not set up as reserved memory at boot: check the 'Reserved memory:' lines in dmesg (base and size must be aligned to the CMA pageblock size)\n",
                region_name
            );
            return Err(ENODEV);
        };
        let name = pool_name(dev, &region.name)?;
        let heap_name = heap_name(dev, &name)?;
        let limits = read_limits(dev)?.overridden_by(crate::params::limit_parameters());
        // Checked even when the module parameter overrides it.
        let dt_arena_bytes = read_arena_bytes(dev, region.size)?;
        let small_arena_bytes = match crate::params::small_arena_bytes() {
            0 => dt_arena_bytes,
            bytes => bytes,
        };
        Ok(Self {
            name,
            heap_name,
            region,
            limits,
            small_arena_bytes,
        })
    }
}

/// The node's property `name`, one u32 cell or a `/bits/ 64` value; 0 if absent.
/// `zero` says what 0 means, for the line printed when it is neither width.
fn read_u32_or_u64(dev: &Device, name: &CStr, zero: &str) -> Result<u64> {
    let fwnode = dev.fwnode().ok_or(ENODEV)?;
    if !fwnode.property_present(name) {
        return Ok(0);
    }
    match fwnode.property_count_elem::<u32>(name) {
        Ok(1) => Ok(fwnode.property_read::<u32>(name).required_by(dev)?.into()),
        Ok(2) => fwnode.property_read::<u64>(name).required_by(dev),
        _ => {
            dev_err!(
                dev,
                "'{}' must be one u32 cell or a /bits/ 64 value (0 = {})\n",
                name,
                zero
            );
            Err(EINVAL)
        }
    }
}

/// The limits the node's `cmabuf,max-*` properties set (each a u32 or a u64).
fn read_limits(dev: &Device) -> Result<Limits> {
    let mut values = [0u64; 4];
    for (value, name) in values.iter_mut().zip(LIMIT_PROPERTIES) {
        *value = read_u32_or_u64(dev, name, "no limit")?;
    }
    let [max_bytes, max_buffers, max_process_bytes, max_process_buffers] = values;
    Ok(Limits {
        max_bytes,
        max_buffers,
        max_process_bytes,
        max_process_buffers,
    })
}

/// The device-tree property that sizes a pool's small-buffer arena.
const ARENA_PROPERTY: &CStr = c"cmabuf,small-arena-bytes";

/// The node's `cmabuf,small-arena-bytes` (a u32 or a u64; 0 or absent: no arena): whole
/// pages, at most a quarter of the region (`region_size` bytes).
fn read_arena_bytes(dev: &Device, region_size: u64) -> Result<u64> {
    let bytes = read_u32_or_u64(dev, ARENA_PROPERTY, "no arena")?;
    if !crate::params::whole_pages(bytes) {
        dev_err!(
            dev,
            "'{}' = {} is not a multiple of the page size ({} bytes): round it to whole pages\n",
            ARENA_PROPERTY,
            crate::ffi::decimal::dec(bytes),
            kernel::page::PAGE_SIZE
        );
        return Err(EINVAL);
    }
    if bytes > region_size >> 2 {
        dev_err!(
            dev,
            "'{}' = {} is more than a quarter of the region ({} bytes): the arena holds buffers of at most 64 KiB; size it a little above debugfs arena_peak_used\n",
            ARENA_PROPERTY,
            crate::ffi::decimal::dec(bytes),
            crate::ffi::decimal::dec(region_size)
        );
        return Err(EINVAL);
    }
    Ok(bytes)
}

/// The one node that `dev`'s `memory-region` points at.
fn region_node(dev: &Device) -> Result<RegionNode> {
    match RegionNode::count(dev) {
        None | Some(0) => {
            dev_err!(
                dev,
                "missing or empty 'memory-region': point it at a reserved-memory node with compatible = \"shared-dma-pool\" and 'reusable'\n"
            );
            return Err(EINVAL);
        }
        Some(1) => (),
        Some(n) => {
            dev_err!(
                dev,
                "'memory-region' lists {} regions: a cmabuf,pool node serves exactly one, add one node per region\n",
                n
            );
            return Err(EINVAL);
        }
    }
    RegionNode::get(dev, 0).ok_or_else(|| {
        dev_err!(
            dev,
            "'memory-region' does not point at a device-tree node: fix the phandle\n"
        );
        EINVAL
    })
}

/// Checks that the region node describes a CMA area cmabuf may own.
fn check_region_node(dev: &Device, node: &RegionNode, name: &CStr) -> Result {
    if !node.is_available() {
        dev_err!(
            dev,
            "memory-region {} has status \"disabled\": enable it or drop this node\n",
            name
        );
        return Err(ENODEV);
    }
    if !node.is_compatible(c"shared-dma-pool") {
        dev_err!(
            dev,
            "memory-region {} is not compatible = \"shared-dma-pool\": cmabuf serves CMA pools only\n",
            name
        );
        return Err(EINVAL);
    }
    if node.has_property(c"no-map") {
        dev_err!(
            dev,
            "memory-region {} has 'no-map': the system could never use that memory; replace 'no-map' with 'reusable'\n",
            name
        );
        return Err(EINVAL);
    }
    if !node.has_property(c"reusable") {
        dev_err!(
            dev,
            "memory-region {} lacks 'reusable': without it the region is a fixed DMA pool, not CMA; add 'reusable'\n",
            name
        );
        return Err(EINVAL);
    }
    if node.has_property(c"linux,cma-default") {
        dev_err!(
            dev,
            "memory-region {} is the system's default CMA area (linux,cma-default): give cmabuf a region of its own\n",
            name
        );
        return Err(EINVAL);
    }
    Ok(())
}

/// The pool's name from the node's `label`, or else from the region's node name.
fn pool_name(dev: &Device, region_name: &CStr) -> Result<CString> {
    let fwnode = dev.fwnode().ok_or(ENODEV)?;
    if fwnode.property_present(c"label") {
        let label: CString = fwnode.property_read(c"label").required_by(dev)?;
        if !is_valid_name(label.to_bytes()) {
            dev_err!(
                dev,
                "label \"{}\" is not a valid pool name: use 1 to {} characters from a-z, 0-9, '-' and '_'\n",
                &*label,
                MAX_NAME_LEN
            );
            return Err(EINVAL);
        }
        if is_module_entry(label.to_bytes()) {
            dev_err!(
                dev,
                "label \"{}\" names a module-wide file in /sys/kernel/debug/cmabuf: choose another label\n",
                &*label
            );
            return Err(EINVAL);
        }
        return Ok(label);
    }
    let base = node_base_name(region_name.to_bytes());
    if !is_valid_name(base) {
        dev_err!(
            dev,
            "region name {} does not make a valid pool name: set 'label' (1 to {} characters from a-z, 0-9, '-' and '_')\n",
            region_name,
            MAX_NAME_LEN
        );
        return Err(EINVAL);
    }
    if is_module_entry(base) {
        dev_err!(
            dev,
            "region name {} makes a pool name that names a module-wide file in /sys/kernel/debug/cmabuf: set 'label' to another name\n",
            region_name
        );
        return Err(EINVAL);
    }
    // Validated ASCII above, so this cannot fail.
    let base = core::str::from_utf8(base).map_err(|_| EINVAL)?;
    CString::try_from_fmt(fmt!("{base}"))
}

/// The pool's dma-heap name: the node's `cmabuf,heap-name`, else the pool's name. Checked
/// whether or not `dma_heap=1`, so that a bad name shows before the heaps are wanted.
fn heap_name(dev: &Device, pool_name: &CStr) -> Result<CString> {
    let fwnode = dev.fwnode().ok_or(ENODEV)?;
    if !fwnode.property_present(HEAP_NAME_PROPERTY) {
        return Ok(CString::try_from(pool_name)?);
    }
    let name: CString = fwnode.property_read(HEAP_NAME_PROPERTY).required_by(dev)?;
    if !is_valid_heap_name(name.to_bytes()) {
        dev_err!(
            dev,
            "'{}' \"{}\" is not a valid dma-heap name: use 1 to {} characters from a-z, A-Z, 0-9, '_', '-', '.', ',' and '+', starting with a letter, digit or '_'\n",
            HEAP_NAME_PROPERTY,
            &*name,
            MAX_HEAP_NAME_LEN
        );
        return Err(EINVAL);
    }
    Ok(name)
}

/// Whether `name` may name a dma-heap: it becomes the file name `/dev/dma_heap/<name>`
/// and a sysfs directory, and udev rules and scripts match it, so: no '/', no leading
/// '.' or '-', nothing unprintable or blank.
fn is_valid_heap_name(name: &[u8]) -> bool {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"_-.,+".contains(&b);
    (1..=MAX_HEAP_NAME_LEN).contains(&name.len())
        && (name[0].is_ascii_alphanumeric() || name[0] == b'_')
        && name.iter().all(|&b| allowed(b))
}

/// A node name without its unit address: `camera-pool@58000000` -> `camera-pool`.
fn node_base_name(name: &[u8]) -> &[u8] {
    match name.iter().position(|&b| b == b'@') {
        Some(at) => &name[..at],
        None => name,
    }
}

/// Whether `name` may follow `cmabuf-` in `/dev` and name a debugfs directory.
fn is_valid_name(name: &[u8]) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether `name` is taken by a module-wide entry of `/sys/kernel/debug/cmabuf/` (the
/// pool's debugfs directory would collide with it). `default`, the default-area pool's
/// name, is claimed in the registry like any pool's name.
fn is_module_entry(name: &[u8]) -> bool {
    crate::report::MODULE_ENTRIES
        .iter()
        .any(|entry| entry.to_bytes() == name)
}

#[kunit_tests(cmabuf_region)]
mod tests {
    use super::*;

    #[test]
    fn parameters_override_only_what_they_set() {
        let dt = Limits {
            max_bytes: 10,
            max_buffers: 2,
            max_process_bytes: 0,
            max_process_buffers: 1,
        };
        let params = Limits {
            max_bytes: 0,
            max_buffers: 5,
            max_process_bytes: 7,
            max_process_buffers: 0,
        };
        let both = dt.overridden_by(params);
        assert_eq!(both.max_bytes, 10);
        assert_eq!(both.max_buffers, 5);
        assert_eq!(both.max_process_bytes, 7);
        assert_eq!(both.max_process_buffers, 1);
        assert_eq!(dt.overridden_by(Limits::default()), dt);
    }

    #[test]
    fn base_name_drops_unit_address() {
        assert_eq!(node_base_name(b"camera-pool@58000000"), b"camera-pool");
        assert_eq!(node_base_name(b"display"), b"display");
        assert_eq!(node_base_name(b"@1000"), b"");
    }

    #[test]
    fn valid_names() {
        assert!(is_valid_name(b"camera"));
        assert!(is_valid_name(b"isp_0-raw"));
        assert!(is_valid_name(&[b'a'; MAX_NAME_LEN]));
    }

    #[test]
    fn module_entries_are_not_pool_names() {
        assert!(is_module_entry(b"zones"));
        assert!(is_module_entry(b"vmstat"));
        assert!(is_module_entry(b"fail_alloc"));
        assert!(is_module_entry(b"mapping"));
        assert!(!is_module_entry(b"zone"));
        assert!(!is_module_entry(b"camera"));
        assert!(!is_module_entry(b"default"));
    }

    #[test]
    fn invalid_names() {
        assert!(!is_valid_name(b""));
        assert!(!is_valid_name(&[b'a'; MAX_NAME_LEN + 1]));
        assert!(!is_valid_name(b"Camera"));
        assert!(!is_valid_name(b"cam/era"));
        assert!(!is_valid_name(b"cam era"));
        assert!(!is_valid_name(b"cam@1"));
        assert!(!is_valid_name(b"../x"));
    }

    #[test]
    fn valid_heap_names() {
        assert!(is_valid_heap_name(b"camera"));
        assert!(is_valid_heap_name(b"linux,cma"));
        assert!(is_valid_heap_name(b"Display.0+scanout_1-x"));
        assert!(is_valid_heap_name(b"_private"));
        assert!(is_valid_heap_name(&[b'a'; MAX_HEAP_NAME_LEN]));
    }

    #[test]
    fn invalid_heap_names() {
        assert!(!is_valid_heap_name(b""));
        assert!(!is_valid_heap_name(&[b'a'; MAX_HEAP_NAME_LEN + 1]));
        assert!(!is_valid_heap_name(b"cam/era"));
        assert!(!is_valid_heap_name(b".hidden"));
        assert!(!is_valid_heap_name(b".."));
        assert!(!is_valid_heap_name(b"-camera"));
        assert!(!is_valid_heap_name(b"cam era"));
        assert!(!is_valid_heap_name(b"cam\tera"));
        assert!(!is_valid_heap_name(b"cam\x7fera"));
        assert!(!is_valid_heap_name(b"cam\xc3\xa9ra"));
        assert!(!is_valid_heap_name(b"pool@58000000"));
    }
}
