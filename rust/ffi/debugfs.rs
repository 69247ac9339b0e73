// SPDX-License-Identifier: GPL-2.0

//! debugfs directories and `seq_file` text files whose file operations name this module
//! as their owner.
//!
//! The `kernel` crate's `kernel::debugfs` files have operations without an `owner`: an
//! open file does not pin the module, so `rmmod` succeeds under it and the file's
//! `release` (through debugfs's `full_proxy_release`) then runs in freed module memory.
//! Its operation tables are private to the `kernel` crate, so they cannot be copied with
//! an owner set (as [`super::misc`] does for misc devices). These files use two static
//! tables of this module instead, with `owner` set: debugfs takes a module reference in
//! `open` and drops it after `release`, so `rmmod` fails with `EWOULDBLOCK` while any of
//! them is open.
//!
//! The text comes from a plain function of the file's data, as with
//! `kernel::debugfs::Dir::read_callback_file`; a writable file also has a function that
//! takes what user space wrote. A file of records ([`Dir::records_file`]: one line per
//! buffer, say) is instead written one record at a time as it is read, keyed by a
//! number, so that its size and each read's cost do not grow with the number of records
//! (`seq_file`'s iterator: a partial read resumes at the next key). After removal (drop), debugfs refuses reads and writes
//! of files still open (`EIO`), so the data may go right after.

use super::sys;
use core::{
    fmt,
    ptr, //
};
use kernel::{
    bindings,
    prelude::*,
    seq_file::SeqFile,
    sync::Arc,
    uaccess::{
        UserPtr,
        UserSlice,
        UserSliceReader, //
    },
};

/// Writes a file's text from its data.
pub(crate) type ShowFn<T> = fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result;
/// Takes what user space wrote to a file; `Ok` consumes all of it.
pub(crate) type WriteFn<T> = fn(&T, &mut UserSliceReader) -> Result;
/// The key of the first record whose key is at least the one given, if any.
pub(crate) type NextFn<T> = fn(&T, u64) -> Option<u64>;
/// Writes the record of a key (nothing if it went since [`NextFn`] found it).
pub(crate) type RecordFn<T> = fn(&T, u64, &mut fmt::Formatter<'_>) -> fmt::Result;

/// A debugfs dentry, removed with everything below it on drop.
///
/// # Invariants
///
/// `dentry` is NULL, an error pointer, or a dentry this entry created and nothing else
/// removes; a parent entry is kept alive (and so not removed) while children exist.
struct Entry {
    dentry: *mut bindings::dentry,
    _parent: Option<Arc<Entry>>,
}

// SAFETY: A dentry may be removed from any thread; the pointer is only passed to debugfs.
unsafe impl Send for Entry {}
// SAFETY: `&Entry` only hands the pointer to debugfs functions, which lock internally.
unsafe impl Sync for Entry {}

impl Drop for Entry {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the dentry is ours, or NULL or an error pointer,
        // which `debugfs_remove` ignores. It waits for operations in progress to finish.
        unsafe { sys::cmabuf_debugfs_remove(self.dentry) };
    }
}

/// A debugfs directory; `None` if it could not be created (debugfs is best effort: the
/// files below it are then not created either).
#[derive(Clone)]
pub(crate) struct Dir(Option<Arc<Entry>>);

impl Dir {
    /// `/sys/kernel/debug/<name>`.
    pub(crate) fn new(name: &CStr) -> Self {
        Self::create(name, None)
    }

    /// `<this directory>/<name>`.
    pub(crate) fn subdir(&self, name: &CStr) -> Self {
        match &self.0 {
            Some(parent) => Self::create(name, Some(parent.clone())),
            None => Self(None),
        }
    }

    fn create(name: &CStr, parent: Option<Arc<Entry>>) -> Self {
        let parent_dentry = parent.as_ref().map_or(ptr::null_mut(), |p| p.dentry);
        // SAFETY: `name` is a C string; the parent is NULL (the debugfs root), an error
        // pointer (debugfs passes it on) or a live directory kept by the `Arc`.
        let dentry = unsafe { sys::cmabuf_debugfs_create_dir(name.as_char_ptr(), parent_dentry) };
        // INVARIANT: The dentry was just created here; the new entry keeps its parent.
        // If the `Arc` cannot be allocated the entry is dropped, removing the directory.
        Self(
            Arc::new(
                Entry {
                    dentry,
                    _parent: parent,
                },
                GFP_KERNEL,
            )
            .ok(),
        )
    }

