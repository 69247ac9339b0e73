// SPDX-License-Identifier: GPL-2.0

//! The errnos cmabuf returns that the `kernel` crate has no constant for, in one place.

use kernel::{
    bindings,
    prelude::*, //
};

/// `EDQUOT`: a limit (pool, process or cgroup) refused the allocation.
pub(crate) fn edquot() -> Error {
    Error::from_errno(-(bindings::EDQUOT as i32))
}

/// `ECANCELED`: an allocation named a reservation that failed.
pub(crate) fn ecanceled() -> Error {
    Error::from_errno(-(bindings::ECANCELED as i32))
}
