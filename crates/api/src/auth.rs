//! Authentication: the bearer-token extractor, role checks, login, logout
//! and password change.

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum_extra::TypedHeader;
use axum_extra::headers::Authorization;
use axum_extra::headers::authorization::Bearer;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::net::IpAddr;
use std::net::SocketAddr;
use store::auth::{Role, User};
use utoipa::ToSchema;

use crate::context::ApiContext;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::forwarded::ClientIp;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub token: String,
}

impl FromRequestParts<ApiContext> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> ApiResult<Self> {
        let TypedHeader(Authorization(bearer)) =
            TypedHeader::<Authorization<Bearer>>::from_request_parts(parts, ctx)
                .await
                .map_err(|_| ApiError::Unauthorized)?;
        let token = bearer.token().to_owned();
        let user = store::auth::user_for_token(&ctx.pool, &token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Self { user, token })
    }
}

impl AuthUser {
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> ApiResult<()> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "this needs the role {}; you are {}",
                names.join(" or "),
                self.user.role.as_str()
            )))
        }
    }

    pub fn require_admin(&self) -> ApiResult<()> {
        self.require(&[Role::Admin])
    }

    /// A village chief (小河长) sees only their own patrols and status and
    /// their village's issues; the town chief (大河长) sees the whole town.
    pub fn is_village_chief(&self) -> bool {
        self.user.role == Role::Chief && self.user.village_id.is_some()
    }

    /// The town the caller is limited to (`None`: every town).
    pub fn town_scope(&self) -> Option<i64> {
        self.user.town_id
    }

    /// 404 (not 403: ids of other towns are not revealed) unless `town_id`
    /// is within the caller's scope.
    pub fn check_town(&self, town_id: i64, what: &str) -> ApiResult<()> {
        match self.town_scope() {
            Some(t) if t != town_id => Err(ApiError::not_found(what)),
            _ => Ok(()),
        }
    }
}

/// The client's address when the server knows it: the peer, or behind the
/// trusted proxy the address it forwards (see [`crate::forwarded`]).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let resolved = parts.extensions.get::<ClientIp>().map(|c| c.0);
        let peer = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        };
        Ok(Self(resolved.or_else(peer)))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A PHC string for a password nobody has: verifying against it makes an
/// unknown login cost as much as a wrong password (no user enumeration).
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| store::auth::hash_password("riverchief-no-such-user"))
}

/// Log in with a login and password; answers a bearer token. Wrong
/// passwords are limited per login *and* client address, with a growing
/// wait: guessing from one place does not lock the owner out from another.
/// Many failures from one address over any logins are limited too.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401), (status = 429)))]
pub async fn login(
    State(ctx): State<ApiContext>,
    ClientAddr(peer): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<axum::Json<LoginResponse>> {
    let address = peer.map(|ip| ip.to_string()).unwrap_or_default();
    let pair = format!("login:{}|{address}", req.login.to_lowercase());
    let from_address = format!("ip:{address}");
    let wait = ctx
        .password_guesses
        .blocked_for(&pair)
        .or_else(|| ctx.login_limiter.blocked_for(&from_address));
    if let Some(retry_after_s) = wait {
        return Err(ApiError::TooManyAttempts { retry_after_s });
    }
    let found = store::auth::find_by_login(&ctx.pool, &req.login).await?;
    let hash = found
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |(_, h)| h.clone());
    let ok = password_matches(hash, req.password).await?;
    let Some((user, _)) = found.filter(|_| ok) else {
        ctx.password_guesses.record_failure(&pair);
        ctx.login_limiter.record(&from_address);
        tracing::info!("failed login");
        return Err(ApiError::InvalidCredentials);
    };
    ctx.password_guesses.clear(&pair);
    let expires_at = Utc::now() + ctx.config.token_ttl;
    let token = store::auth::issue_token(&ctx.pool, user.id, expires_at).await?;
    tracing::info!(user_id = user.id, "login");
    Ok(axum::Json(LoginResponse {
        token,
        expires_at,
        user,
    }))
}

/// Checks `password` against a stored hash off the async runtime (argon2
/// is CPU-bound).
async fn password_matches(hash: String, password: String) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || store::auth::verify_password(&hash, &password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Revoke the token used for this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401)), security(("bearer" = [])))]
pub async fn logout(State(ctx): State<ApiContext>, auth: AuthUser) -> ApiResult<StatusCode> {
    store::auth::revoke_token(&ctx.pool, &auth.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    responses((status = 200, body = User), (status = 401)), security(("bearer" = [])))]
pub async fn me(auth: AuthUser) -> axum::Json<User> {
    axum::Json(auth.user)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change the caller's password; every token of the account is revoked.
/// Wrong `current_password`s are limited per account (a growing wait), so
/// a stolen token cannot be used to guess the password.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth",
    request_body = PasswordChange,
    responses((status = 204), (status = 401), (status = 422), (status = 429)),
    security(("bearer" = [])))]
pub async fn change_password(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    let guesses = format!("user:{}", auth.user.id);
    if let Some(retry_after_s) = ctx.password_guesses.blocked_for(&guesses) {
        return Err(ApiError::TooManyAttempts { retry_after_s });
    }
    domain::import::check_password("new_password", Some(&auth.user.login), &req.new_password)?;
    let (_, hash) = store::auth::find_by_login(&ctx.pool, &auth.user.login)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if !password_matches(hash, req.current_password).await? {
        ctx.password_guesses.record_failure(&guesses);
        return Err(ApiError::invalid_field(
            "current_password",
            "is not your current password",
        ));
    }
    ctx.password_guesses.clear(&guesses);
    let mut conn = ctx.pool.acquire().await?;
    let new = req.new_password;
    // argon2 is CPU-bound; hash off the async runtime, then store.
    let hash = tokio::task::spawn_blocking(move || store::auth::hash_password(&new))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    store::auth::set_password_hash(&mut conn, auth.user.id, &hash).await?;
    Ok(StatusCode::NO_CONTENT)
}
