//! zt-token
