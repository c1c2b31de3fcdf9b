//! Real peers for notification tests: an HTTP webhook receiver on loopback (actix-web) and an SMTP
//! server process (aiosmtpd, from `make venv`).

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// A port nothing listens on (yet): bound, then released.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One webhook call as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn webhook_id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_owned()
    }

    /// Verifies the signature with the Standard Webhooks reference library (not our signing code).
    pub fn verify(&self, secret: &str) -> Result<(), String> {
        standardwebhooks::Webhook::new(secret)
            .map_err(|e| e.to_string())?
            .verify(&self.body, &self.headers)
            .map_err(|e| e.to_string())
    }
}

#[derive(Clone, Default)]
struct Inbox {
    calls: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

async fn receive(inbox: web::Data<Inbox>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let mut headers = HeaderMap::new();
    for (name, value) in request.headers() {
        headers.append(
            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    inbox.calls.lock().unwrap().push(Received {
        headers,
        body: body.to_vec(),
    });
    let status = inbox.status.load(Ordering::SeqCst);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .body("receiver says hi")
}

/// An HTTP server that records every request and answers with a status the test sets (200 first).
pub struct WebhookReceiver {
    pub port: u16,
    inbox: Inbox,
    server: actix_web::dev::ServerHandle,
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> Self {
        let inbox = Inbox::default();
        inbox.status.store(200, Ordering::SeqCst);
        let data = web::Data::new(inbox.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .bind(("127.0.0.1", port))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            port,
            inbox,
            server: handle,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/portcullis", self.port)
    }

    pub fn answer(&self, status: u16) {
        self.inbox.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.calls.lock().unwrap().clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        let stopped = self.server.stop(false);
        tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(stopped));
    }
}

/// The Python interpreter of `make venv`.
fn venv_python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make venv` (`make test` does) to install the test SMTP server",
        python.display()
    );
    python
}

/// One email as the SMTP server got it, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub rcpt_tos: Vec<String>,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A real SMTP server process (aiosmtpd) that keeps every message it accepts.
pub struct SmtpServer {
    pub port: u16,
    process: std::process::Child,
    out: PathBuf,
}

impl SmtpServer {
    pub fn start() -> Self {
        Self::start_on(0)
    }

    pub fn start_on(port: u16) -> Self {
        let out =
            std::env::temp_dir().join(format!("portcullis-mail-{}.jsonl", uuid::Uuid::now_v7()));
        let mut process = std::process::Command::new(venv_python())
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("support/smtp_sink.py"))
            .arg(&out)
            .arg(port.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(process.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .expect("the SMTP server prints its port");
        Self { port, process, out }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn mails(&self) -> Vec<Mail> {
        let Ok(text) = std::fs::read_to_string(&self.out) else {
            return Vec::new();
        };
        text.lines()
            .map(|line| {
                let v: Value = serde_json::from_str(line).unwrap();
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                Mail {
                    rcpt_tos: v["rcpt_tos"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_owned())
                        .collect(),
                    from: s("from"),
                    to: s("to"),
                    subject: s("subject"),
                    text: s("text"),
                    html: s("html"),
                }
            })
            .collect()
    }

    /// The mails to one address.
    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.rcpt_tos.iter().any(|r| r == address))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_file(&self.out);
    }
}
