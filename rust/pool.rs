// SPDX-License-Identifier: GPL-2.0

//! The pools: one per bound `cmabuf,pool` node, and optionally the system's default CMA
//! area. Each has an allocator, `/dev/cmabuf-<name>` (with its sysfs files,
//! `/sys/class/misc/cmabuf-<name>/`) and a debugfs directory.

use crate::{
    allocator::{
        self,
        Allocator, //
    },
    chardev::PoolFile,
    ffi::{
        self,
        debugfs::{
            Dir,
            File,
            RecordsFile, //
        },
        decimal::dec,
        CacheShrinker,
        CmaArea,
        MiscRegistration,
        ReservedMemAssignment, //
    },
    heap::HeapFace,
    region::PoolSpec,
    registry, //
};
use kernel::{
    device::Device,
    faux,
    prelude::*,
    str::CString,
    sync::Arc, //
};

/// File mode of `/dev/cmabuf-<name>`: owner and group (e.g. `video`) may allocate.
const DEVICE_MODE: u16 = 0o660;

/// What user space sees of a pool: `/dev/cmabuf-<name>` with its sysfs files, debugfs
/// and, with `dma_heap=1`, `/dev/dma_heap/<heap name>`. Fields drop in order: the heap
/// stops serving first, then the device node goes. The allocator lives on while buffers
/// hold it.
///
/// The sysfs files go with `misc`: `misc_deregister` removes them and waits for every
/// read in progress, and `misc` holds its own reference to the allocator, dropped only
/// after that, so a read never sees a freed allocator (`ffi/sysfs.rs`). A read between
/// `_unbind` and `misc` sees the unbound allocator, whose counters are still valid.
#[pin_data]
pub(crate) struct Frontend {
    _shrinker: CacheShrinker<Allocator>,
    _unbind: Unbinder,
    heap: Option<HeapFace>,
    #[pin]
    misc: MiscRegistration<PoolFile>,
    _files: PoolFiles,
    _debugfs: Dir,
    allocator: Arc<Allocator>,
}

impl Frontend {
    /// Publishes `allocator` (served by `dev`) as `/dev/cmabuf-<name>` and in debugfs.
    fn new(dev: &Device, allocator: Arc<Allocator>) -> Result<impl PinInit<Self, Error>> {
        let dev_name = CString::try_from_fmt(fmt!("cmabuf-{}", &*allocator.name))?;
        let debugfs = registry::debugfs_dir(&allocator.name);
        let heap = HeapFace::publish(dev, &allocator)?;
        let shrinker = CacheShrinker::register(&allocator.name, allocator.clone())?;
        let files = PoolFiles::new(&debugfs, &allocator)?;
        Ok(try_pin_init!(Self {
            _shrinker: shrinker,
            _unbind: Unbinder(allocator.clone()),
            heap,
            _files: files,
            misc <- MiscRegistration::register(dev_name, DEVICE_MODE, allocator.clone()),
            _debugfs: debugfs,
            allocator,
        }? Error))
    }

    /// Says once, when everything is in place, what the pool serves.
    fn log_ready(&self, dev: &Device) {
        let a = &self.allocator;
        dev_info!(
            dev,
            "pool {}: /dev/{}, CMA area {} at {:#x}, {} MiB\n",
            &*a.name,
            self.misc.name(),
            &*a.region,
            a.base.unwrap_or(0),
            dec(a.size >> 20)
        );
        if let Some(heap) = &self.heap {
            dev_info!(
                dev,
                "pool {}: also /dev/dma_heap/{}\n",
                &*a.name,
                heap.name()
            );
        }
    }

    /// The pool's device name, without `/dev/`.
    pub(crate) fn device_name(&self) -> &CStr {
        self.misc.name()
    }
}

/// A pool's debugfs files, `/sys/kernel/debug/cmabuf/<name>/*`; each open one pins the
/// module.
struct PoolFiles {
    _info: File<Arc<Allocator>>,
    _buffers: RecordsFile<Arc<Allocator>>,
    _latency: File<Arc<Allocator>>,
    _profile: File<Arc<Allocator>>,
    _last_failure: File<Arc<Allocator>>,
    _occupancy: File<Arc<Allocator>>,
    _cache: File<Arc<Allocator>>,
}

