//! The storage error: what went wrong, in terms the HTTP layer can map to a
//! status without knowing SQL.

/// Errors from storage operations.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A field of the input is invalid; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A password the policy refuses (`domain::password`); `field` names it.
    #[error("{field}: {}", weakness.message())]
    WeakPassword {
        field: String,
        weakness: domain::password::Weakness,
    },
    /// The change conflicts with the current state (duplicate, wrong status).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached right now; retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// The statement ran past its `statement_timeout` (57014).
    #[error("the query took too long")]
    Timeout,
    /// The database's disk is full (53100) or a quota was reached (53400).
    #[error("the database's disk is full: {0}")]
    DiskFull(sqlx::Error),
    /// Typed text broke a limit (too long, a control character, not a phone).
    #[error(transparent)]
    Text(#[from] domain::text::TextError),
    /// Any other database failure (a bug or a broken database).
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl StoreError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Self::NotFound("row"),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(e)
            }
            sqlx::Error::Database(ref db)
                if db.code().is_some_and(|c| {
                    // 57P01 admin shutdown, 57P03 cannot connect now, 08* connection errors.
                    c.starts_with("08") || c == "57P01" || c == "57P03"
                }) =>
            {
                Self::Unavailable(e)
            }
            sqlx::Error::Database(ref db) if db.code().is_some_and(|c| c == "57014") => {
                Self::Timeout
            }
            sqlx::Error::Database(ref db)
                if db.code().is_some_and(|c| c == "53100" || c == "53400") =>
            {
                Self::DiskFull(e)
            }
            other => Self::Database(other),
        }
    }
}

impl From<domain::import::ImportError> for StoreError {
    fn from(e: domain::import::ImportError) -> Self {
        if let Some(text) = e.text {
            return Self::Text(text);
        }
        match e.weak_password {
            Some(weakness) => Self::WeakPassword {
                field: e.field,
                weakness,
            },
            None => Self::Invalid {
                field: e.field,
                message: e.message,
            },
        }
    }
}
