//! zt-tower
