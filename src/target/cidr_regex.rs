//! A CIDR network as an anchored regex over address text, for query languages without an
//! address type (the SQL targets' `{net_regex}` slot). The regex accepts exactly the texts
//! detc's evaluator reads as an address in the network: `text.trim()` parsed by Rust's
//! `IpAddr` (IPv4: four decimal octets without leading zeros; IPv6: one to four hex digits per
//! group in either case, one `::` standing for one or more zero groups, an optional dotted IPv4
//! tail) and inside the prefix. An IPv4 text is never in an IPv6 network, as in Sigma.
//!
//! Each group of an address in a network is independent of the others (fixed, an aligned
//! range, or anything), so the regex is an alternation over the ways to write eight groups,
//! each written from its own set. Only RE2 / java.util.regex / Rust syntax common to all three
//! is used: classes, `{m,n}`, `(?:...)`, `\x{..}`.

use std::fmt::Write;

/// What `str::trim` removes: the Unicode White_Space characters.
const SPACE: &str = r"[\t\n\x0B\x0C\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]*";

/// Allowed values of one address part of `bits` bits: the top `fixed` bits of `value`.
#[derive(Clone, Copy)]
struct Part {
    value: u32,
    fixed: u32,
    bits: u32,
}

impl Part {
    fn range(self) -> (u32, u32) {
        let free = self.bits - self.fixed;
        let lo = (self.value >> free) << free;
        (lo, lo | ((1u32 << free) - 1))
    }
}

/// A decimal octet without leading zeros in `[lo, hi]`.
fn octet(p: Part) -> String {
    let (lo, hi) = p.range();
    if lo == 0 && hi == 255 {
        return "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])".into();
    }
    if lo == hi {
        return lo.to_string();
    }
    let alts: Vec<String> = (lo..=hi).map(|n| n.to_string()).collect();
    format!("(?:{})", alts.join("|"))
}

/// A hex digit class for the values `lo..=hi` of one digit, either case.
fn hex_class(lo: u32, hi: u32) -> String {
    let digits: Vec<char> = (lo..=hi).filter_map(|d| char::from_digit(d, 16)).collect();
    let mut out = String::from("[");
    for d in digits {
        out.push(d);
        if d.is_ascii_alphabetic() {
            out.push(d.to_ascii_uppercase());
        }
    }
    out.push(']');
    out
}

/// One IPv6 group (1 to 4 hex digits) whose value is in the part's range.
fn group(p: Part) -> String {
    let (lo, hi) = p.range();
    if lo == 0 && hi == 0xffff {
        return "[0-9a-fA-F]{1,4}".into();
    }
    // The four digits of the zero-padded form: digits of an aligned range are each fixed,
    // one ranging digit, then free ones.
    let classes: Vec<(u32, u32)> = (0..4)
        .map(|i| {
            let shift = 12 - 4 * i;
            ((lo >> shift) & 0xf, (hi >> shift) & 0xf)
        })
        .collect();
    // Written with k leading digits left out (they must allow 0), at least one digit kept.
    let mut alts = Vec::new();
    for k in 0..4 {
        if classes[..k].iter().any(|&(l, _)| l != 0) {
            break;
        }
        let mut s = String::new();
        for &(l, h) in &classes[k..] {
            s.push_str(&hex_class(l, h));
        }
        alts.push(s);
    }
    if alts.len() == 1 {
        alts.remove(0)
    } else {
        format!("(?:{})", alts.join("|"))
    }
}

fn parts(value: u128, prefix: u32, count: u32, bits: u32) -> Vec<Part> {
    (0..count)
        .map(|i| {
            let shift = bits * (count - 1 - i);
            Part {
                value: ((value >> shift) & ((1u128 << bits) - 1)) as u32,
                fixed: prefix.saturating_sub(bits * i).min(bits),
                bits,
            }
        })
        .collect()
}

/// The regex for an IPv4 network.
fn v4(net: &ipnet::Ipv4Net) -> String {
    let ps = parts(
        u32::from(net.network()) as u128,
        net.prefix_len() as u32,
        4,
        8,
    );
    let octets: Vec<String> = ps.into_iter().map(octet).collect();
    octets.join(r"\.")
}

