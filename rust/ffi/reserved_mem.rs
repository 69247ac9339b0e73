// SPDX-License-Identifier: GPL-2.0

//! A device's assignment to its reserved-memory region (`drivers/of/of_reserved_mem.c`).

use super::{
    raw_device,
    sys,
    CmaArea, //
};
use kernel::{
    device::Device,
    error::to_result,
    prelude::*,
    sync::aref::ARef, //
};

/// The reserved-memory region of entry 0 of a device's `memory-region`, assigned to the
/// device with `of_reserved_mem_device_init_by_idx` and released on drop.
///
/// # Invariants
///
/// The region named by `dev`'s `memory-region` entry 0 is assigned to `dev` for the
/// lifetime of this object.
pub(crate) struct ReservedMemAssignment {
    dev: ARef<Device>,
}

impl ReservedMemAssignment {
    /// Assigns the region named by entry 0 of `dev`'s `memory-region` property to `dev`.
    ///
    /// For a reusable `shared-dma-pool` this makes the region's CMA area the device's
    /// own CMA area.
    pub(crate) fn new(dev: &Device) -> Result<Self> {
        let raw = raw_device(dev);
        // SAFETY: `raw` is a valid device with a valid OF node (it matched an OF table).
        to_result(unsafe { sys::of_reserved_mem_device_init_by_idx(raw, (*raw).of_node, 0) })?;
        // INVARIANT: The assignment succeeded; `Drop` undoes it.
        Ok(Self { dev: dev.into() })
    }

    /// The CMA area the assignment gave the device, if the region is a CMA area.
    pub(crate) fn cma_area(&self) -> Option<CmaArea> {
        // SAFETY: The device is valid (we hold a reference); the helper reads one field.
        let cma = unsafe { sys::cmabuf_dev_cma_area(raw_device(&self.dev)) };
        // SAFETY: `dev->cma_area` is NULL or a CMA area set up by the CMA core.
        unsafe { CmaArea::from_raw(cma) }
    }
}

impl Drop for ReservedMemAssignment {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the region is assigned to `dev`; this releases it.
        unsafe { sys::of_reserved_mem_device_release(raw_device(&self.dev)) };
    }
}