impl PoolFiles {
    fn new(dir: &Dir, a: &Arc<Allocator>) -> Result<Self> {
        Ok(Self {
            _info: dir.read_file(c"info", a.clone(), |a, f| a.write_info(f))?,
            _buffers: dir.records_file(
                c"buffers",
                a.clone(),
                |a, f| a.write_buffers_header(f),
                |a, from| a.buffer_from(from),
                |a, id, f| a.write_buffer(id, f),
            )?,
            _latency: dir.read_write_file(
                c"latency",
                a.clone(),
                |a, f| a.write_latency(f),
                |a, input| crate::report::reset_command(input, || a.reset_latency()),
            )?,
            _profile: dir.read_write_file(
                c"profile",
                a.clone(),
                |a, f| a.write_profile(f),
                |a, input| crate::report::reset_command(input, || a.reset_profile()),
            )?,
            _last_failure: dir
                .read_file(c"last_failure", a.clone(), |a, f| a.write_last_failure(f))?,
            _occupancy: dir.read_file(c"occupancy", a.clone(), |a, f| a.write_occupancy(f))?,
            _cache: dir.read_write_file(
                c"cache",
                a.clone(),
                |a, f| a.write_cache(f),
                |a, input| crate::report::word_command(input, b"drop", || a.drop_cache()),
            )?,
        })
    }
}

/// Tells the allocator its pool is unbound when the front end goes: the warm cache goes
/// back to the system and the device is let go, while buffers may keep the allocator.
struct Unbinder(Arc<Allocator>);

impl Drop for Unbinder {
    fn drop(&mut self) {
        self.0.unbind();
    }
}

/// A pool bound to a `cmabuf,pool` node. The region's assignment to the device is
/// released last.
#[pin_data]
pub(crate) struct Pool {
    #[pin]
    frontend: Frontend,
    _region: ReservedMemAssignment,
}

impl Pool {
    /// Binds `dev`: checks its device tree, takes its region and registers the pool.
    pub(crate) fn new(dev: &Device) -> impl PinInit<Self, Error> + '_ {
        pin_init::pin_init_scope(move || {
            let spec = PoolSpec::from_device(dev)?;
            let claim = registry::claim(dev, &spec.region.name, &spec.name, &spec.heap_name)?;
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
            let allocator = Allocator::create(dev, spec.into(), cma, claim)?;
            Ok(try_pin_init!(Self {
                frontend <- Frontend::new(dev, allocator)?,
                _region: region,
            }? Error)
            .pin_chain(move |pool| {
                pool.frontend.log_ready(dev);
                Ok(())
            }))
        })
    }

    /// The pool's device name, without `/dev/`.
    pub(crate) fn device_name(&self) -> &CStr {
        self.frontend.device_name()
    }
}

/// The system's default CMA area as `/dev/cmabuf-default` (module parameter
/// `default_pool`), on a faux device; for boards whose device tree cannot change.
#[pin_data]
pub(crate) struct DefaultPool {
    #[pin]
    frontend: Frontend,
    device: faux::Registration,
}

impl DefaultPool {
    /// Serves up to `budget` bytes of the default CMA area.
    pub(crate) fn new(budget: u64) -> Result<impl PinInit<Self, Error>> {
        let Some(cma) = CmaArea::default_area() else {
            pr_err!(
                "default_pool: this kernel has no default CMA area: boot with cma=<size> or set CONFIG_CMA_SIZE_MBYTES\n"
            );
            return Err(ENODEV);
        };
        let device = faux::Registration::new(c"cmabuf-default", None)?;
        let dev: &Device = ffi::faux_device(&device);
        // Buffers are written back from the CPU caches through the DMA API on this device.
        ffi::set_dma_mask_all(dev)?;
        let claim = registry::claim(dev, cma.name(), c"default", c"default")?;
        let spec = allocator::Spec {
            name: CString::try_from(c"default")?,
            heap_name: CString::try_from(c"default")?,
            region: CString::try_from(cma.name())?,
            base: None,
            size: budget,
            limits: crate::params::limit_parameters(),
            // The default area's pool has no place known to cmabuf: no arena.
            small_arena_bytes: 0,
        };
        let allocator = Allocator::create(dev, spec, cma, claim)?;
        let frontend = Frontend::new(dev, allocator)?;
        Ok(try_pin_init!(Self {
            frontend <- frontend,
            device,
        }? Error)
        .pin_chain(|pool| {
            pool.frontend.log_ready(ffi::faux_device(&pool.device));
            Ok(())
        }))
    }
}
