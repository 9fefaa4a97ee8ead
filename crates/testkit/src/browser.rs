//! A real browser for tests: Debian's headless Chromium driven through
//! ChromeDriver over the W3C WebDriver protocol (plain HTTP and JSON, so
//! a few requests suffice), with the axe-core accessibility engine that a
//! test injects into a page. `deploy/local/browser.sh install` provides
//! both, once per machine; each test starts a ChromeDriver of its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

/// The page sizes a test looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// A laptop: a 1280-pixel-wide window.
    Desktop,
    /// A phone: 390 × 844 CSS pixels at 3 device pixels each.
    Phone,
}

/// A ChromeDriver of one test, and the axe-core source to inject.
pub struct TestBrowser {
    driver: Child,
    base: String,
    axe: String,
    http: reqwest::Client,
    _state: tempfile::TempDir,
}

impl Drop for TestBrowser {
    fn drop(&mut self) {
        // ChromeDriver leads its own process group: its browsers go too.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}

impl TestBrowser {
    /// A ChromeDriver of `test`'s own; `None` (outside CI only) when the
    /// browser cannot be had.
    pub async fn start(test: &str) -> Option<Self> {
        // Installs Chromium, ChromeDriver and axe-core once per machine;
        // prints the path of axe.min.js.
        let axe_path = match crate::installed_by("browser.sh").map(PathBuf::from) {
            Ok(path) => path,
            Err(why) => {
                crate::missing_part(test, &format!("Chromium and ChromeDriver: {why}"));
                return None;
            }
        };
        let axe = std::fs::read_to_string(&axe_path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", axe_path.display()));
        let port = crate::free_port();
        let state = tempfile::tempdir().expect("a state directory");
        let log = std::fs::File::create(state.path().join("chromedriver.log")).expect("a log");
        use std::os::unix::process::CommandExt as _;
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .arg("--log-level=WARNING")
            // Chromium's profile and crash files stay in the state directory.
            .env("TMPDIR", state.path())
            .env("XDG_CONFIG_HOME", state.path())
            .env("XDG_CACHE_HOME", state.path())
            .stdout(log.try_clone().expect("the log"))
            .stderr(log)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let browser = Self {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            axe,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
            _state: state,
        };
        let status = format!("{}/status", browser.base);
        crate::eventually("chromedriver answers", Duration::from_secs(30), || {
            let request = browser.http.get(&status).send();
            async move { request.await.ok().filter(|r| r.status().is_success()) }
        })
        .await;
        Some(browser)
    }

    /// A new browser window of `screen`'s size.
    pub async fn session(&self, screen: Screen) -> Session {
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            // Root needs --no-sandbox; the rest guard against a small
            // /dev/shm and no GPU.
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,900", "--lang=id"],
        });
        if screen == Screen::Phone {
            options["mobileEmulation"] = json!({"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3, "touch": true}});
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let created = call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/session", self.base),
            Some(capabilities),
        )
        .await;
        Session {
            url: format!(
                "{}/session/{}",
                self.base,
                created["sessionId"].as_str().expect("a session id")
            ),
            http: self.http.clone(),
            axe: self.axe.clone(),
        }
    }
}

/// One WebDriver request; its `value`. A WebDriver error fails the test,
/// naming the command.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http.request(method.clone(), url);
    if let Some(body) = body {
        request = request.json(&body);
    } else if method == reqwest::Method::POST {
        request = request.json(&json!({}));
    }
    let answer = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    let status = answer.status();
    let value: Value = answer
        .json()
        .await
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    assert!(
        status.is_success(),
        "WebDriver {method} {url} answered {status}: {}",
        value["value"]["message"]
    );
    value["value"].clone()
}

/// An element reference of the W3C protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser window.
pub struct Session {
    url: String,
    http: reqwest::Client,
    axe: String,
}

impl Session {
    async fn post(&self, path: &str, body: Value) -> Value {
        call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}{path}", self.url),
            Some(body),
        )
        .await
    }

    async fn get(&self, path: &str) -> Value {
        call(
            &self.http,
            reqwest::Method::GET,
            &format!("{}{path}", self.url),
            None,
        )
        .await
    }

    /// Loads `url` and waits until it has loaded.
    pub async fn go(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn current_url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    async fn find(&self, css: &str) -> Option<String> {
        let found = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        found.as_array()?.first()?[ELEMENT]
            .as_str()
            .map(String::from)
    }

    /// The text of the first element `css` selects, as rendered.
    pub async fn text(&self, css: &str) -> String {
        let id = self
            .find(css)
            .await
            .unwrap_or_else(|| panic!("no `{css}` on {}", self.url));
        self.get(&format!("/element/{id}/text"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// An attribute of the first element `css` selects.
    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let id = self.find(css).await?;
        self.get(&format!("/element/{id}/attribute/{name}"))
            .await
            .as_str()
            .map(String::from)
    }

    /// How many elements `css` selects.
    pub async fn count(&self, css: &str) -> usize {
        self.post("/elements", json!({"using": "css selector", "value": css}))
            .await
            .as_array()
            .map_or(0, Vec::len)
    }

    /// Clicks the first element `css` selects (a link or a button), as a
    /// person would.
    pub async fn click(&self, css: &str) {
        let id = self
            .find(css)
            .await
            .unwrap_or_else(|| panic!("nothing to click at `{css}`"));
        self.post(&format!("/element/{id}/click"), json!({})).await;
    }

    /// Clicks the link or button at `css` and waits until the browser is
    /// on the page it leads to and has loaded it (a click answers when the
    /// navigation starts, not when it ends).
    pub async fn follow(&self, css: &str) {
        let from = self.current_url().await;
        self.click(css).await;
        for _ in 0..150 {
            let loaded = self
                .script("return document.readyState === 'complete'", json!([]))
                .await;
            if self.current_url().await != from && loaded == true {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("following `{css}` from {from} led nowhere within 15 s");
    }

    /// Chooses the option of the `<select>` at `css` whose value is
    /// `value`, as a person would with the keyboard or a click.
    pub async fn choose(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]"))
            .await;
    }

    /// Presses keys (`\u{E004}` is Tab) where the focus is.
    pub async fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({"type": "keyDown", "value": c.to_string()}),
                    json!({"type": "keyUp", "value": c.to_string()}),
                ]
            })
            .collect();
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// The page as a PNG, written to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.get("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a base64 screenshot");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the screenshots' directory");
        }
        std::fs::write(path, bytes).expect("write the screenshot");
    }

    /// What axe-core finds against WCAG 2.1 A and AA on the page: each
    /// violated rule with the elements that break it.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        self.script(&self.axe, json!([])).await;
        let found = self
            .post(
                "/execute/async",
                json!({"script": r#"
                    const done = arguments[arguments.length - 1];
                    axe.run(document, {runOnly: {type: 'tag',
                        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                      .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): '
                          + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                      .catch(e => done(['axe failed: ' + e]));
                "#, "args": []}),
            )
            .await;
        found
            .as_array()
            .unwrap_or_else(|| panic!("axe-core answered no list of violations: {found}"))
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Closes the window.
    pub async fn close(self) {
        call(&self.http, reqwest::Method::DELETE, &self.url, None).await;
    }
}
