//! How the API fails: `{"error": {"kind": "...", "message": "..."}}` with the matching status.
//!
//! Command failures ([`ApiError`]) keep their kind; store failures are `Internal`; missing or
//! wrong credentials are `Unauthorized` (401, with `WWW-Authenticate: Bearer`); malformed
//! requests are `BadRequest` (400).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::{ApiError, ApiErrorKind};

/// An API failure as the client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) status: StatusCode,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    kind: &'a str,
    message: &'a str,
}

impl Problem {
    pub(crate) fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
    }

    pub(crate) fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        Self::from(ApiError::internal(error))
    }
}

impl From<ApiError> for Problem {
    fn from(error: ApiError) -> Self {
        let kind = match error.kind {
            ApiErrorKind::NotFound => "NotFound",
            ApiErrorKind::Invalid => "Invalid",
            ApiErrorKind::Conflict => "Conflict",
            ApiErrorKind::Unavailable => "Unavailable",
            ApiErrorKind::Internal => "Internal",
        };
        let status =
            StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, kind, error.message)
    }
}

impl From<gantry_store::StoreError> for Problem {
    fn from(error: gantry_store::StoreError) -> Self {
        Self::internal(&error)
    }
}

impl From<tokio::task::JoinError> for Problem {
    fn from(error: tokio::task::JoinError) -> Self {
        Self::internal(&error)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(kind = self.kind, "{}", self.message);
        }
        let body = Json(Body {
            error: Inner {
                kind: self.kind,
                message: &self.message,
            },
        });
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gantry\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_errors_keep_their_kind_and_status() {
        let problem = Problem::from(ApiError::conflict("promotion p already ended (Succeeded)"));
        assert_eq!(problem.status, StatusCode::CONFLICT);
        assert_eq!(problem.kind, "Conflict");
        let problem = Problem::from(ApiError::invalid("no"));
        assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn an_unauthorized_answer_asks_for_a_bearer_token() {
        let response = Problem::unauthorized("a bearer token is required").into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
