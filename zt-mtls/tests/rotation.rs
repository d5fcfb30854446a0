//! Rotation on disk: SVID and bundle files replaced under a running server and client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::{CLIENT_ID, Cast, SERVER_ID, call, id, td};
use tokio::net::TcpListener;
use zt_mtls::dev::DevCa;
use zt_mtls::{
    Authorizer, BundleFileSource, PemFileSvidSource, SpiffeAcceptor, SpiffeClientVerifier, Svid,
    SvidSource, VerifyError,
};

/// Replaces `path` atomically: write a sibling, then rename over.
fn write_atomically(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn write_svid(dir: &Path, svid: &Svid) {
    write_atomically(&dir.join("svid.pem"), &svid.chain_pem());
    write_atomically(&dir.join("svid.key"), &svid.private_key_pem());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificate_rotated_on_disk_is_served_without_a_failed_connection() {
    let cast = Cast::new();
    let dir = tempfile::tempdir().unwrap();
    write_svid(dir.path(), &cast.server_svid);
    let source = Arc::new(
        PemFileSvidSource::watch(dir.path().join("svid.pem"), dir.path().join("svid.key")).unwrap(),
    );
    assert_eq!(
        source.current_svid().unwrap().thumbprint(),
        cast.server_svid.thumbprint()
    );

    // A server accepting until the test ends.
    let config = zt_mtls::server_config(Arc::clone(&source), cast.server_verifier()).unwrap();
    let acceptor = SpiffeAcceptor::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok((mut tls, _)) = acceptor.accept(tcp).await {
                    let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
                }
            });
        }
    });

    // A client loop; the files change after a few calls.
    let rotated = cast.ca.issue_svid(&id(SERVER_ID)).unwrap();
    let connector = cast.connector();
    let mut seen_rotated = 0;
    let mut calls = 0;
    while seen_rotated < 5 {
        assert!(calls < 500, "rotated SVID never served after {calls} calls");
        if calls == 5 {
            write_svid(dir.path(), &rotated);
        }
        let (peer, _) = call(&connector, addr)
            .await
            .unwrap_or_else(|e| panic!("call {calls} failed during rotation: {e}"));
        if peer.thumbprint == rotated.thumbprint() {
            seen_rotated += 1;
        } else {
            assert_eq!(peer.thumbprint, cast.server_svid.thumbprint());
            assert_eq!(
                seen_rotated, 0,
                "old SVID served again after the rotated one"
            );
        }
        calls += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.abort();
}

#[tokio::test]
async fn half_written_rotation_keeps_the_last_good_svid() {
    let cast = Cast::new();
    let dir = tempfile::tempdir().unwrap();
    write_svid(dir.path(), &cast.server_svid);
    let source =
        PemFileSvidSource::watch(dir.path().join("svid.pem"), dir.path().join("svid.key")).unwrap();

    // New chain, old key: not a usable pair.
    let rotated = cast.ca.issue_svid(&id(SERVER_ID)).unwrap();
    write_atomically(&dir.path().join("svid.pem"), &rotated.chain_pem());
    assert!(source.reload().is_err());
    assert_eq!(
        source.current_svid().unwrap().thumbprint(),
        cast.server_svid.thumbprint()
    );

    // The key arrives: the pair loads.
    write_atomically(&dir.path().join("svid.key"), &rotated.private_key_pem());
    source.reload().unwrap();
    assert_eq!(
        source.current_svid().unwrap().thumbprint(),
        rotated.thumbprint()
    );
}

#[tokio::test]
async fn svid_file_source_is_empty_until_the_files_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let source =
        PemFileSvidSource::watch(dir.path().join("svid.pem"), dir.path().join("svid.key")).unwrap();
    assert!(source.current_svid().is_none());
    let cast = Cast::new();
    write_svid(dir.path(), &cast.client_svid);
    source.reload().unwrap();
    assert_eq!(source.current_svid().unwrap().spiffe_id(), &id(CLIENT_ID));
}

