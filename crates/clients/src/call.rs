//! A unary call under the client's [`Policy`]: one deadline for the call
//! (retries included), sent along as `grpc-timeout` and enforced here too,
//! so a stalled service ends in DEADLINE_EXCEEDED rather than a hang.

use std::{future::Future, time::Duration};

use folio_proto::errors::Reason;
use tokio::time::{Instant, sleep, timeout_at};
use tonic::{Request, Response, Status, metadata::MetadataMap};

use crate::{CallError, Policy};

/// The pause before the first retry; doubled for each one after.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// Sends a call that changes something: once.
pub(crate) async fn write<Req, Resp, R, Fut>(
    policy: Policy,
    request: Request<Req>,
    send: impl FnOnce(Request<Req>) -> Fut,
) -> Result<Resp, CallError<R>>
where
    Fut: Future<Output = Result<Response<Resp>, Status>>,
    R: Reason,
{
    let deadline = Instant::now() + policy.deadline;
    attempt(deadline, request, send).await
}

/// Sends an idempotent read, again while the service is unreachable and
/// the retry budget and the deadline allow.
pub(crate) async fn read<Req, Resp, R, Fut>(
    policy: Policy,
    request: Request<Req>,
    mut send: impl FnMut(Request<Req>) -> Fut,
) -> Result<Resp, CallError<R>>
where
    Req: Clone,
    Fut: Future<Output = Result<Response<Resp>, Status>>,
    R: Reason,
{
    let deadline = Instant::now() + policy.deadline;
    let (metadata, _, message) = request.into_parts();
    let mut backoff = FIRST_BACKOFF;
    let mut retries = policy.read_retries;
    loop {
        let request = rebuild(&metadata, message.clone());
        match attempt(deadline, request, &mut send).await {
            Err(error) if error.is_transient() && retries > 0 => {
                if Instant::now() + backoff >= deadline {
                    return Err(error);
                }
                tracing::debug!(%error, "retrying a read");
                retries -= 1;
                sleep(backoff).await;
                backoff *= 2;
            }
            answer => return answer,
        }
    }
}

fn rebuild<T>(metadata: &MetadataMap, message: T) -> Request<T> {
    Request::from_parts(metadata.clone(), tonic::Extensions::default(), message)
}

async fn attempt<Req, Resp, R, Fut>(
    deadline: Instant,
    mut request: Request<Req>,
    send: impl FnOnce(Request<Req>) -> Fut,
) -> Result<Resp, CallError<R>>
where
    Fut: Future<Output = Result<Response<Resp>, Status>>,
    R: Reason,
{
    // The service gives up at the same moment (it reads `grpc-timeout`).
    request.set_timeout(deadline.saturating_duration_since(Instant::now()));
    match timeout_at(deadline, send(request)).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        // The service gave up at the deadline too (tonic answers CANCELLED).
        Ok(Err(_)) if Instant::now() >= deadline => Err(CallError::DeadlineExceeded),
        Ok(Err(status)) => Err(CallError::from(status)),
        Err(_) => Err(CallError::DeadlineExceeded),
    }
}

/// The unary methods of a typed client, each named after its RPC: `read`
/// ones are idempotent and retried, `write` ones are sent once.
macro_rules! unary {
    ($client:ident, $error:ty, { $( $(#[$doc:meta])* $kind:ident $method:ident($req:ty) -> $resp:ty; )* }) => {
        impl $client {
            $(
                $(#[$doc])*
                pub async fn $method(
                    &self,
                    request: impl tonic::IntoRequest<$req>,
                ) -> Result<$resp, $error> {
                    let inner = &self.inner;
                    $crate::call::$kind(self.policy, request.into_request(), |r| {
                        let mut client = inner.clone();
                        async move { client.$method(r).await }
                    })
                    .await
                }
            )*
        }
    };
}
pub(crate) use unary;

/// The generated client over `channel`, with the message limit both ways.
macro_rules! generated {
    ($generated:ident, $channel:expr) => {
        $generated::new($channel)
            .max_decoding_message_size($crate::MAX_MESSAGE)
            .max_encoding_message_size($crate::MAX_MESSAGE)
    };
}
pub(crate) use generated;

/// The struct of a typed client and its constructors.
macro_rules! client {
    ($(#[$doc:meta])* $client:ident, $generated:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $client {
            inner: $generated<$crate::TracedChannel>,
            policy: $crate::Policy,
        }

        impl $client {
            /// A client over `channel` with the default [`Policy`](crate::Policy).
            pub fn new(channel: $crate::TracedChannel) -> Self {
                Self {
                    inner: $crate::call::generated!($generated, channel),
                    policy: $crate::Policy::default(),
                }
            }

            /// The same client, calling under `policy`.
            #[must_use]
            pub fn with_policy(mut self, policy: $crate::Policy) -> Self {
                self.policy = policy;
                self
            }

            /// The same client with another deadline per unary call.
            #[must_use]
            pub fn with_deadline(mut self, deadline: std::time::Duration) -> Self {
                self.policy.deadline = deadline;
                self
            }
        }
    };
}
pub(crate) use client;
