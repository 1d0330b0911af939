//! The OSCQuery HTTP server (`serve --oscquery-port N`): serves the tree
//! [`crate::control::oscquery`] builds, on threads of its own (tiny_http's),
//! control side only. The network thread calls [`OscQueryHttp::refresh`]
//! each turn of its loop; when the bank has changed (an instrument loaded,
//! reloaded or rescanned) it rebuilds the tree and publishes it.
//!
//! `GET /path` answers the node (`application/json`), `GET /path?ATTR` one
//! attribute, `GET /?HOST_INFO` the host info; an unknown path is a 404,
//! an unknown query a 400, a method other than GET or HEAD a 405.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use serde_json::Value;
use tiny_http::{Header, Method, Request, Response, Server};

use super::error::ServeError;
use crate::control::oscquery;
use crate::instrument::bank::Bank;

/// What the HTTP threads serve: the tree and the host info.
struct Published {
    tree: Value,
    host_info: Value,
}

/// The running OSCQuery server.
pub struct OscQueryHttp {
    server: Arc<Server>,
    local: SocketAddr,
    osc: SocketAddr,
    published: Arc<RwLock<Arc<Published>>>,
    /// The bank the tree was built from: each instrument's address.
    seen: Vec<usize>,
    thread: Option<JoinHandle<()>>,
}

/// Each instrument's address: a load, reload or rescan changes it.
fn identity(bank: &Bank) -> impl Iterator<Item = usize> + '_ {
    bank.instruments.iter().map(|i| Arc::as_ptr(i) as usize)
}

impl OscQueryHttp {
    /// Binds `bind:port` (0: a free port): done before anything else
    /// starts, so that a busy port stops the server at once.
    pub fn bind(bind: IpAddr, port: u16) -> Result<TcpListener, ServeError> {
        TcpListener::bind((bind, port)).map_err(|source| ServeError::HttpBind {
            addr: format!("{bind}:{port}"),
            source,
        })
    }

    /// Starts serving, on `listener`, the tree of `bank`, whose OSC socket
    /// is `osc`.
    pub fn start(listener: TcpListener, osc: SocketAddr, bank: &Bank) -> Result<Self, ServeError> {
        let local = listener.local_addr()?;
        let server = Server::from_listener(listener, None).map_err(|e| ServeError::OscQuery {
            addr: local.to_string(),
            reason: e.to_string(),
        })?;
        let server = Arc::new(server);
        let published = Arc::new(RwLock::new(Arc::new(Published {
            tree: oscquery::tree(bank),
            host_info: oscquery::host_info(osc),
        })));
        let thread = {
            let (server, published) = (server.clone(), published.clone());
            std::thread::Builder::new()
                .name("oscquery-http".into())
                .spawn(move || {
                    for request in server.incoming_requests() {
                        let now = published.read().map(|p| p.clone());
                        match now {
                            Ok(p) => respond(request, &p),
                            Err(_) => {
                                let _ = request.respond(Response::empty(500));
                            }
                        }
                    }
                })?
        };
        Ok(Self {
            server,
            local,
            osc,
            published,
            seen: identity(bank).collect(),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Rebuilds and publishes the tree if `bank` changed since the last
    /// build (cheap otherwise: one pointer compare per instrument).
    pub fn refresh(&mut self, bank: &Bank) {
        if identity(bank).eq(self.seen.iter().copied()) {
            return;
        }
        self.seen = identity(bank).collect();
        let next = Arc::new(Published {
            tree: oscquery::tree(bank),
            host_info: oscquery::host_info(self.osc),
        });
        if let Ok(mut p) = self.published.write() {
            *p = next;
        }
        tracing::debug!(
            "oscquery: tree rebuilt ({} instruments)",
            bank.instruments.len()
        );
    }

    /// Stops serving and joins the thread.
    pub fn close(mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers one request from `p`.
fn respond(request: Request, p: &Published) {
    if !matches!(request.method(), Method::Get | Method::Head) {
        let _ = request.respond(text(405, "OSCQuery answers GET only"));
        return;
    }
    let url = request.url().to_string();
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (url.as_str(), None),
    };
    let answer = oscquery::answer(&p.tree, &p.host_info, path, query);
    let response = match (answer.status, answer.body) {
        (200, Some(body)) => Response::from_string(body).with_header(header("application/json")),
        (404, _) => text(404, &format!("no OSC method or container at {path}")),
        (400, _) => text(400, &format!("unknown query `{}`", query.unwrap_or(""))),
        (status, _) => Response::from_string(String::new()).with_status_code(status),
    };
    let _ = request.respond(response);
}

/// A `Content-Type` header.
fn header(content_type: &str) -> Header {
    Header::from_bytes("Content-Type", content_type).expect("a valid header")
}

/// A plain-text answer with `status`.
fn text(status: u16, reason: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string(format!("{reason}\n"))
        .with_status_code(status)
        .with_header(header("text/plain; charset=utf-8"))
}
