// SPDX-License-Identifier: GPL-2.0

//! A bound pool: its reserved-memory region, its allocator, `/dev/cmabuf-<name>` and
//! its debugfs directory.

use crate::{
    allocator::Allocator,
    chardev::PoolFile,
    ffi::{
        MiscRegistration,
        ReservedMemAssignment, //
    },
    region::PoolSpec,
    registry, //
};
use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    device::Device,
    prelude::*,
    str::CString,
    sync::Arc, //
};

/// File mode of `/dev/cmabuf-<name>`: owner and group (e.g. `video`) may allocate.
const DEVICE_MODE: u16 = 0o660;

/// A bound pool. Fields drop in order: the device node goes first; the region's
/// assignment to the device last. The allocator lives on while buffers hold it.
#[pin_data]
pub(crate) struct Pool {
    #[pin]
    misc: MiscRegistration<PoolFile>,
    #[pin]
    info_file: File<Arc<Allocator>>,
    _debugfs: Dir,
    allocator: Arc<Allocator>,
    _region: ReservedMemAssignment,
}

impl Pool {
    /// Binds `dev`: checks its device tree, takes its region and registers the pool.
    pub(crate) fn new(dev: &Device) -> impl PinInit<Self, Error> + '_ {
        pin_init::pin_init_scope(move || {
            let spec = PoolSpec::from_device(dev)?;
            let claim = registry::claim(dev, &spec.region.name, &spec.name)?;
            let region = ReservedMemAssignment::new(dev).inspect_err(|e| {
                dev_err!(
                    dev,
                    "could not attach memory-region {}: error {}\n",
                    &*spec.region.name,
                    e.to_errno()
                );
            })?;
            let cma = match region.cma_area() {
                Some(cma) if cma.name() == &*spec.region.name => cma,
                _ => {
                    dev_err!(
                        dev,
                        "memory-region {} gave this device no CMA area of its own: is it a reusable shared-dma-pool?\n",
                        &*spec.region.name
                    );
                    return Err(EINVAL);
                }
            };
            let dev_name = CString::try_from_fmt(fmt!("cmabuf-{}", &*spec.name))?;
            let debugfs = registry::debugfs_dir(&spec.name);
            let allocator = Arc::pin_init(
                Allocator::new(
                    dev,
                    spec.name,
                    spec.region.name,
                    spec.region.base,
                    spec.region.size,
                    spec.limits,
                    cma,
                    claim,
                )?,
                GFP_KERNEL,
            )?;
            Ok(try_pin_init!(Self {
                info_file <- debugfs.read_callback_file(
                    c"info",
                    allocator.clone(),
                    &|a: &Arc<Allocator>, f| a.write_info(f)
                ),
                misc <- MiscRegistration::register(dev_name, DEVICE_MODE, allocator.clone()),
                _debugfs: debugfs,
                allocator,
                _region: region,
            }? Error)
            .pin_chain(move |pool| {
                pool.log_bound(dev);
                Ok(())
            }))
        })
    }

    /// Says once, when everything is in place, what the pool serves.
    fn log_bound(&self, dev: &Device) {
        let a = &self.allocator;
        dev_info!(
            dev,
            "pool {}: /dev/{}, region {} at {:#x}, {} MiB, reusable CMA\n",
            &*a.name,
            self.misc.name(),
            &*a.region,
            a.base,
            a.size >> 20
        );
    }

    /// The pool's device name, without `/dev/`.
    pub(crate) fn device_name(&self) -> &CStr {
        self.misc.name()
    }
}
