//! The rules of the bff's REST contract, for what comes in and goes out
//! over HTTP (bodies, views, ranges, file names), and the OpenID Connect
//! checks its sign-in relies on. No I/O here.

pub(crate) mod disposition;
pub(crate) mod forms;
pub(crate) mod oidc;
pub(crate) mod queries;
pub(crate) mod range;
pub(crate) mod views;
pub(crate) mod webhooks;
