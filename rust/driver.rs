// SPDX-License-Identifier: GPL-2.0

//! The platform driver for `compatible = "cmabuf,pool"` nodes.

use crate::pool::Pool;
use kernel::{
    device::Core,
    of,
    platform,
    prelude::*, //
};

/// Binds one [`Pool`] to each `cmabuf,pool` device.
pub(crate) struct PoolDriver;

crate::ffi::of_device_table!(
    OF_TABLE,
    MODULE_OF_TABLE,
    <PoolDriver as platform::Driver>::IdInfo,
    [(of::DeviceId::new(c"cmabuf,pool"), ())]
);

impl platform::Driver for PoolDriver {
    type IdInfo = ();
    type Data<'bound> = Pool;
    const OF_ID_TABLE: Option<of::IdTable<Self::IdInfo>> = Some(&OF_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        Pool::new(pdev.as_ref())
    }

    fn unbind<'bound>(pdev: &'bound platform::Device<Core<'_>>, pool: Pin<&Self::Data<'bound>>) {
        dev_info!(pdev.as_ref(), "releasing /dev/{}\n", pool.device_name());
    }
}