/// The regex for an IPv6 network: every way to write its eight groups.
fn v6(net: &ipnet::Ipv6Net) -> String {
    let value = u128::from(net.network());
    let prefix = net.prefix_len() as u32;
    let groups = parts(value, prefix, 8, 16);
    // The last 32 bits as four octets, for a dotted IPv4 tail.
    let octets = parts(value, prefix.saturating_sub(96), 4, 8);
    let tail_v4: String = octets
        .into_iter()
        .map(octet)
        .collect::<Vec<_>>()
        .join(r"\.");
    let zero_ok = |p: &Part| p.range().0 == 0;
    let mut alts: Vec<String> = Vec::new();
    // Groups from..to written one by one, `:`-separated; with `v4`, the last two as a dotted
    // IPv4 address (it must be the last thing written).
    let written = |from: usize, to: usize, v4_tail: bool| -> Option<String> {
        let mut items: Vec<String> = Vec::new();
        let end = if v4_tail { to.checked_sub(2)? } else { to };
        if v4_tail && end < from {
            return None;
        }
        for g in &groups[from..end] {
            items.push(group(*g));
        }
        if v4_tail {
            items.push(tail_v4.clone());
        }
        Some(items.join(":"))
    };
    for v4_tail in [false, true] {
        // No compression: all eight groups.
        if let Some(s) = written(0, 8, v4_tail) {
            alts.push(s);
        }
        // `::` for groups start..start+len (all zero), len >= 1.
        for start in 0..8 {
            for len in 1..=(8 - start) {
                if !groups[start..start + len].iter().all(zero_ok) {
                    continue;
                }
                let head = written(0, start, false);
                let tail = if start + len == 8 {
                    if v4_tail {
                        None
                    } else {
                        Some(String::new())
                    }
                } else {
                    written(start + len, 8, v4_tail)
                };
                if let (Some(h), Some(t)) = (head, tail) {
                    alts.push(format!("{h}::{t}"));
                }
            }
        }
    }
    alts.sort();
    alts.dedup();
    format!("(?:{})", alts.join("|"))
}

/// An anchored regex matching exactly the texts (white space around allowed) of the
/// addresses in `net`.
pub fn net_regex(net: &ipnet::IpNet) -> String {
    let body = match net {
        ipnet::IpNet::V4(n) => v4(n),
        ipnet::IpNet::V6(n) => v6(n),
    };
    let mut out = String::with_capacity(body.len() + 2 * SPACE.len() + 4);
    let _ = write!(out, "^{SPACE}{body}{SPACE}$");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(net: &str, text: &str) -> bool {
        let n: ipnet::IpNet = net.parse().unwrap();
        text.trim()
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| n.contains(&ip))
    }

    #[test]
    fn agrees_with_parsing_the_address() {
        let nets = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.1.0/24",
            "175.45.176.0/22",
            "0.0.0.0/0",
            "1.2.3.4/32",
            "fe80::/10",
            "fc00::/7",
            "::1/128",
            "::ffff:210.52.109.0/120",
            "::ffff:175.45.176.0/118",
            "2001:db8::/32",
            "::/0",
        ];
        let texts = [
            "10.1.2.3",
            " 10.1.2.3\t",
            "010.1.2.3",
            "10.01.2.3",
            "10.1.2",
            "10.1.2.3.4",
            "10.256.1.1",
            "172.15.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "172.32.0.0",
            "192.168.1.255",
            "192.168.2.1",
            "175.45.179.1",
            "175.45.180.1",
            "1.2.3.4",
            "1.2.3.5",
            "fe80::1",
            "FE80::1",
            "febf:ffff::",
            "fec0::",
            "fc00::",
            "fdff::1",
            "fe00::",
            "::1",
            "0:0:0:0:0:0:0:1",
            "0000:0000:0000:0000:0000:0000:0000:0001",
            "::0:1",
            "::2",
            "::ffff:210.52.109.7",
            "::FFFF:d234:6d07",
            "0::ffff:210.52.109.255",
            "0:0:0:0:0:ffff:210.52.109.1",
            "::ffff:210.52.110.1",
            "210.52.109.7",
            "::ffff:175.45.176.1",
            "::ffff:af2d:b301",
            "2001:db8::",
            "2001:0db8:1::1",
            "2001:db9::",
            "::",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:1.2.3.4",
            "::1.2.3.4",
            "1::2:3:4:5:6:7",
            "fe80::1%eth0",
            "00000::1",
            "fe80:::1",
            ":fe80::1",
            "",
            "x",
        ];
        for n in nets {
            let re = regex::Regex::new(&net_regex(&n.parse().unwrap())).unwrap();
            for t in texts {
                assert_eq!(re.is_match(t), reference(n, t), "{n} {t:?}");
            }
        }
    }
}