fn spiffe_bundle_json(ca: &DevCa) -> String {
    let der = base64::engine::general_purpose::STANDARD.encode(ca.cert_der());
    format!(
        r#"{{"keys":[{{"use":"x509-svid","kty":"EC","crv":"P-256","x5c":["{der}"]}}],
            "spiffe_refresh_hint":300}}"#
    )
}

#[tokio::test]
async fn bundle_file_rotated_on_disk_is_trusted_without_a_restart() {
    let old_ca = DevCa::new(td("example.org")).unwrap();
    let new_ca = DevCa::new(td("example.org")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.org.pem");
    write_atomically(&path, &old_ca.cert_pem());
    let source = Arc::new(BundleFileSource::watch([(td("example.org"), path.clone())]).unwrap());
    let verifier = SpiffeClientVerifier::new(Arc::clone(&source), Authorizer::any());

    let old_svid = old_ca.issue_svid(&id(CLIENT_ID)).unwrap();
    let new_svid = new_ca.issue_svid(&id(CLIENT_ID)).unwrap();
    verifier.verify_svid(&old_svid.chain()[0], &[]).unwrap();
    assert!(verifier.verify_svid(&new_svid.chain()[0], &[]).is_err());

    // Rotate to the new CA, in the SPIFFE bundle format this time, and wait for the watcher.
    write_atomically(&path, &spiffe_bundle_json(&new_ca));
    let mut polls = 0;
    while verifier.verify_svid(&new_svid.chain()[0], &[]).is_err() {
        assert!(polls < 200, "rotated bundle never picked up");
        polls += 1;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(matches!(
        verifier.verify_svid(&old_svid.chain()[0], &[]),
        Err(VerifyError::BadSignature | VerifyError::UnknownIssuer { .. })
    ));
}

#[tokio::test]
async fn broken_bundle_file_keeps_the_last_good_bundle() {
    let ca = DevCa::new(td("example.org")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.pem");
    write_atomically(&path, &ca.cert_pem());
    let source = BundleFileSource::watch([(td("example.org"), path.clone())]).unwrap();
    write_atomically(&path, "not a bundle");
    assert!(source.reload().is_err());
    assert_eq!(
        source
            .load()
            .get(&td("example.org"))
            .unwrap()
            .certificates()
            .len(),
        1
    );
}

/// Lays out `svid` as Kubernetes does for a mounted Secret: real files in a timestamped
/// directory, `..data` linking to it, and the visible names linking through `..data`.
#[cfg(unix)]
fn publish_like_kubernetes(dir: &Path, version: &str, svid: &Svid) {
    use std::os::unix::fs::symlink;
    let data = dir.join(version);
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("svid.pem"), svid.chain_pem()).unwrap();
    std::fs::write(data.join("svid.key"), svid.private_key_pem()).unwrap();
    symlink(version, dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    for name in ["svid.pem", "svid.key"] {
        if std::fs::symlink_metadata(dir.join(name)).is_err() {
            symlink(Path::new("..data").join(name), dir.join(name)).unwrap();
        }
    }
}

#[cfg(unix)]
#[tokio::test]
async fn svid_rotated_by_a_kubernetes_style_link_swap_is_picked_up() {
    let cast = Cast::new();
    let dir = tempfile::tempdir().unwrap();
    publish_like_kubernetes(dir.path(), "..2026_01_01", &cast.server_svid);
    let source =
        PemFileSvidSource::watch(dir.path().join("svid.pem"), dir.path().join("svid.key")).unwrap();
    assert_eq!(
        source.current_svid().unwrap().thumbprint(),
        cast.server_svid.thumbprint()
    );

    let rotated = cast.ca.issue_svid(&id(SERVER_ID)).unwrap();
    publish_like_kubernetes(dir.path(), "..2026_01_02", &rotated);
    let mut polls = 0;
    while source.current_svid().unwrap().thumbprint() != rotated.thumbprint() {
        assert!(polls < 200, "link swap never picked up");
        polls += 1;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
