//! Accounts and API tokens. Passwords are argon2id PHC strings; tokens are
//! 32 random bytes shown once, of which only the SHA-256 is stored, so a
//! leaked database does not leak usable tokens.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The town river-chief office: everything.
    Admin,
    /// A river chief: own patrols, own village's issues, own status.
    Chief,
    /// Organisation office: reads everything, changes nothing.
    Assessor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Chief => "chief",
            Self::Assessor => "assessor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "chief" => Some(Self::Chief),
            "assessor" => Some(Self::Assessor),
            _ => None,
        }
    }
}

/// An account as the API shows it (never the hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub role: Role,
    pub chief_id: Option<i64>,
    pub town_id: Option<i64>,
    /// The chief's village (village chiefs only): what they may see.
    pub village_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    login: String,
    role: String,
    chief_id: Option<i64>,
    town_id: Option<i64>,
    village_id: Option<i64>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        Self {
            id: r.id,
            login: r.login,
            role: Role::parse(&r.role).unwrap_or(Role::Assessor),
            chief_id: r.chief_id,
            town_id: r.town_id,
            village_id: r.village_id,
        }
    }
}

const USER_COLUMNS: &str = "u.id, u.login, u.role, u.chief_id,
     COALESCE(u.town_id, c.town_id) AS town_id, c.village_id";

/// An argon2id PHC string for a password (CPU-heavy: call off the runtime).
pub fn hash_password(password: &str) -> String {
    let hash: PasswordHash = argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 with default parameters and a generated salt does not fail");
    hash.to_string()
}

/// Checks a password against a stored PHC string (CPU-heavy).
pub fn verify_password(stored: &str, password: &str) -> bool {
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok()
}

/// A new account.
pub struct NewUser<'a> {
    pub login: &'a str,
    pub password: &'a str,
    pub role: Role,
    pub chief_id: Option<i64>,
    pub town_id: Option<i64>,
}

/// Creates an account; a taken login is a conflict.
pub async fn create_user(conn: &mut PgConnection, new: NewUser<'_>) -> crate::Result<User> {
    let hash = hash_password(new.password);
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (login, password_hash, role, chief_id, town_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (login) DO NOTHING RETURNING id",
    )
    .bind(new.login)
    .bind(&hash)
    .bind(new.role.as_str())
    .bind(new.chief_id)
    .bind(new.town_id)
    .fetch_optional(&mut *conn)
    .await?;
    let id =
        id.ok_or_else(|| crate::StoreError::Conflict(format!("login {:?} is taken", new.login)))?;
    user_by_id(conn, id).await
}

pub async fn user_by_id(conn: &mut PgConnection, id: i64) -> crate::Result<User> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u LEFT JOIN chiefs c ON c.id = u.chief_id WHERE u.id = $1"
    );
    sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(User::from)
        .ok_or(crate::StoreError::NotFound("user"))
}

/// The account and its password hash, for a login attempt.
pub async fn find_by_login(pool: &PgPool, login: &str) -> crate::Result<Option<(User, String)>> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, u.password_hash FROM users u
         LEFT JOIN chiefs c ON c.id = u.chief_id WHERE u.login = $1"
    );
    let row: Option<(UserRow, String)> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(login)
        .fetch_optional(pool)
        .await?
        .map(|row| {
            use sqlx::{FromRow, Row};
            let user = UserRow::from_row(&row)?;
            Ok::<_, sqlx::Error>((user, row.try_get("password_hash")?))
        })
        .transpose()?;
    Ok(row.map(|(u, h)| (u.into(), h)))
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Issues a new bearer token for a user; the token is returned once.
pub async fn issue_token(
    pool: &PgPool,
    user_id: i64,
    expires_at: DateTime<Utc>,
) -> crate::Result<String> {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    sqlx::query("INSERT INTO api_tokens (user_id, token_hash, expires_at) VALUES ($1, $2, $3)")
        .bind(user_id)
        .bind(token_hash(&token))
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok(token)
}

/// The user a token belongs to, if it is live: not revoked, not expired and
/// issued after the last password change.
pub async fn user_for_token(pool: &PgPool, token: &str) -> crate::Result<Option<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM api_tokens t
         JOIN users u ON u.id = t.user_id
         LEFT JOIN chiefs c ON c.id = u.chief_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now()
           AND t.created_at >= u.password_changed_at"
    );
    Ok(sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(sql))
        .bind(token_hash(token))
        .fetch_optional(pool)
        .await?
        .map(User::from))
}

/// Revokes one token (logout).
pub async fn revoke_token(pool: &PgPool, token: &str) -> crate::Result<()> {
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash(token))
    .execute(pool)
    .await?;
    Ok(())
}

/// Sets a new password; every token issued before it stops working.
pub async fn set_password(
    conn: &mut PgConnection,
    user_id: i64,
    password: &str,
) -> crate::Result<()> {
    set_password_hash(conn, user_id, &hash_password(password)).await
}

/// Stores an already computed hash (see [`hash_password`]) and revokes tokens.
pub async fn set_password_hash(
    conn: &mut PgConnection,
    user_id: i64,
    hash: &str,
) -> crate::Result<()> {
    let done = sqlx::query(
        "UPDATE users SET password_hash = $2, password_changed_at = clock_timestamp() WHERE id = $1",
    )
    .bind(user_id)
    .bind(hash)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(crate::StoreError::NotFound("user"));
    }
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}
