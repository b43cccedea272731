//! The integration tests, in one binary so that CI links once: the real `oxdl` binary against
//! `oxdl-testserver` on 127.0.0.1, plus the unpacker and the list parser on raw bytes.

mod support;

mod auth;
mod batch;
mod cache;
mod faults;
mod filters;
mod generated;
mod get;
mod properties;
mod ranged;
mod scripting;
mod tree;
mod unpack;
mod verify;
