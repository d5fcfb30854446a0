//! Shared fixtures for the zt examples.
