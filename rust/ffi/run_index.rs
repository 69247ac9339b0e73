// SPDX-License-Identifier: GPL-2.0

//! An index of a pool's runs that answers "the lowest gap of at least N pages" in
//! O(log n): a maple tree (`lib/maple_tree.c`) with gap tracking (`MT_FLAGS_ALLOC_RANGE`,
//! as the mm's `vm_unmapped_area` uses), each run stored over its pages as a value
//! entry holding the run's id.
//!
//! The `kernel` crate's `MapleTreeAlloc` stores owned pointers and offers no gap search
//! without inserting; this wraps the few C calls the index needs. Indices are pages
//! from the pool's base (`unsigned long`, ample on 32-bit too: a 4 GiB pool has 2^20).
//! The caller serialises writers (the pool's ledger lock); the tree's own spinlock is
//! taken for each call, as `mtree_*` do.

use core::ptr;
use kernel::{
    bindings,
    error::to_result,
    prelude::*,
    types::Opaque, //
};

/// The runs of a pool, by pages from its base.
///
/// # Invariants
///
/// `tree` was initialised with `MT_FLAGS_ALLOC_RANGE` and holds only value entries
/// (`xa_mk_value`), never pointers: nothing to free but the tree's own nodes.
#[pin_data(PinnedDrop)]
pub(crate) struct RunIndex {
    #[pin]
    tree: Opaque<bindings::maple_tree>,
}

// SAFETY: The tree holds integers only, and every C call takes its internal lock.
unsafe impl Send for RunIndex {}
// SAFETY: As above: `&RunIndex` only makes locked calls into the tree.
unsafe impl Sync for RunIndex {}

/// `xa_mk_value(id)`: an entry the tree stores as is, never taken for a pointer. The
/// id is there for whoever reads the tree in a debugger; on 32-bit its top bit is lost.
fn value_entry(id: u32) -> *mut c_void {
    ((id as usize) << 1 | 1) as *mut c_void
}

/// A page index as the tree's `unsigned long` (pools are far below 2^32 pages).
fn index(page: u64) -> Result<usize> {
    usize::try_from(page).map_err(|_| EOVERFLOW)
}

impl RunIndex {
    /// An empty index.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: Initialises a maple tree in its pinned slot; `PinnedDrop` destroys
            // it before the memory goes.
            tree <- Opaque::ffi_init(|slot| unsafe {
                bindings::mt_init_flags(slot, bindings::MT_FLAGS_ALLOC_RANGE)
            }),
        })
    }

    /// Records run `id` over pages `first .. first + pages`; `EEXIST` if any of them is
    /// taken, `ENOMEM` without memory for the tree's nodes (`GFP_KERNEL`: may sleep).
    pub(crate) fn insert(&self, first: u64, pages: u64, id: u32) -> Result {
        let last = first
            .checked_add(pages)
            .and_then(|end| end.checked_sub(1))
            .filter(|_| pages > 0)
            .ok_or(EINVAL)?;
        // SAFETY: The tree is initialised (type invariant); a value entry owns nothing.
        to_result(unsafe {
            bindings::mtree_insert_range(
                self.tree.get(),
                index(first)?,
                index(last)?,
                value_entry(id),
                bindings::GFP_KERNEL,
            )
        })
    }

    /// Forgets the run that covers page `first`; says whether there was one. Never
    /// fails: erasing waits for memory if the tree must reshape.
    pub(crate) fn remove(&self, first: u64) -> bool {
        let Ok(first) = index(first) else {
            return false;
        };
        // SAFETY: The tree is initialised; the entry erased is a value, owning nothing.
        !unsafe { bindings::mtree_erase(self.tree.get(), first) }.is_null()
    }

    /// The lowest page `p >= min` such that pages `p .. p + size` are all free and end
    /// by `max` (inclusive); `None` if there is none.
    pub(crate) fn lowest_gap(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        let (min, max, size) = (index(min).ok()?, index(max).ok()?, index(size).ok()?);
        if size == 0 || min > max || max - min < size - 1 {
            return None;
        }
        let mut mas = bindings::ma_state {
            tree: self.tree.get(),
            index: 0,
            last: 0,
            node: ptr::null_mut(),
            status: bindings::maple_status_ma_start,
            min: 0,
            max: usize::MAX,
            alloc: ptr::null_mut(),
            mas_flags: 0,
            store_type: bindings::store_type_wr_invalid,
            ..Default::default()
        };
        // SAFETY: The tree is initialised; `ma_lock` is its spinlock, taken around the
        // search as `mtree_alloc_range` does, and `mas` (MA_STATE(mas, tree, 0, 0))
        // lives on this stack for the call only.
        let found = unsafe {
            let lock = &raw mut (*self.tree.get()).__bindgen_anon_1.ma_lock;
            bindings::spin_lock(lock.cast());
            let ret = bindings::mas_empty_area(&mut mas, min, max, size);
            bindings::spin_unlock(lock.cast());
            ret
        };
        (found == 0).then_some(mas.index as u64)
    }
}

#[pinned_drop]
impl PinnedDrop for RunIndex {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The tree is initialised and used no more; its entries are values, so
        // only its nodes are freed.
        unsafe { bindings::mtree_destroy(self.tree.get()) };
    }
}
