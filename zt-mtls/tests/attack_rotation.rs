//! Attacks on rotation: files on disk that must not replace a good SVID, or keep a bad one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use common::{Cast, SERVER_ID, id};
use zt_mtls::dev::DevCertSpec;
use zt_mtls::{PemFileSvidSource, SvidSource};

fn write_atomically(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn watch(dir: &Path) -> PemFileSvidSource {
    PemFileSvidSource::watch(dir.join("svid.pem"), dir.join("svid.key")).unwrap()
}

#[tokio::test]
async fn full_chain_written_after_a_leaf_only_chain_replaces_it() {
    let cast = Cast::new();
    let intermediate = cast.ca.intermediate().unwrap();
    let first = intermediate.issue_svid(&id(SERVER_ID)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_atomically(&dir.path().join("svid.pem"), &first.chain_pem());
    write_atomically(&dir.path().join("svid.key"), &first.private_key_pem());
    let source = watch(dir.path());
    assert_eq!(source.current_svid().unwrap().chain().len(), 2);

    // A writer that is not atomic: the key, then the leaf block, then the intermediate.
    let rotated = intermediate.issue_svid(&id(SERVER_ID)).unwrap();
    write_atomically(&dir.path().join("svid.key"), &rotated.private_key_pem());
    let leaf_only = zt_mtls::Svid::new(vec![rotated.chain()[0].clone()], rotated.private_key())
        .unwrap()
        .chain_pem();
    write_atomically(&dir.path().join("svid.pem"), &leaf_only);
    let _ = source.reload();
    write_atomically(&dir.path().join("svid.pem"), &rotated.chain_pem());
    source.reload().unwrap();

    // The finished file is what is served, and a peer accepts it.
    let served = source.current_svid().unwrap();
    assert_eq!(served.chain(), rotated.chain());
    cast.client_verifier()
        .verify_svid(&served.chain()[0], &served.chain()[1..])
        .unwrap();
}

#[tokio::test]
async fn expired_svid_written_over_a_good_one_keeps_the_good_one() {
    let cast = Cast::new();
    let dir = tempfile::tempdir().unwrap();
    write_atomically(&dir.path().join("svid.pem"), &cast.server_svid.chain_pem());
    write_atomically(
        &dir.path().join("svid.key"),
        &cast.server_svid.private_key_pem(),
    );
    let source = watch(dir.path());

    // A stale copy (a restored backup, a writer that fell behind) lands on disk.
    let mut spec = DevCertSpec::svid(&id(SERVER_ID));
    spec.not_before = SystemTime::now() - Duration::from_secs(2 * 24 * 60 * 60);
    spec.not_after = SystemTime::now() - Duration::from_secs(24 * 60 * 60);
    let stale = cast.ca.issue(&spec).unwrap();
    write_atomically(&dir.path().join("svid.key"), &stale.private_key_pem());
    write_atomically(&dir.path().join("svid.pem"), &stale.chain_pem());

    let error = source.reload().unwrap_err();
    assert!(
        matches!(error, zt_mtls::LoadError::Expired { .. }),
        "{error:?}"
    );
    assert_eq!(
        source.current_svid().unwrap().thumbprint(),
        cast.server_svid.thumbprint()
    );
}

#[tokio::test]
async fn expired_svid_files_never_become_the_first_svid() {
    let cast = Cast::new();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = DevCertSpec::svid(&id(SERVER_ID));
    spec.not_before = SystemTime::now() - Duration::from_secs(2 * 24 * 60 * 60);
    spec.not_after = SystemTime::now() - Duration::from_secs(60);
    let stale = cast.ca.issue(&spec).unwrap();
    write_atomically(&dir.path().join("svid.pem"), &stale.chain_pem());
    write_atomically(&dir.path().join("svid.key"), &stale.private_key_pem());
    let source = watch(dir.path());
    assert!(source.current_svid().is_none());
}

#[tokio::test]
async fn bundle_file_emptied_or_deleted_keeps_the_last_good_bundle() {
    let cast = Cast::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.pem");
    write_atomically(&path, &cast.ca.cert_pem());
    let source = std::sync::Arc::new(
        zt_mtls::BundleFileSource::watch([(common::td("example.org"), path.clone())]).unwrap(),
    );
    let verifier = zt_mtls::SpiffeClientVerifier::new(
        std::sync::Arc::clone(&source),
        zt_mtls::Authorizer::any(),
    );
    let chain = cast.client_svid.chain();
    verifier.verify_svid(&chain[0], &chain[1..]).unwrap();

    for contents in [
        "",
        "not a bundle",
        r#"{"keys":[]}"#,
        r#"{"keys":[{"use":"jwt-svid","kty":"EC","kid":"k","crv":"P-256","x":"","y":""}]}"#,
    ] {
        write_atomically(&path, contents);
        assert!(source.reload().is_err(), "{contents:?} loaded");
        let outcome = verifier.verify_svid(&chain[0], &chain[1..]);
        assert!(outcome.is_ok(), "{contents:?} emptied trust: {outcome:?}");
    }
    std::fs::remove_file(&path).unwrap();
    assert!(source.reload().is_err());
    verifier.verify_svid(&chain[0], &chain[1..]).unwrap();
}
