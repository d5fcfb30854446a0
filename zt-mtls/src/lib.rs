//! zt-mtls
