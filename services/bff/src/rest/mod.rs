//! The rules of the bff's REST contract, for what comes in and goes out
//! over HTTP (bodies, views, ranges, file names), and the OpenID Connect
//! checks its sign-in relies on. No I/O here.

pub mod disposition;
pub mod forms;
pub mod oidc;
pub mod queries;
pub mod range;
pub mod views;
pub mod webhooks;
