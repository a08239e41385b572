//! HTTP black-box tests of the edge. Every case runs on SQLite and PostgreSQL.

mod accounts;
mod api_keys;
mod audiences;
mod campaigns;
mod catalog;
mod clients;
mod console;
mod cursors;
mod edge;
mod events;
mod input;
mod instances;
mod linkedin_accounts;
mod messages;
mod metrics;
mod openapi;
mod prospecting;
mod ratelimit;
mod responses;
mod seats;
mod server;
mod signals;
mod support;
mod templates;
mod webhooks;