    /// A read-only file (mode 0400) showing `show(&data)`.
    pub(crate) fn read_file<T: Send + Sync>(
        &self,
        name: &CStr,
        data: T,
        show: ShowFn<T>,
    ) -> Result<File<T>> {
        File::create(self, name, data, show, None)
    }

    /// A file (mode 0600) showing `show(&data)`, whose writes go to `write(&data, ..)`.
    pub(crate) fn read_write_file<T: Send + Sync>(
        &self,
        name: &CStr,
        data: T,
        show: ShowFn<T>,
        write: WriteFn<T>,
    ) -> Result<File<T>> {
        File::create(self, name, data, show, Some(write))
    }

    /// A read-only file (mode 0400) of `header(&data)`, then one record per key in
    /// increasing order (`next` finds them), each written by `record` when it is read.
    pub(crate) fn records_file<T: Send + Sync>(
        &self,
        name: &CStr,
        data: T,
        header: ShowFn<T>,
        next: NextFn<T>,
        record: RecordFn<T>,
    ) -> Result<RecordsFile<T>> {
        let node = KBox::new(
            RecordsNode {
                head: RecordsHead {
                    header: records_header::<T>,
                    next: records_next_key::<T>,
                    record: records_record::<T>,
                },
                header,
                next,
                record,
                data,
            },
            GFP_KERNEL,
        )?;
        let private: *const RecordsHead = &node.head;
        // SAFETY: As in `File::create`: `private` outlives the file (field order of
        // `RecordsFile`), and `RECORDS_FOPS` expects exactly such a private pointer.
        let entry = unsafe { self.create_file(name, 0o400, private.cast(), &RECORDS_FOPS.0) };
        // INVARIANT: Created above with the node's head and `RECORDS_FOPS`.
        Ok(RecordsFile {
            _entry: entry,
            _node: node,
        })
    }

    /// A file below this directory whose inode's private data is `private`; an entry
    /// of no file if the directory was not created.
    ///
    /// # Safety
    ///
    /// `private` is what `fops` expects, and stays valid until the entry is dropped.
    unsafe fn create_file(
        &self,
        name: &CStr,
        mode: u16,
        private: *const c_void,
        fops: &'static bindings::file_operations,
    ) -> Entry {
        let Some(parent) = &self.0 else {
            return Entry {
                dentry: ptr::null_mut(),
                _parent: None,
            };
        };
        // SAFETY: `name` is a C string and the parent a directory kept alive by the new
        // entry; the caller vouches for `private` and `fops`.
        let dentry = unsafe {
            sys::cmabuf_debugfs_create_file(
                name.as_char_ptr(),
                mode,
                parent.dentry,
                private.cast_mut(),
                fops,
            )
        };
        Entry {
            dentry,
            _parent: Some(parent.clone()),
        }
    }
}

/// What a file's inode points to: type-erased entry points, first, then the callbacks
/// and the data they take.
#[repr(C)]
struct Node<T> {
    head: Head,
    show: ShowFn<T>,
    write: Option<WriteFn<T>>,
    data: T,
}

