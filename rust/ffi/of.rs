// SPDX-License-Identifier: GPL-2.0

//! The reserved-memory node a device's `memory-region` property points at.

use super::{
    raw_device,
    sys, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    device::Device,
    prelude::*,
    str::CString, //
};

/// A device-tree node named by a device's `memory-region` property.
///
/// # Invariants
///
/// `self.0` points to a valid `struct device_node` and this object owns one reference
/// to it, dropped with `of_node_put`.
pub(crate) struct RegionNode(NonNull<bindings::device_node>);

// SAFETY: Device-tree nodes are reference counted and may be used and put from any thread.
unsafe impl Send for RegionNode {}
// SAFETY: All methods only read the node through functions that take the DT locks.
unsafe impl Sync for RegionNode {}

/// What the reserved-memory core knows about a region (`struct reserved_mem`).
pub(crate) struct ReservedRegion {
    /// The region's node name, also the name of its CMA area.
    pub(crate) name: CString,
    /// Physical base address.
    pub(crate) base: u64,
    /// Size in bytes.
    pub(crate) size: u64,
}

impl RegionNode {
    /// The number of phandles in `dev`'s `memory-region` property, or `None` if the
    /// property is missing or malformed.
    pub(crate) fn count(dev: &Device) -> Option<usize> {
        // SAFETY: `raw_device` returns a valid device; the helper only reads its OF node.
        let n = unsafe { sys::cmabuf_region_count(raw_device(dev)) };
        usize::try_from(n).ok()
    }

    /// The node that entry `idx` of `dev`'s `memory-region` property points at.
    pub(crate) fn get(dev: &Device, idx: u32) -> Option<Self> {
        let idx = i32::try_from(idx).ok()?;
        // SAFETY: `raw_device` returns a valid device. On success the helper returns a
        // node with its refcount raised, which the new object owns.
        let np = unsafe { sys::cmabuf_region_node(raw_device(dev), idx) };
        // INVARIANT: A non-NULL node carries the reference taken by `of_parse_phandle`.
        NonNull::new(np).map(Self)
    }

    /// The node's full name, e.g. `camera-pool@58000000`.
    pub(crate) fn full_name(&self) -> &CStr {
        // SAFETY: The node is valid (type invariant); its name lives as long as the node,
        // which outlives `&self` because we hold a reference.
        unsafe { CStr::from_char_ptr(sys::cmabuf_node_full_name(self.0.as_ptr())) }
    }

    /// Whether the node has property `name` (with or without a value).
    pub(crate) fn has_property(&self, name: &CStr) -> bool {
        // SAFETY: The node is valid (type invariant) and `name` is NUL-terminated.
        unsafe { sys::cmabuf_node_has_property(self.0.as_ptr(), name.as_char_ptr()) }
    }

    /// Whether one of the node's `compatible` strings is `compat`.
    pub(crate) fn is_compatible(&self, compat: &CStr) -> bool {
        // SAFETY: The node is valid (type invariant) and `compat` is NUL-terminated.
        unsafe { bindings::of_device_is_compatible(self.0.as_ptr(), compat.as_char_ptr()) > 0 }
    }

    /// Whether the node's `status` says it may be used.
    pub(crate) fn is_available(&self) -> bool {
        // SAFETY: The node is valid (type invariant).
        unsafe { bindings::of_device_is_available(self.0.as_ptr()) }
    }

    /// The reserved-memory region made from this node at boot, if there is one.
    pub(crate) fn reserved(&self) -> Result<Option<ReservedRegion>> {
        let mut name = core::ptr::null();
        let (mut base, mut size) = (0u64, 0u64);
        let np = self.0.as_ptr();
        // SAFETY: The node is valid (type invariant) and the out-pointers point to locals.
        let ret = unsafe { sys::cmabuf_rmem_info(np, &mut name, &mut base, &mut size) };
        if ret != 0 {
            return Ok(None);
        }
        // SAFETY: On success `name` points to the region's NUL-terminated name, which the
        // reserved-memory core keeps for the kernel's lifetime.
        let name = unsafe { CStr::from_char_ptr(name) };
        Ok(Some(ReservedRegion {
            name: CString::try_from(name)?,
            base,
            size,
        }))
    }
}

impl Drop for RegionNode {
    fn drop(&mut self) {
        // SAFETY: By the type invariants we own one reference to the node.
        unsafe { bindings::of_node_put(self.0.as_ptr()) };
    }
}
