//! The `portcullis` binary as a separate process, for tests that kill or restart a server.

use super::*;

/// The `portcullis` binary next to the test executable (`make test` builds it first).
pub fn server_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = dir.join("portcullis");
    assert!(
        binary.exists(),
        "{} is missing: build it first (`make test` does: cargo build --bin portcullis)",
        binary.display()
    );
    binary
}

/// A `portcullis serve` process on `app`'s database (stop the in-process server first), with the
/// tests' token settings, JSON logs to `log` (or nowhere) and extra environment variables.
pub fn serve_process(
    app: &TestApp,
    port: u16,
    env: &[(&str, String)],
    log: Option<&std::path::Path>,
) -> std::process::Child {
    let output = || match log {
        Some(path) => std::process::Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap(),
        ),
        None => std::process::Stdio::null(),
    };
    let mut command = std::process::Command::new(server_binary());
    command
        .arg("serve")
        .env("DATABASE_URL", app.database_url())
        .env("PORTCULLIS_JWT_SECRET", SECRET)
        .env("PORTCULLIS_JWT_ISSUER", ISSUER)
        .env("PORTCULLIS_JWT_AUDIENCE", AUDIENCE)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_LOG_FORMAT", "json")
        .env("PORTCULLIS_JOB_INTERVAL_SECONDS", "1")
        .env("PORTCULLIS_RATE_LIMIT_PER_MINUTE", "0");
    for (name, value) in env {
        command.env(name, value);
    }
    command.stdout(output()).stderr(output()).spawn().unwrap()
}

/// Waits until the server on `port` answers `/readyz`.
pub async fn wait_until_ready(client: &reqwest::Client, port: u16) {
    for _ in 0..300 {
        let ready = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK);
        if ready {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server on port {port} did not get ready");
}
