//! The client's integration tests, in one test binary: `retry` against a
//! scripted local stub, `routes` against docs/openapi.json, `server` against the
//! real server on both backends (`cargo test -p sonarly-client --test it server::`).

mod retry;
mod routes;
mod server;
