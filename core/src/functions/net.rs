//! IP network functions (`cidrhost`, `cidrnetmask`, `cidrsubnet`, `cidrsubnets`,
//! `cidrcontains`) for IPv4 and IPv6. Addresses are computed as integers of 32 or 128 bits, so
//! no arithmetic here can overflow or wrap silently; errors use Terraform's wording.

use super::{Args, FuncError};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tarn_sdk::Value;

/// A prefix as an integer network address and a length, with the family's bit width.
#[derive(Clone, Copy)]
struct Prefix {
    addr: u128,
    len: u32,
    bits: u32,
}

impl Prefix {
    fn host_mask(len: u32, bits: u32) -> u128 {
        let host = bits - len.min(bits);
        if host >= 128 { u128::MAX } else { (1u128 << host) - 1 }
    }

    fn all_ones(bits: u32) -> u128 {
        Self::host_mask(0, bits)
    }

    /// The address masked to `len` bits.
    fn masked(addr: u128, len: u32, bits: u32) -> u128 {
        addr & !Self::host_mask(len, bits) & Self::all_ones(bits)
    }

    fn contains(&self, addr: u128) -> bool {
        Self::masked(addr, self.len, self.bits) == self.addr
    }

    fn ip(&self, addr: u128) -> IpAddr {
        if self.bits == 32 { IpAddr::V4(Ipv4Addr::from(addr as u32)) } else { IpAddr::V6(Ipv6Addr::from(addr)) }
    }

    fn show(&self, addr: u128, len: u32) -> String {
        format!("{}/{len}", self.ip(addr))
    }
}