/// The start of every [`Node`], whatever its `T`.
#[repr(C)]
struct Head {
    show: unsafe fn(*const Head, &mut fmt::Formatter<'_>) -> fmt::Result,
    write: unsafe fn(*const Head, &mut UserSliceReader) -> Result,
}

/// # Safety
///
/// `head` is the `head` of a live `Node<T>`.
unsafe fn show_node<T>(head: *const Head, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    // SAFETY: `Node` is `repr(C)` with `head` first, and the caller guarantees that
    // `head` is the head of a live `Node<T>`.
    let node = unsafe { &*head.cast::<Node<T>>() };
    (node.show)(&node.data, f)
}

/// # Safety
///
/// `head` is the `head` of a live `Node<T>`.
unsafe fn write_node<T>(head: *const Head, input: &mut UserSliceReader) -> Result {
    // SAFETY: As in `show_node`.
    let node = unsafe { &*head.cast::<Node<T>>() };
    match node.write {
        Some(write) => write(&node.data, input),
        None => Err(EINVAL),
    }
}

/// A debugfs file; removed on drop, before its data goes.
///
/// # Invariants
///
/// `entry`'s dentry (if created) has `node`'s head as its inode's private data and one
/// of [`READ_FOPS`] or [`READ_WRITE_FOPS`] as its operations.
pub(crate) struct File<T> {
    // Dropped first: debugfs stops calling into `node` before it is freed.
    _entry: Entry,
    _node: KBox<Node<T>>,
}

impl<T: Send + Sync> File<T> {
    fn create(
        dir: &Dir,
        name: &CStr,
        data: T,
        show: ShowFn<T>,
        write: Option<WriteFn<T>>,
    ) -> Result<Self> {
        let node = KBox::new(
            Node {
                head: Head {
                    show: show_node::<T>,
                    write: write_node::<T>,
                },
                show,
                write,
                data,
            },
            GFP_KERNEL,
        )?;
        let (mode, fops) = match write {
            Some(_) => (0o600, &READ_WRITE_FOPS.0),
            None => (0o400, &READ_FOPS.0),
        };
        let private: *const Head = &node.head;
        // SAFETY: `private` stays valid until the file is removed: the box is freed only
        // after `_entry` (field order), whose drop removes the file and waits for
        // operations in progress. The operations expect exactly such a private pointer.
        let entry = unsafe { dir.create_file(name, mode, private.cast(), fops) };
        // INVARIANT: Created above with the node's head and one of the two tables.
        Ok(Self {
            _entry: entry,
            _node: node,
        })
    }
}

/// `bindings::file_operations` in a static.
#[repr(transparent)]
struct StaticFops(bindings::file_operations);

// SAFETY: The table is immutable; its pointers are to functions and to this module.
unsafe impl Sync for StaticFops {}

/// Read-only files: a `seq_file` filled in by the node's `show`.
static READ_FOPS: StaticFops = StaticFops(bindings::file_operations {
    owner: super::this_module().as_ptr(),
    open: Some(open),
    read: Some(bindings::seq_read),
    llseek: Some(bindings::seq_lseek),
    release: Some(bindings::single_release),
    ..pin_init::zeroed()
});

/// Writable files: as [`READ_FOPS`], and writes go to the node's `write`.
static READ_WRITE_FOPS: StaticFops = StaticFops(bindings::file_operations {
    owner: super::this_module().as_ptr(),
    open: Some(open),
    read: Some(bindings::seq_read),
    write: Some(write),
    llseek: Some(bindings::seq_lseek),
    release: Some(bindings::single_release),
    ..pin_init::zeroed()
});

/// `open`: a `seq_file` whose private data is the node's head.
///
/// # Safety
///
/// Called by debugfs (through its proxy, which holds the file against removal) on a file
/// made by [`File::create`].
unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `inode` is the file's inode, whose private data is the node's head (type
    // invariant of `File`).
    let head = unsafe { (*inode).i_private };
    // SAFETY: `file` is being opened; `show` is called with `head`, which stays valid
    // while the file exists in debugfs (reads of a removed file fail before `show`).
    unsafe { bindings::single_open(file, Some(show), head) }
}

/// `seq_file` show: the node's text.
///
/// # Safety
///
/// `seq` is the `seq_file` that [`open`] made, during a read that debugfs holds against
/// removal.
unsafe extern "C" fn show(seq: *mut bindings::seq_file, _: *mut c_void) -> c_int {
    // SAFETY: `open` set the private data to a live node's head (caller's guarantee).
    let head = unsafe { (*seq).private.cast::<Head>().cast_const() };
    // SAFETY: `seq` is live and used by this thread only during `show`.
    let seq_file = unsafe { SeqFile::from_raw(seq) };
    seq_file.call_printf(format_args!("{}", Shown(head)));
    0
}

/// Formats a node through its `show`.
struct Shown(*const Head);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: `Shown` is made in `show` only, from a live node's head.
        unsafe { ((*self.0).show)(self.0, f) }
    }
}

