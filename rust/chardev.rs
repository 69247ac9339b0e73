// SPDX-License-Identifier: GPL-2.0

//! `/dev/cmabuf-<name>`: the character device user space opens to use a pool.

use crate::{
    ffi::MiscRegistration,
    pool::PoolInfo, //
};
use kernel::{
    fs::File,
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    prelude::*,
    sync::Arc, //
};

/// An open `/dev/cmabuf-<name>`; holds the pool's description alive.
pub(crate) struct PoolFile;

crate::misc_file!(PoolFile, Arc<PoolInfo>);

#[vtable]
impl MiscDevice for PoolFile {
    type Ptr = Arc<PoolInfo>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Self::Ptr> {
        Ok(MiscRegistration::<Self>::data_of(misc).clone())
    }
}
