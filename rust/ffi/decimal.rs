// SPDX-License-Identifier: GPL-2.0

//! 64-bit integers in decimal, without 64-bit division.
//!
//! On 32-bit ARM the kernel has no 64-bit division helper: the Rust core's `Display` for
//! `u64` and `i64` calls `__aeabi_uldivmod`, which the kernel defines to panic. So every
//! 64-bit value cmabuf prints goes through [`dec`], which divides 16 bits at a time with
//! 32-bit arithmetic. `make check` fails if the module refers to the core's 64-bit
//! `Display` again (`scripts/host-checks.sh`).

use kernel::{
    fmt,
    prelude::*, //
};

/// An integer of up to 64 bits to print in decimal: `fmt!("{}", dec(x))`. Honours width,
/// fill and alignment like the built-in integers.
#[derive(Clone, Copy)]
pub(crate) struct Decimal {
    negative: bool,
    magnitude: u64,
}

/// `value` for printing in decimal.
pub(crate) fn dec(value: impl Into<Decimal>) -> Decimal {
    value.into()
}

impl From<u64> for Decimal {
    fn from(magnitude: u64) -> Self {
        Self {
            negative: false,
            magnitude,
        }
    }
}

impl From<i64> for Decimal {
    fn from(value: i64) -> Self {
        Self {
            negative: value < 0,
            magnitude: value.unsigned_abs(),
        }
    }
}

/// `(n / 10, n % 10)` by long division over 16-bit digits: the remainder times 2^16
/// plus the next digit stays below 10 * 2^16, so 32-bit arithmetic suffices.
fn div_rem_10(n: u64) -> (u64, u32) {
    let mut quotient = 0;
    let mut rem = 0u32;
    for shift in [48, 32, 16, 0] {
        let part = (rem << 16) | ((n >> shift) as u32 & 0xffff);
        quotient |= u64::from(part / 10) << shift;
        rem = part % 10;
    }
    (quotient, rem)
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // u64::MAX has 20 digits.
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = self.magnitude;
        loop {
            let (q, r) = div_rem_10(n);
            at -= 1;
            digits[at] = b'0' + r as u8;
            n = q;
            if n == 0 {
                break;
            }
        }
        let digits = core::str::from_utf8(&digits[at..]).map_err(|_| fmt::Error)?;
        f.pad_integral(!self.negative, "", digits)
    }
}

#[kunit_tests(cmabuf_decimal)]
mod tests {
    use super::*;
    use kernel::str::CString;

    /// The value plain, right-aligned in 6 and left-aligned in 4 columns.
    fn text(value: impl Into<Decimal>) -> Result<CString> {
        let value = value.into();
        CString::try_from_fmt(fmt!("[{}|{:>6}|{:<4}]", value, value, value))
    }

    #[test]
    fn unsigned_values_print_all_digits() -> Result {
        assert_eq!(&*text(0u64)?, c"[0|     0|0   ]");
        assert_eq!(&*text(42u64)?, c"[42|    42|42  ]");
        assert_eq!(
            &*text(4_294_967_296u64)?,
            c"[4294967296|4294967296|4294967296]"
        );
        assert_eq!(
            &*text(u64::MAX)?,
            c"[18446744073709551615|18446744073709551615|18446744073709551615]"
        );
        Ok(())
    }

    #[test]
    fn signed_values_keep_their_sign() -> Result {
        assert_eq!(&*text(-1i64)?, c"[-1|    -1|-1  ]");
        assert_eq!(
            &*text(i64::MIN)?,
            c"[-9223372036854775808|-9223372036854775808|-9223372036854775808]"
        );
        Ok(())
    }

    #[test]
    fn division_by_ten_holds_at_every_digit() {
        let mut n = u64::MAX;
        while n != 0 {
            let (q, r) = div_rem_10(n);
            // Checked by multiplying back: no 64-bit division here either.
            assert!(r < 10);
            assert_eq!(q * 10 + u64::from(r), n);
            n = q;
        }
    }
}
