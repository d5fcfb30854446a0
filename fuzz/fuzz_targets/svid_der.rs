//! Parses arbitrary bytes as an X509-SVID leaf: any input must give a value or a typed error,
//! never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(leaf) = zt_mtls::parse_x509_svid(data) {
        // A parsed leaf always names a workload.
        assert!(!leaf.spiffe_id.path().is_empty());
    }
});
