//! Shared fixtures for the zt benchmarks.
