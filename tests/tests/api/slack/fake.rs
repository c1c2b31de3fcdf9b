//! A fake Slack Web API: a real HTTP server on loopback answering `auth.test`, `users.lookupByEmail`,
//! `conversations.open`, `chat.postMessage`, `chat.update` and `views.open` in Slack's shapes
//! (`{"ok": true, …}` / `{"ok": false, "error": …}`), switchable to 503 or to 429 with `Retry-After`,
//! recording every call; and Slack's side of interactivity: it posts signed, form-encoded
//! `payload=` interactions to Portcullis. Its signatures are computed here with `hmac` directly, not
//! with the server's code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub const BOT_TOKEN: &str = "xoxb-test-0123456789-abcdefghijklmnop";
pub const SIGNING_SECRET: &str = "8f742231b10e8888abcd99aaabbb85a5";

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    /// HTTP 503 to every call.
    Down,
    /// HTTP 429 with `Retry-After: n` to every call.
    RateLimited(u64),
}

/// One call as the fake got it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The JSON body, or the form's fields as a JSON object.
    pub body: Value,
    /// The status answered.
    pub status: u16,
    /// Whether the answer was `ok: true`.
    pub ok: bool,
}

#[derive(Default)]
struct State {
    users: HashMap<String, String>,
    calls: Vec<Call>,
    mode: Option<Mode>,
    /// The last text and blocks of every message, by `channel/ts`.
    messages: HashMap<String, Value>,
    next_ts: u64,
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<State>>);

fn ok(extra: Value) -> Value {
    let mut body = json!({ "ok": true });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

fn refused(error: &str) -> Value {
    json!({ "ok": false, "error": error })
}

async fn method(
    shared: web::Data<Shared>,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let method = path.into_inner();
    let is_json = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body: Value = if is_json {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    } else {
        let fields: serde_json::Map<String, Value> = form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(fields)
    };
    let authorized = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {BOT_TOKEN}"));
    let mut state = shared.0.lock().unwrap();
    let mode = state.mode.unwrap_or(Mode::Up);
    let (status, answer) = match mode {
        Mode::Down => (503, json!("service unavailable")),
        Mode::RateLimited(_) => (429, json!({ "ok": false, "error": "ratelimited" })),
        Mode::Up if !authorized => (200, refused("invalid_auth")),
        Mode::Up => (200, answer(&mut state, &method, &body)),
    };
    let ok = answer["ok"] == json!(true);
    state.calls.push(Call {
        method,
        body,
        status,
        ok,
    });
    let mut response = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if let Mode::RateLimited(seconds) = mode {
        response.insert_header(("Retry-After", seconds.to_string()));
    }
    response.json(answer)
}

fn answer(state: &mut State, method: &str, body: &Value) -> Value {
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    match method {
        "auth.test" => {
            ok(json!({ "team": "Portcullis Test", "team_id": "T0TEST", "user_id": "UBOT" }))
        }
        "users.lookupByEmail" => match state.users.get(&text("email")) {
            Some(id) => ok(json!({ "user": { "id": id, "profile": { "email": text("email") } } })),
            None => refused("users_not_found"),
        },
        "conversations.open" => ok(json!({ "channel": { "id": format!("D{}", text("users")) } })),
        "chat.postMessage" => {
            state.next_ts += 1;
            let ts = format!("1733130000.{:06}", state.next_ts);
            let channel = text("channel");
            state
                .messages
                .insert(format!("{channel}/{ts}"), body.clone());
            ok(json!({ "channel": channel, "ts": ts, "message": { "text": body["text"] } }))
        }
        "chat.update" => {
            let (channel, ts) = (text("channel"), text("ts"));
            let key = format!("{channel}/{ts}");
            if !state.messages.contains_key(&key) {
                return refused("message_not_found");
            }
            state.messages.insert(key, body.clone());
            ok(json!({ "channel": channel, "ts": ts }))
        }
        "views.open" => ok(json!({ "view": { "id": format!("V{}", state.calls.len()) } })),
        _ => refused("unknown_method"),
    }
}

/// The fake Slack workspace and its Web API.
pub struct FakeSlack {
    pub port: u16,
    shared: Shared,
    server: actix_web::dev::ServerHandle,
    client: reqwest::Client,
}

impl FakeSlack {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/api/{method}", web::post().to(method))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            port,
            shared,
            server: handle,
            client: reqwest::Client::new(),
        }
    }

    /// The base URL for `PORTCULLIS_SLACK_API_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api", self.port)
    }

    /// A member of the workspace, found by their email.
    pub fn add_user(&self, email: &str, slack_id: &str) {
        let mut state = self.shared.0.lock().unwrap();
        state.users.insert(email.to_owned(), slack_id.to_owned());
    }

    pub fn set_mode(&self, mode: Mode) {
        self.shared.0.lock().unwrap().mode = Some(mode);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.0.lock().unwrap().calls.clone()
    }

    /// The calls of one method that Slack answered with `ok: true`.
    pub fn succeeded(&self, method: &str) -> Vec<Call> {
        let state = self.shared.0.lock().unwrap();
        state
            .calls
            .iter()
            .filter(|c| c.method == method && c.ok)
            .cloned()
            .collect()
    }

    /// Messages as they stand now (the last post or update of each), by `channel/ts`.
    pub fn messages(&self) -> HashMap<String, Value> {
        self.shared.0.lock().unwrap().messages.clone()
    }

    /// Posts `payload` to Portcullis as Slack does: form-encoded, signed with `secret` at `timestamp`.
    pub async fn post_interaction(
        &self,
        url: &str,
        payload: &Value,
        secret: &str,
        timestamp: i64,
    ) -> reqwest::Response {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        let timestamp = timestamp.to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("v0:{timestamp}:{body}").as_bytes());
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Slack-Request-Timestamp", timestamp)
            .header("X-Slack-Signature", format!("v0={hex}"))
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// [`Self::post_interaction`], signed now with the app's secret.
    pub async fn interact(&self, url: &str, payload: &Value) -> reqwest::Response {
        let now = chrono::Utc::now().timestamp();
        self.post_interaction(url, payload, SIGNING_SECRET, now)
            .await
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        let stopped = self.server.stop(false);
        tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(stopped));
    }
}

/// A click on a message's button (`approve` or `deny`) by a Slack user.
pub fn click(slack_user: &str, action: &str, request_id: &str, action_ts: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": slack_user, "username": "someone", "team_id": "T0TEST" },
        "team": { "id": "T0TEST" },
        "trigger_id": format!("trigger.{action_ts}"),
        "container": { "type": "message" },
        "actions": [{ "type": "button", "block_id": "decision", "action_id": action, "value": request_id, "action_ts": action_ts }]
    })
}

/// The denial modal submitted with its reason and next steps.
pub fn submit_denial(
    slack_user: &str,
    view: &Value,
    view_id: &str,
    reason: &str,
    next_steps: &str,
) -> Value {
    json!({
        "type": "view_submission",
        "user": { "id": slack_user, "team_id": "T0TEST" },
        "view": {
            "id": view_id,
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": { "values": {
                "reason": { "reason": { "type": "plain_text_input", "value": reason } },
                "next_steps": { "next_steps": { "type": "plain_text_input", "value": next_steps } }
            } }
        }
    })
}