/// `write`: hands the user's bytes to the node's `write`; all of them or an error.
///
/// # Safety
///
/// `file` was opened by [`open`]; debugfs holds it against removal during the call.
unsafe extern "C" fn write(
    file: *mut bindings::file,
    buf: *const c_char,
    count: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: `single_open` set the file's private data to its `seq_file`, whose private
    // data is a live node's head (caller's guarantee).
    let head = unsafe {
        let seq = (*file).private_data.cast::<bindings::seq_file>();
        (*seq).private.cast::<Head>().cast_const()
    };
    let mut input = UserSlice::new(UserPtr::from_ptr(buf.cast_mut().cast()), count).reader();
    // SAFETY: `head` is a live node's head, as above.
    match unsafe { ((*head).write)(head, &mut input) } {
        // The VFS caps `count` at `MAX_RW_COUNT`, well within `isize`.
        Ok(()) => isize::try_from(count).unwrap_or(isize::MAX),
        Err(e) => e.to_errno() as isize,
    }
}

/// A file of records (see [`Dir::records_file`]); removed on drop, before its data goes.
///
/// # Invariants
///
/// `entry`'s dentry (if created) has `node`'s head as its inode's private data and
/// [`RECORDS_FOPS`] as its operations.
pub(crate) struct RecordsFile<T> {
    // Dropped first: debugfs stops calling into `node` before it is freed.
    _entry: Entry,
    _node: KBox<RecordsNode<T>>,
}

/// What a records file's inode points to: type-erased entry points, first.
#[repr(C)]
pub(crate) struct RecordsNode<T> {
    head: RecordsHead,
    header: ShowFn<T>,
    next: NextFn<T>,
    record: RecordFn<T>,
    data: T,
}

