// SPDX-License-Identifier: GPL-2.0

//! A bound pool: its reserved-memory region, its CMA area, `/dev/cmabuf-<name>` and
//! its debugfs directory.

use crate::{
    chardev::PoolFile,
    ffi::{
        CmaArea,
        MiscRegistration,
        ReservedMemAssignment, //
    },
    region::PoolSpec,
    registry::{
        self,
        ClaimGuard, //
    },
};
use core::fmt;
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

/// What a pool is, shared by the driver, open files and debugfs.
pub(crate) struct PoolInfo {
    /// Pool name (`/dev/cmabuf-<name>`).
    pub(crate) name: CString,
    /// The reserved-memory node name, also the CMA area's name.
    pub(crate) region: CString,
    /// Physical base of the region.
    pub(crate) base: u64,
    /// Size of the region in bytes.
    pub(crate) size: u64,
    /// The platform device serving the pool.
    pub(crate) device: CString,
    /// The region's CMA area, the device's own.
    pub(crate) cma: CmaArea,
}

impl PoolInfo {
    /// `debugfs/cmabuf/<name>/info`: one `key: value` per line.
    fn write_info(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_fmt(fmt!("name: {}\n", &*self.name))?;
        f.write_fmt(fmt!("device: {}\n", &*self.device))?;
        f.write_fmt(fmt!("region: {}\n", &*self.region))?;
        f.write_fmt(fmt!("cma_area: {}\n", self.cma.name()))?;
        f.write_fmt(fmt!("base: {:#x}\n", self.base))?;
        f.write_fmt(fmt!("size: {}\n", self.size))
    }
}

/// A bound pool. Fields drop in order: the device node goes first, the region last.
#[pin_data]
pub(crate) struct Pool {
    #[pin]
    misc: MiscRegistration<PoolFile>,
    #[pin]
    info_file: File<Arc<PoolInfo>>,
    _debugfs: Dir,
    _claim: ClaimGuard,
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
            let info = Arc::new(
                PoolInfo {
                    device: CString::try_from(dev.name())?,
                    base: spec.region.base,
                    size: spec.region.size,
                    region: spec.region.name,
                    name: spec.name,
                    cma,
                },
                GFP_KERNEL,
            )?;
            let dev_name = CString::try_from_fmt(fmt!("cmabuf-{}", &*info.name))?;
            let debugfs = registry::debugfs_dir(&info.name);
            Ok(try_pin_init!(Self {
                info_file <- debugfs.read_callback_file(
                    c"info",
                    info.clone(),
                    &|i: &Arc<PoolInfo>, f| i.write_info(f)
                ),
                misc <- MiscRegistration::register(dev_name, DEVICE_MODE, info),
                _debugfs: debugfs,
                _claim: claim,
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
        let info = self.misc.data();
        dev_info!(
            dev,
            "pool {}: /dev/{}, region {} at {:#x}, {} MiB, reusable CMA\n",
            &*info.name,
            self.misc.name(),
            &*info.region,
            info.base,
            info.size >> 20
        );
    }

    /// The pool's device name, without `/dev/`.
    pub(crate) fn device_name(&self) -> &CStr {
        self.misc.name()
    }
}