fn to_u128(ip: IpAddr) -> (u128, u32) {
    match ip {
        IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// Parses a CIDR prefix; host bits are allowed and masked off, as Go's ParseCIDR does.
fn parse_prefix(a: &Args, i: usize) -> Result<Prefix, FuncError> {
    let s = a.str(i)?;
    let net: IpNet = s.parse().map_err(|_| a.err(i, format!("invalid CIDR expression: invalid CIDR address: {s}.")))?;
    let (addr, bits) = to_u128(net.addr());
    let len = u32::from(net.prefix_len());
    Ok(Prefix { addr: Prefix::masked(addr, len, bits), len, bits })
}

pub(crate) fn cidrhost(a: &Args) -> Result<Value, FuncError> {
    let p = parse_prefix(a, 0)?;
    let hostnum = a.int(1)?;
    let host_bits = p.bits - p.len;
    // The number of hosts, capped where it exceeds anything an i64 argument can reach.
    let count: i128 = if host_bits >= 64 { i128::MAX } else { 1i128 << host_bits };
    let mut n = hostnum as i128;
    if n < 0 {
        n += count;
    }
    if n < 0 || n >= count {
        return Err(a.err(1, format!("prefix of {} does not accommodate a host numbered {hostnum}.", p.len)));
    }
    Ok(Value::String(p.ip(p.addr | n as u128).to_string()))
}

pub(crate) fn cidrnetmask(a: &Args) -> Result<Value, FuncError> {
    let p = parse_prefix(a, 0)?;
    if p.bits != 32 {
        return Err(a.err(0, format!("IPv6 addresses cannot have a netmask: {}.", a.str(0)?)));
    }
    let mask = !Prefix::host_mask(p.len, 32) & Prefix::all_ones(32);
    Ok(Value::String(p.ip(mask).to_string()))
}

pub(crate) fn cidrsubnet(a: &Args) -> Result<Value, FuncError> {
    let p = parse_prefix(a, 0)?;
    let newbits = a.int(1)?;
    let netnum = a.int(2)?;
    if newbits < 0 {
        return Err(a.err(1, "must not be negative."));
    }
    let new_len = p.len as i64 + newbits;
    if new_len > p.bits as i64 {
        return Err(a.err(1, format!("insufficient address space to extend prefix of {} by {newbits}.", p.len)));
    }
    let new_len = new_len as u32;
    // Subnet numbers are at most 2^53, so extensions beyond 63 bits never limit them.
    let max: i128 = if newbits >= 64 { i128::MAX } else { 1i128 << newbits };
    if netnum < 0 || netnum as i128 >= max {
        return Err(a.err(2, format!("prefix extension of {newbits} does not accommodate a subnet numbered {netnum}.")));
    }
    let shift = p.bits - new_len;
    let offset = if shift >= 128 { 0 } else { (netnum as u128) << shift };
    Ok(Value::String(p.show(p.addr | offset, new_len)))
}

/// Allocates consecutive subnets of the given extension lengths, aligned as Terraform aligns
/// them (each starts after the previous one ends, rounded up to its own size).
pub(crate) fn cidrsubnets(a: &Args) -> Result<Value, FuncError> {
    let p = parse_prefix(a, 0)?;
    let mut out = Vec::new();
    // The last address allocated so far, and that subnet as written.
    let mut cursor: Option<(u128, String)> = None;
    for i in 1..a.len() {
        let newbits = a.int(i)?;
        if newbits < 1 {
            return Err(a.err(i, "must extend prefix by at least one bit."));
        }
        if newbits > 32 {
            return Err(a.err(i, "may not extend prefix by more than 32 bits."));
        }
        let len = p.len as i64 + newbits;
        if len > p.bits as i64 {
            let family = if p.bits == 32 { "IPv4" } else { "IPv6" };
            return Err(
                a.err(i, format!("would extend prefix to {len} bits, which is too long for an {family} address."))
            );
        }
        let len = len as u32;
        let size_mask = Prefix::host_mask(len, p.bits);
        let start = match &cursor {
            None => Some(p.addr),
            // The next aligned block of this size after the last allocated address.
            Some((last, _)) => (Prefix::masked(*last, len, p.bits) | size_mask)
                .checked_add(1)
                .filter(|next| *next <= Prefix::all_ones(p.bits) && p.contains(*next)),
        };
        let Some(start) = start else {
            let after = cursor.map(|c| c.1).unwrap_or_default();
            return Err(a.err(
                i,
                format!("not enough remaining address space for a subnet with a prefix of {len} bits after {after}."),
            ));
        };
        let shown = p.show(start, len);
        out.push(Value::String(shown.clone()));
        cursor = Some((start | size_mask, shown));
    }
    Ok(Value::List(out))
}

pub(crate) fn cidrcontains(a: &Args) -> Result<Value, FuncError> {
    let p = parse_prefix(a, 0)?;
    let s = a.str(1)?;
    let (addr, bits, len) = if let Ok(ip) = s.parse::<IpAddr>() {
        let (addr, bits) = to_u128(ip);
        (addr, bits, bits)
    } else {
        let inner = parse_prefix(a, 1)?;
        (inner.addr, inner.bits, inner.len)
    };
    if bits != p.bits {
        return Err(a.err(1, "the address family of the containing prefix and the contained address differ."));
    }
    Ok(Value::Bool(len >= p.len && p.contains(addr)))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn hosts() {
        assert_eq!(ok("cidrhost", vec![s("10.12.112.0/20"), n(16.0)]), s("10.12.112.16"));
        assert_eq!(ok("cidrhost", vec![s("10.12.112.0/20"), n(268.0)]), s("10.12.113.12"));
        assert_eq!(ok("cidrhost", vec![s("10.0.0.0/24"), n(-1.0)]), s("10.0.0.255"));
        assert_eq!(ok("cidrhost", vec![s("fd00:fd12:3456:7890:00a2::/72"), n(34.0)]), s("fd00:fd12:3456:7890::22"));
        assert_eq!(ok("cidrhost", vec![s("10.0.0.5/24"), n(1.0)]), s("10.0.0.1"));
        assert_eq!(
            err("cidrhost", vec![s("10.0.0.0/30"), n(4.0)]),
            "Invalid value for \"hostnum\" parameter: prefix of 30 does not accommodate a host numbered 4."
        );
        assert!(err("cidrhost", vec![s("10.0.0.0/30"), n(-5.0)]).contains("host numbered -5"));
        assert_eq!(ok("cidrhost", vec![s("::/0"), n(9007199254740992.0)]), s("::20:0:0:0"));
        assert_eq!(
            err("cidrhost", vec![s("10.0.0/8"), n(1.0)]),
            "Invalid value for \"prefix\" parameter: invalid CIDR expression: invalid CIDR address: 10.0.0/8."
        );
    }

    #[test]
    fn netmask() {
        assert_eq!(ok("cidrnetmask", vec![s("172.16.0.0/12")]), s("255.240.0.0"));
        assert_eq!(ok("cidrnetmask", vec![s("0.0.0.0/0")]), s("0.0.0.0"));
        assert_eq!(ok("cidrnetmask", vec![s("1.2.3.4/32")]), s("255.255.255.255"));
        assert!(err("cidrnetmask", vec![s("fe80::/64")]).contains("IPv6 addresses cannot have a netmask"));
    }

    #[test]
    fn subnet() {
        assert_eq!(ok("cidrsubnet", vec![s("172.16.0.0/12"), n(4.0), n(2.0)]), s("172.18.0.0/16"));
        assert_eq!(ok("cidrsubnet", vec![s("10.1.2.0/24"), n(4.0), n(15.0)]), s("10.1.2.240/28"));
        assert_eq!(
            ok("cidrsubnet", vec![s("fd00:fd12:3456:7890::/56"), n(16.0), n(162.0)]),
            s("fd00:fd12:3456:7800:a200::/72")
        );
        assert_eq!(ok("cidrsubnet", vec![s("10.0.0.0/8"), n(0.0), n(0.0)]), s("10.0.0.0/8"));
        assert_eq!(
            err("cidrsubnet", vec![s("10.0.0.0/24"), n(10.0), n(0.0)]),
            "Invalid value for \"newbits\" parameter: insufficient address space to extend prefix of 24 by 10."
        );
        assert_eq!(
            err("cidrsubnet", vec![s("10.0.0.0/24"), n(2.0), n(4.0)]),
            "Invalid value for \"netnum\" parameter: prefix extension of 2 does not accommodate a subnet numbered 4."
        );
        assert!(err("cidrsubnet", vec![s("10.0.0.0/24"), n(2.0), n(-1.0)]).contains("subnet numbered -1"));
        assert_eq!(ok("cidrsubnet", vec![s("::/0"), n(100.0), n(1.0)]), s("::1000:0/100"));
    }

    #[test]
    fn subnets() {
        assert_eq!(
            ok("cidrsubnets", vec![s("10.1.0.0/16"), n(4.0), n(4.0), n(8.0), n(4.0)]),
            sl(&["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"])
        );
        assert_eq!(
            ok("cidrsubnets", vec![s("fd00:fd12:3456:7890::/56"), n(16.0), n(16.0), n(16.0), n(32.0)]),
            sl(&[
                "fd00:fd12:3456:7800::/72",
                "fd00:fd12:3456:7800:100::/72",
                "fd00:fd12:3456:7800:200::/72",
                "fd00:fd12:3456:7800:300::/88"
            ])
        );
        assert_eq!(ok("cidrsubnets", vec![s("10.0.0.0/8")]), sl(&[]));
        assert_eq!(
            err("cidrsubnets", vec![s("10.0.0.0/30"), n(1.0), n(1.0), n(1.0)]),
            "Invalid value for \"newbits\" parameter: not enough remaining address space for a subnet with a prefix of 31 bits after 10.0.0.2/31."
        );
        assert!(
            err("cidrsubnets", vec![s("10.0.0.0/30"), n(3.0)])
                .contains("would extend prefix to 33 bits, which is too long for an IPv4 address")
        );
        assert!(err("cidrsubnets", vec![s("10.0.0.0/8"), n(0.0)]).contains("at least one bit"));
        assert_eq!(
            ok("cidrsubnets", vec![s("255.255.255.0/24"), n(1.0), n(1.0)]),
            sl(&["255.255.255.0/25", "255.255.255.128/25"])
        );
        assert!(
            err("cidrsubnets", vec![s("255.255.255.0/24"), n(1.0), n(1.0), n(1.0)]).contains("not enough remaining")
        );
    }

    #[test]
    fn contains() {
        assert_eq!(ok("cidrcontains", vec![s("192.168.2.0/24"), s("192.168.2.1")]), b(true));
        assert_eq!(ok("cidrcontains", vec![s("192.168.2.0/24"), s("192.168.3.1")]), b(false));
        assert_eq!(ok("cidrcontains", vec![s("192.168.2.0/24"), s("192.168.2.128/25")]), b(true));
        assert_eq!(ok("cidrcontains", vec![s("192.168.2.0/24"), s("192.168.0.0/16")]), b(false));
        assert!(err("cidrcontains", vec![s("192.168.2.0/24"), s("::1")]).contains("address family"));
    }
}
