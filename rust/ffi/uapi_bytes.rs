// SPDX-License-Identifier: GPL-2.0

//! The uAPI structs may be copied from and to user space byte for byte.

use crate::uapi::{
    Alloc,
    Phys,
    PoolInfo,
    Prepare, //
};
use kernel::transmute::{
    AsBytes,
    FromBytes, //
};

// SAFETY: `Alloc` is `repr(C)` of integers with no padding (its size is asserted to be
// the sum of its fields), so every byte pattern is a valid value.
unsafe impl FromBytes for Alloc {}
// SAFETY: See above: no padding, so every byte is initialised.
unsafe impl AsBytes for Alloc {}
// SAFETY: `PoolInfo` is `repr(C)` of bytes and integers with no padding.
unsafe impl AsBytes for PoolInfo {}
// SAFETY: `Phys` is `repr(C)` of integers with no padding.
unsafe impl FromBytes for Phys {}
// SAFETY: See above.
unsafe impl AsBytes for Phys {}
// SAFETY: `Prepare` is `repr(C)` of integers with no padding (size asserted: 32).
unsafe impl FromBytes for Prepare {}
