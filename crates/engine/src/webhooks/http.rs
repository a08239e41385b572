//! The outbound HTTP client of webhook deliveries, safe against hostile or
//! mistaken endpoints:
//! - HTTPS only unless the operator allows plain HTTP;
//! - every address a name resolves to is checked against the policy *after*
//!   resolution, on every new connection (a pooled connection was checked
//!   when it was made), and an IP-literal host before any connection;
//! - connect and total timeouts, and at most [`MAX_RESPONSE_BYTES`] read;
//! - no proxy from the environment, and redirects followed only on the same
//!   scheme, host and port, with the method kept (307/308), at most 3 times.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Client, Url, redirect};
use sonarly_domain::webhooks::UrlPolicy;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Response bytes read at most (the rest is not waited for).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Same-host redirects followed at most.
const MAX_REDIRECTS: usize = 3;

/// Resolves names, then drops every address the policy refuses; a name left
/// with none fails with the reason.
struct GuardedResolver {
    policy: UrlPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (allowed, refused) = filter_addrs(policy, resolved);
            if allowed.is_empty() {
                let why = refused.first().map_or("no address", |(_, why)| why);
                let err: Box<dyn std::error::Error + Send + Sync> =
                    format!("refused: {host} resolves to {why}, which this server does not deliver to").into();
                return Err(err);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Splits resolved addresses into those the policy allows and those it refuses (with why).
pub fn filter_addrs(policy: UrlPolicy, addrs: Vec<SocketAddr>) -> (Vec<SocketAddr>, Vec<(SocketAddr, &'static str)>) {
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    for addr in addrs {
        match policy.refusal(addr.ip()) {
            None => allowed.push(addr),
            Some(why) => refused.push((addr, why)),
        }
    }
    (allowed, refused)
}

/// Checks a URL before any connection: scheme, and an IP-literal host.
pub fn preflight(policy: UrlPolicy, url: &str) -> Result<Url, String> {
    let url = Url::parse(url).map_err(|e| format!("refused: the endpoint URL is not valid ({e})"))?;
    if let Some(why) = policy.scheme_refusal(url.scheme()) {
        return Err(format!("refused: {why}"));
    }
    let host = url.host_str().unwrap_or_default();
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>()
        && let Some(why) = policy.refusal(ip)
    {
        return Err(format!("refused: {ip} is {why}, which this server does not deliver to"));
    }
    Ok(url)
}

/// The client every delivery of one dispatcher uses.
pub fn client(policy: UrlPolicy, connect_timeout: Duration, total_timeout: Duration) -> Result<Client, String> {
    let same_origin = redirect::Policy::custom(|attempt| {
        let status = attempt.status().as_u16();
        let next = attempt.url().clone();
        let Some(first) = attempt.previous().first().cloned() else { return attempt.stop() };
        let same = next.scheme() == first.scheme()
            && next.host_str() == first.host_str()
            && next.port_or_known_default() == first.port_or_known_default();
        if same && matches!(status, 307 | 308) && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .redirect(same_origin)
        .connect_timeout(connect_timeout)
        .timeout(total_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(4)
        .user_agent(concat!("Sonarly-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))
}

/// An error and its causes in one line (reqwest wraps the interesting part).
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_private_and_metadata_addresses_are_dropped_by_default() {
        let addrs: Vec<SocketAddr> = ["127.0.0.1:0", "10.1.2.3:0", "169.254.169.254:0", "[::1]:0", "93.184.216.34:0"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let (allowed, refused) = filter_addrs(UrlPolicy::default(), addrs.clone());
        assert_eq!(allowed, vec!["93.184.216.34:0".parse::<SocketAddr>().unwrap()]);
        assert_eq!(refused.len(), 4);
        let (allowed, refused) = filter_addrs(UrlPolicy::PERMISSIVE, addrs);
        assert_eq!(allowed.len(), 4, "private networks allowed");
        assert_eq!(refused[0].0.ip().to_string(), "169.254.169.254", "metadata never");
    }

    #[test]
    fn ip_literals_and_schemes_are_refused_before_any_connection() {
        let strict = UrlPolicy { allow_http: true, allow_private: false };
        for url in ["http://127.0.0.1:9/x", "http://10.0.0.7/x", "http://169.254.169.254/latest", "http://[::1]:9/x"] {
            let err = preflight(strict, url).unwrap_err();
            assert!(err.starts_with("refused:"), "{url}: {err}");
        }
        assert!(preflight(UrlPolicy::default(), "http://hooks.example.com/").unwrap_err().contains("https"));
        assert!(preflight(UrlPolicy::default(), "https://hooks.example.com/").is_ok());
    }
}
