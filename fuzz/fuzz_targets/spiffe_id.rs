//! Parses arbitrary text as a SPIFFE ID: any input gives an ID or a typed error, never a
//! panic, and every accepted ID prints to text that parses back to the same ID.
#![no_main]

use zt_core::{SpiffeId, TrustDomain};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = SpiffeId::new(text) {
        let printed = id.to_string();
        assert_eq!(SpiffeId::new(&printed).as_ref(), Ok(&id), "{printed}");
        assert!(printed.eq_ignore_ascii_case(text));
    }
    if let Ok(td) = TrustDomain::new(text) {
        assert_eq!(TrustDomain::new(td.as_str()).as_ref(), Ok(&td));
    }
});