/// The start of every [`RecordsNode`], whatever its `T`.
#[repr(C)]
struct RecordsHead {
    header: unsafe fn(*const RecordsHead, &mut fmt::Formatter<'_>) -> fmt::Result,
    next: unsafe fn(*const RecordsHead, u64) -> Option<u64>,
    record: unsafe fn(*const RecordsHead, u64, &mut fmt::Formatter<'_>) -> fmt::Result,
}

/// # Safety
///
/// `head` is the `head` of a live `RecordsNode<T>`.
unsafe fn records_node<'a, T>(head: *const RecordsHead) -> &'a RecordsNode<T> {
    // SAFETY: `RecordsNode` is `repr(C)` with `head` first; the caller guarantees the
    // node is live.
    unsafe { &*head.cast::<RecordsNode<T>>() }
}

/// # Safety
///
/// `head` is the `head` of a live `RecordsNode<T>`.
unsafe fn records_header<T>(head: *const RecordsHead, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    // SAFETY: The caller's guarantee.
    let node = unsafe { records_node::<T>(head) };
    (node.header)(&node.data, f)
}

/// # Safety
///
/// `head` is the `head` of a live `RecordsNode<T>`.
unsafe fn records_next_key<T>(head: *const RecordsHead, from: u64) -> Option<u64> {
    // SAFETY: The caller's guarantee.
    let node = unsafe { records_node::<T>(head) };
    (node.next)(&node.data, from)
}

/// # Safety
///
/// `head` is the `head` of a live `RecordsNode<T>`.
unsafe fn records_record<T>(
    head: *const RecordsHead,
    key: u64,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    // SAFETY: The caller's guarantee.
    let node = unsafe { records_node::<T>(head) };
    (node.record)(&node.data, key, f)
}

/// `bindings::seq_operations` in a static.
#[repr(transparent)]
struct StaticSeqOps(bindings::seq_operations);

// SAFETY: The table is immutable; its pointers are to functions of this module.
unsafe impl Sync for StaticSeqOps {}

/// Records files: `seq_file`'s iterator over the node's keys.
static RECORDS_SEQ_OPS: StaticSeqOps = StaticSeqOps(bindings::seq_operations {
    start: Some(records_start),
    stop: Some(records_stop),
    next: Some(records_next),
    show: Some(records_show),
});

static RECORDS_FOPS: StaticFops = StaticFops(bindings::file_operations {
    owner: super::this_module().as_ptr(),
    open: Some(records_open),
    read: Some(bindings::seq_read),
    llseek: Some(bindings::seq_lseek),
    release: Some(bindings::seq_release),
    ..pin_init::zeroed()
});

/// The iterator's element for the header (`SEQ_START_TOKEN`), at position 0.
const HEADER: *mut c_void = ptr::without_provenance_mut(1);
/// The iterator's element for a record: its key is the position (`seq_file::index`).
const RECORD: *mut c_void = ptr::without_provenance_mut(2);

/// `open`: a `seq_file` whose private data is the node's head.
///
/// # Safety
///
/// Called by debugfs (through its proxy) on a file made by [`Dir::records_file`].
unsafe extern "C" fn records_open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `file` is being opened; `seq_open` makes its `seq_file`.
    let ret = unsafe { bindings::seq_open(file, &RECORDS_SEQ_OPS.0) };
    if ret == 0 {
        // SAFETY: `seq_open` set the file's private data to its new `seq_file`; the
        // inode's private data is the node's head (type invariant of `RecordsFile`).
        unsafe {
            let seq = (*file).private_data.cast::<bindings::seq_file>();
            (*seq).private = (*inode).i_private;
        }
    }
    ret
}

/// The element at the first record whose key is at least `from`, with `*pos` set to
/// its key; NULL (and `*pos` past `from`) if there is none.
///
/// # Safety
///
/// `seq` is a `seq_file` made by [`records_open`], during a read that debugfs holds
/// against removal; `pos` is its position.
unsafe fn seek(seq: *mut bindings::seq_file, pos: *mut bindings::loff_t, from: u64) -> *mut c_void {
    // SAFETY: `records_open` set the private data to a live node's head.
    let head = unsafe { (*seq).private.cast::<RecordsHead>().cast_const() };
    // SAFETY: `head` is a live node's head (the caller's guarantee).
    let found = unsafe { ((*head).next)(head, from) }.and_then(|k| i64::try_from(k).ok());
    // SAFETY: `pos` is the `seq_file`'s position, ours during the call.
    unsafe {
        match found {
            Some(key) => {
                *pos = key;
                RECORD
            }
            None => {
                *pos = i64::try_from(from).unwrap_or(i64::MAX);
                ptr::null_mut()
            }
        }
    }
}

/// `seq_operations::start`: the header at 0, else the record at `*pos` or after.
///
/// # Safety
///
/// As for [`seek`].
unsafe extern "C" fn records_start(
    seq: *mut bindings::seq_file,
    pos: *mut bindings::loff_t,
) -> *mut c_void {
    // SAFETY: `pos` is the `seq_file`'s position.
    let at = unsafe { *pos };
    if at == 0 {
        return HEADER;
    }
    let Ok(from) = u64::try_from(at) else {
        return ptr::null_mut();
    };
    // SAFETY: The caller's guarantee.
    unsafe { seek(seq, pos, from) }
}

/// `seq_operations::next`: the record after the one at `*pos` (keys start at 1).
///
/// # Safety
///
/// As for [`seek`].
unsafe extern "C" fn records_next(
    seq: *mut bindings::seq_file,
    _: *mut c_void,
    pos: *mut bindings::loff_t,
) -> *mut c_void {
    // SAFETY: `pos` is the `seq_file`'s position.
    let from = u64::try_from(unsafe { *pos }).map_or(u64::MAX, |p| p.saturating_add(1));
    // SAFETY: The caller's guarantee.
    unsafe { seek(seq, pos, from) }
}

/// `seq_operations::stop`: nothing is held between records.
///
/// # Safety
///
/// None needed: it touches nothing (`seq_file` calls it with its own arguments).
unsafe extern "C" fn records_stop(_: *mut bindings::seq_file, _: *mut c_void) {}

/// `seq_operations::show`: the header, or the record whose key is the position.
///
/// # Safety
///
/// As for [`seek`]; `v` came from [`records_start`] or [`records_next`].
unsafe extern "C" fn records_show(seq: *mut bindings::seq_file, v: *mut c_void) -> c_int {
    // SAFETY: `records_open` set the private data to a live node's head; the position is
    // the key `seek` found.
    let (head, key) = unsafe {
        (
            (*seq).private.cast::<RecordsHead>().cast_const(),
            u64::try_from((*seq).index).unwrap_or(0),
        )
    };
    let shown = RecordShown {
        head,
        key,
        header: v == HEADER,
    };
    // SAFETY: `seq` is live and used by this thread only during `show`.
    let seq_file = unsafe { SeqFile::from_raw(seq) };
    seq_file.call_printf(format_args!("{}", shown));
    0
}

/// Formats the header or one record of a records node.
struct RecordShown {
    head: *const RecordsHead,
    key: u64,
    header: bool,
}

impl fmt::Display for RecordShown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: Made in `records_show` only, from a live node's head.
        unsafe {
            if self.header {
                ((*self.head).header)(self.head, f)
            } else {
                ((*self.head).record)(self.head, self.key, f)
            }
        }
    }
}
