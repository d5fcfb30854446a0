//! Attacks on secrecy: a private key must never come back in an error, a log or `Debug`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::error::Error as _;

use common::Cast;
use zt_mtls::Svid;

/// Every rendering of `error`: `Display`, `Debug`, and each source's `Display`.
fn renderings(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error}\n{error:?}\n");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!("{cause}\n{cause:?}\n"));
        source = cause.source();
    }
    text
}

/// Whether `text` shows any 16-byte window of `secret`, as text or as a byte list.
fn shows_any_part_of(text: &str, secret: &str) -> bool {
    let bytes = secret.as_bytes();
    bytes.windows(16).step_by(8).any(|window| {
        let as_text = String::from_utf8_lossy(window);
        let as_list = format!("{window:?}");
        let as_list = as_list.trim_start_matches('[').trim_end_matches(']');
        text.contains(as_text.as_ref()) || text.contains(as_list)
    })
}

#[test]
fn key_pem_flattened_onto_one_line_is_refused_without_echoing_the_key() {
    let cast = Cast::new();
    let key_pem = cast.client_svid.private_key_pem();
    let body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    // As an environment variable or a YAML value often carries it: `\n` escaped, one line.
    let flattened = key_pem.replace('\n', "\\n");
    let error = Svid::from_pem(
        cast.client_svid.chain_pem().as_bytes(),
        flattened.as_bytes(),
    )
    .unwrap_err();
    let text = renderings(&error);
    assert!(!shows_any_part_of(&text, &body), "{text}");
}

#[test]
fn key_pem_with_the_begin_line_glued_to_the_body_is_refused_without_echoing_the_key() {
    let cast = Cast::new();
    let key_pem = cast.client_svid.private_key_pem();
    let body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    // All on one line, real newline only at the end.
    let glued = format!("{}\n", key_pem.replace('\n', ""));
    let error =
        Svid::from_pem(cast.client_svid.chain_pem().as_bytes(), glued.as_bytes()).unwrap_err();
    let text = renderings(&error);
    assert!(!shows_any_part_of(&text, &body), "{text}");
}

#[test]
fn key_pem_error_still_says_the_key_is_unreadable() {
    let cast = Cast::new();
    let flattened = cast.client_svid.private_key_pem().replace('\n', "\\n");
    let error = Svid::from_pem(
        cast.client_svid.chain_pem().as_bytes(),
        flattened.as_bytes(),
    )
    .unwrap_err();
    assert!(matches!(error, zt_mtls::LoadError::KeyPem(_)), "{error:?}");
    assert!(error.to_string().contains("private key"), "{error}");
    assert!(error.source().is_some());
}

#[test]
fn combined_chain_file_holding_a_flattened_key_is_refused_without_echoing_the_key() {
    let cast = Cast::new();
    let key_pem = cast.client_svid.private_key_pem();
    let body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    // A chain file that also carries the key, flattened onto one line.
    let combined = format!(
        "{}{}\n",
        cast.client_svid.chain_pem(),
        key_pem.replace('\n', "\\n")
    );
    let error = Svid::from_pem(combined.as_bytes(), key_pem.as_bytes()).unwrap_err();
    assert!(
        matches!(error, zt_mtls::LoadError::ChainPem(_)),
        "{error:?}"
    );
    let text = renderings(&error);
    assert!(!shows_any_part_of(&text, &body), "{text}");
}

/// A tracing writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[test]
fn failed_svid_file_load_is_logged_without_the_key() {
    let cast = Cast::new();
    let key_pem = cast.client_svid.private_key_pem();
    let body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("svid.pem"), cast.client_svid.chain_pem()).unwrap();
    std::fs::write(dir.path().join("svid.key"), key_pem.replace('\n', "\\n")).unwrap();

    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let source = tracing::subscriber::with_default(subscriber, || {
        zt_mtls::PemFileSvidSource::watch(dir.path().join("svid.pem"), dir.path().join("svid.key"))
            .unwrap()
    });
    assert!(zt_mtls::SvidSource::current_svid(&source).is_none());
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("SVID reload failed"), "{logs}");
    assert!(!shows_any_part_of(&logs, &body), "{logs}");
}
