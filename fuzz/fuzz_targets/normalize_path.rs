//! Normalizes arbitrary text as a request path: any input gives a path or a typed error,
//! never a panic, and a normalized path normalizes to itself with no `//`, `/./` or `/../`.
#![no_main]

use zt_core::normalize_path;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = normalize_path(text) {
        let again = normalize_path(path.as_str());
        assert_eq!(again.as_ref(), Ok(&path));
        let s = path.as_str();
        assert!(s.starts_with('/'));
        assert!(
            !s.contains("//") && !s.contains("/./") && !s.contains("/../"),
            "{s}"
        );
    }
});
