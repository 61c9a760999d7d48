//! The client's address: the TCP peer, unless that peer is a proxy the
//! operator trusts (`TRUSTED_PROXIES`), in which case the proxies' own
//! headers say who connected to them.
//!
//! The chain is read from RFC 7239 `Forwarded` (its `for=` parameters) when
//! the request has one, else from `X-Forwarded-For`, right to left: each
//! trusted proxy appends the address it received the request from, so the
//! first address from the right that is not itself a trusted proxy is the
//! client. What a client writes itself lies further left and is never
//! reached; a spoofed left-most entry changes nothing. An entry that cannot
//! be read (garbage, `unknown`, an obfuscated `_name`) stops the walk: the
//! peer is used, never an error.
//!
//! The address lands in the request's extensions ([`ClientAddr`]): rate
//! limits, sessions, the audit log and the logs all read it from there.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    /// `10.0.0.0/8, 192.168.1.7, 2001:db8::/32`: CIDRs or single addresses,
    /// comma-separated; empty trusts none.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let net = match part.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match part.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(unmapped(ip)),
                    Err(_) => {
                        return Err(format!(
                            "{part:?} is not a CIDR (e.g. 10.0.0.0/8) or an IP address"
                        ));
                    }
                },
            };
            nets.push(net);
        }
        Ok(Self(Arc::new(nets)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = unmapped(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Who the client is, given the TCP peer and the request's headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = unmapped(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let chain = match forwarded_for(headers) {
            Some(chain) => chain,
            None => match x_forwarded_for(headers) {
                Some(chain) => chain,
                None => return peer,
            },
        };
        let mut leftmost = peer;
        for hop in chain.iter().rev() {
            match hop {
                Some(ip) if self.trusts(*ip) => leftmost = *ip,
                Some(ip) => return *ip,
                // Unreadable: nothing further left can be believed.
                None => return peer,
            }
        }
        // Proxies all the way: the first of them is as close as it gets.
        leftmost
    }
}

/// IPv4-mapped IPv6 (`::ffff:192.0.2.1`) as the IPv4 address it is.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Every comma-separated element of every occurrence of a header, in order.
fn elements<'a>(headers: &'a HeaderMap, name: &str) -> Option<Vec<&'a str>> {
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        // A header that is not visible ASCII is garbage as a whole.
        let value = value.to_str().ok()?;
        out.extend(value.split(',').map(str::trim));
    }
    (!out.is_empty()).then_some(out)
}

/// `X-Forwarded-For: client, proxy1, proxy2`.
fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    Some(
        elements(headers, "x-forwarded-for")?
            .into_iter()
            .map(node)
            .collect(),
    )
}

/// RFC 7239: `Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]:4711"`.
/// An element without `for=` stands for a hop that did not say: unreadable.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let elements = elements(headers, "forwarded")?;
    Some(
        elements
            .into_iter()
            .map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| node(value.trim().trim_matches('"')))
                })?
            })
            .collect(),
    )
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn node(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(unmapped(ip));
    }
    if let Ok(addr) = raw.parse::<SocketAddr>() {
        return Some(unmapped(addr.ip()));
    }
    // `[2001:db8::1]` without a port.
    raw.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<IpAddr>().ok())
        .map(unmapped)
}

/// The client's address, as [`TrustedProxies::client`] found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Records [`ClientAddr`] in the request's extensions (the edge middleware,
/// `http::middleware::edge`).
pub fn attach(proxies: &TrustedProxies, req: &mut Request) {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(peer) = peer {
        let client = proxies.client(peer, req.headers());
        req.extensions_mut().insert(ClientAddr(client));
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Served without connection info (a test calling the router
        // directly): an unspecified address, counted as one client.
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(IpAddr::from([0, 0, 0, 0]))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn untrusted_peers_are_the_client_whatever_they_say() {
        let none = TrustedProxies::default();
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(none.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        let some = TrustedProxies::parse("10.0.0.0/8").expect("cidr");
        assert_eq!(some.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let p = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7").expect("cidrs");
        let peer = ip("10.0.0.2");
        // One proxy.
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(p.client(peer, &h), ip("203.0.113.9"));
        // A spoofed left-most entry changes nothing.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9")]);
        assert_eq!(p.client(peer, &h), ip("203.0.113.9"));
        // Two proxies, one header per hop, garbage on the client's side.
        let h = headers(&[
            ("x-forwarded-for", "nonsense, 203.0.113.9"),
            ("x-forwarded-for", "192.168.1.7"),
        ]);
        assert_eq!(p.client(peer, &h), ip("203.0.113.9"));
        // Only proxies: the first of them.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 192.168.1.7")]);
        assert_eq!(p.client(peer, &h), ip("10.1.1.1"));
        // No header: the peer.
        assert_eq!(p.client(peer, &HeaderMap::new()), peer);
    }

    #[test]
    fn garbage_where_the_client_should_be_falls_back_to_the_peer() {
        let p = TrustedProxies::parse("10.0.0.0/8").expect("cidr");
        let peer = ip("10.0.0.2");
        for bad in ["", "not-an-ip", "unknown", "203.0.113.9:port", "999.1.1.1"] {
            let h = headers(&[("x-forwarded-for", bad)]);
            assert_eq!(p.client(peer, &h), peer, "{bad:?}");
        }
        let h = headers(&[("forwarded", "for=_hidden;proto=https")]);
        assert_eq!(p.client(peer, &h), peer);
        let h = headers(&[("forwarded", "proto=https")]);
        assert_eq!(p.client(peer, &h), peer);
    }

    #[test]
    fn forwarded_wins_and_reads_ports_quotes_and_ipv6() {
        let p = TrustedProxies::parse("10.0.0.0/8, 2001:db8:ffff::/48").expect("cidrs");
        let peer = ip("10.0.0.2");
        let h = headers(&[
            (
                "forwarded",
                r#"for="[2001:db8::1]:4711";proto=https, For=10.9.9.9"#,
            ),
            ("x-forwarded-for", "198.51.100.77"),
        ]);
        assert_eq!(p.client(peer, &h), ip("2001:db8::1"));
        let h = headers(&[("forwarded", "for=203.0.113.9:1234")]);
        assert_eq!(p.client(peer, &h), ip("203.0.113.9"));
        let h = headers(&[("forwarded", r#"for="[2001:db8:ffff::5]", for=198.51.100.1"#)]);
        assert_eq!(p.client(peer, &h), ip("198.51.100.1"));
        // An IPv4 peer seen as IPv4-mapped IPv6 is still trusted.
        let h = headers(&[("x-forwarded-for", "::ffff:203.0.113.9")]);
        assert_eq!(p.client(ip("::ffff:10.0.0.2"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn trusted_proxies_parse_cidrs_and_addresses_and_name_the_bad_one() {
        let p = TrustedProxies::parse(" 10.0.0.0/8 ,, 192.168.1.7, 2001:db8::/32, 10.1.2.3/16")
            .expect("valid");
        assert!(p.trusts(ip("10.200.0.1")) && p.trusts(ip("192.168.1.7")));
        assert!(p.trusts(ip("2001:db8:1::1")) && p.trusts(ip("10.1.99.1")));
        assert!(!p.trusts(ip("192.168.1.8")));
        assert!(TrustedProxies::parse("").expect("empty").is_empty());
        for bad in ["10.0.0.0/33", "nginx", "10.0.0.1/8/2", "2001:db8::/129"] {
            let e = TrustedProxies::parse(bad).expect_err(bad);
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }
}
