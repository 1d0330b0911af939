//! DNS-SD over mDNS (`serve --advertise`): registers `_osc._udp` (the OSC
//! port) and, with `--oscquery-port`, `_oscjson._tcp` (the OSCQuery HTTP
//! port), so that TouchDesigner, Chataigne, Max's `oscquery` and the like
//! find the server without being told its address. mdns-sd runs the
//! responder on a thread of its own (control side only).
//!
//! Where it is heard depends on `--bind`:
//! - `0.0.0.0` / `::`: every interface, with each interface's own address;
//! - a loopback address (the default, 127.0.0.1): the loopback interface
//!   only, so tools on this machine find it and nothing is announced to the
//!   network that it could not reach;
//! - any other address: that address, on the interfaces mdns-sd picks.
//!
//! A failure to advertise is logged; the server runs on without it.

use std::net::{IpAddr, SocketAddr};

use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};

/// The DNS-SD type of the OSC server.
pub const OSC_SERVICE: &str = "_osc._udp.local.";
/// The DNS-SD type of the OSCQuery HTTP server.
pub const OSCJSON_SERVICE: &str = "_oscjson._tcp.local.";

/// This machine's host name (`localhost` when it cannot be read).
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.split('.').next().unwrap_or(name).into(),
        _ => "localhost".into(),
    }
}

/// The service registrations for an OSC server at `osc` (and an OSCQuery
/// server at `http`) on host `host`: `_osc._udp` first, then `_oscjson._tcp`.
/// The instance name is `neirosynth-<host>-<osc port>`, unique per server
/// on a network; an unspecified bind address is advertised as each
/// interface's own address.
pub fn services(
    host: &str,
    osc: SocketAddr,
    http: Option<SocketAddr>,
) -> Result<Vec<ServiceInfo>, mdns_sd::Error> {
    let instance = format!("neirosynth-{host}-{}", osc.port());
    let host_name = format!("{host}.local.");
    let one = |ty: &str, addr: SocketAddr| -> Result<ServiceInfo, mdns_sd::Error> {
        let ip = match addr.ip().is_unspecified() {
            true => String::new(),
            false => addr.ip().to_string(),
        };
        let txt: &[(&str, &str)] = &[];
        let info = ServiceInfo::new(ty, &instance, &host_name, ip, addr.port(), txt)?;
        Ok(match addr.ip().is_unspecified() {
            true => info.enable_addr_auto(),
            false => info,
        })
    };
    let mut v = vec![one(OSC_SERVICE, osc)?];
    if let Some(http) = http {
        v.push(one(OSCJSON_SERVICE, http)?);
    }
    Ok(v)
}

/// The running responder.
pub struct Advertiser {
    daemon: ServiceDaemon,
    names: Vec<String>,
}

impl Advertiser {
    /// Registers the services of [`services`] for this machine; `bind` picks
    /// the interfaces (see the module docs).
    pub fn start(
        bind: IpAddr,
        osc: SocketAddr,
        http: Option<SocketAddr>,
    ) -> Result<Self, mdns_sd::Error> {
        let infos = services(&host_name(), osc, http)?;
        let daemon = ServiceDaemon::new()?;
        if bind.is_loopback() {
            daemon.disable_interface(IfKind::All)?;
            daemon.enable_interface(match bind {
                IpAddr::V4(_) => IfKind::LoopbackV4,
                IpAddr::V6(_) => IfKind::LoopbackV6,
            })?;
        }
        let mut names = Vec::new();
        for info in infos {
            names.push(info.get_fullname().to_string());
            daemon.register(info)?;
        }
        Ok(Self { daemon, names })
    }

    /// The registered services' full names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Unregisters (a goodbye packet) and stops the responder.
    pub fn close(self) {
        for name in &self.names {
            if let Ok(done) = self.daemon.unregister(name) {
                let _ = done.recv_timeout(std::time::Duration::from_millis(500));
            }
        }
        let _ = self.daemon.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The responder is not started here (mdns-sd joins the mDNS group on
    // every interface as its daemon starts): tests/mdns.rs runs it in a
    // private network namespace. These are the records it announces.
    #[test]
    fn registrations_name_the_osc_and_http_ports() {
        let osc: SocketAddr = "127.0.0.1:57130".parse().unwrap();
        let http: SocketAddr = "127.0.0.1:8123".parse().unwrap();
        let v = services("box", osc, Some(http)).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].get_type(), OSC_SERVICE);
        assert_eq!(v[0].get_port(), 57130);
        assert_eq!(v[0].get_fullname(), "neirosynth-box-57130._osc._udp.local.");
        assert_eq!(v[1].get_type(), OSCJSON_SERVICE);
        assert_eq!(v[1].get_port(), 8123);
        assert_eq!(v[1].get_hostname(), "box.local.");
        let ips: Vec<String> = v[1]
            .get_addresses_v4()
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(ips, ["127.0.0.1"]);
        assert!(!v[1].is_addr_auto());

        let any: SocketAddr = "0.0.0.0:9000".parse().unwrap();
        let v = services("box", any, None).unwrap();
        assert_eq!(v.len(), 1, "no _oscjson._tcp without --oscquery-port");
        assert!(v[0].is_addr_auto(), "every interface's own address");
        assert!(v[0].get_addresses_v4().is_empty());
        assert!(!host_name().is_empty());
    }
}
