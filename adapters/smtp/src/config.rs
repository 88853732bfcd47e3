//! Where the SMTP server is and how to talk to it: [`SmtpConfig`], parsed
//! from the server's `LEADS_MAILER=smtp://…` URL by [`SmtpConfig::from_url`].

use std::fmt;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use thiserror::Error;
use url::{Host, Url};

/// How long one step of an SMTP session may take before the send fails with
/// [`MailError::Transport`](chatkit_leads_core::MailError::Transport).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// How the connection to the server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Security {
    /// Plain TCP upgraded with `STARTTLS`, which is **required**: a server
    /// that does not offer it is never sent credentials or mail (RFC 3207;
    /// port 587).
    StartTls,
    /// TLS from the first byte, "SMTPS" (RFC 8314; port 465).
    ImplicitTls,
    /// No TLS at all. For a local development server only: credentials and
    /// mail cross the network in clear text.
    None,
}

impl Security {
    /// The port used when none is given: 465 for [`Security::ImplicitTls`],
    /// else the submission port 587.
    pub const fn default_port(self) -> u16 {
        match self {
            Self::ImplicitTls => 465,
            Self::StartTls | Self::None => 587,
        }
    }
}

/// A user name and password for `AUTH PLAIN` / `AUTH LOGIN`.
///
/// The password never appears in `Debug` output:
///
/// ```
/// use chatkit_leads_smtp::Credentials;
/// let credentials = Credentials::new("leads", "hunter2");
/// assert_eq!(credentials.user(), "leads");
/// assert!(!format!("{credentials:?}").contains("hunter2"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    /// Credentials for `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Everything [`SmtpMailer`](crate::SmtpMailer) needs to reach a server.
///
/// ```
/// use std::time::Duration;
/// use chatkit_leads_smtp::{Credentials, Security, SmtpConfig};
///
/// let config = SmtpConfig::new("smtp.example.com", Security::StartTls)
///     .with_credentials(Credentials::new("leads@example.com", "app-password"))
///     .with_timeout(Duration::from_secs(10));
/// assert_eq!(config.port, 587);
/// assert_eq!(config, SmtpConfig::from_url(
///     "smtp://leads%40example.com:app-password@smtp.example.com",
/// ).unwrap().with_timeout(Duration::from_secs(10)));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Host name or IP address of the server; also the name its TLS
    /// certificate must be valid for.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Plain, STARTTLS or implicit TLS.
    pub security: Security,
    /// Credentials for `AUTH`, when the server wants them.
    pub credentials: Option<Credentials>,
    /// The longest any one step may take: connecting (TCP, TLS, greeting and
    /// `EHLO`), `STARTTLS`, `AUTH`, each envelope command, and sending the
    /// message up to the server's final reply.
    pub timeout: Duration,
    /// Extra trusted CA certificates (PEM), on top of the built-in Mozilla
    /// roots; e.g. the self-signed certificate of a test server.
    pub tls_root: Option<Vec<u8>>,
    /// The name sent with `EHLO`; the machine's host name when `None`.
    pub helo_name: Option<String>,
}

impl SmtpConfig {
    /// A configuration for `host` with `security` on its default port, no
    /// credentials and the [`DEFAULT_TIMEOUT`].
    pub fn new(host: impl Into<String>, security: Security) -> Self {
        Self {
            host: host.into(),
            port: security.default_port(),
            security,
            credentials: None,
            timeout: DEFAULT_TIMEOUT,
            tls_root: None,
            helo_name: None,
        }
    }

    /// Parses the server's `LEADS_MAILER` URL:
    ///
    /// - `smtp://user:password@host:port` — STARTTLS required (port 587 by
    ///   default); `smtp://host:1025?tls=none` — no TLS, local development
    ///   only;
    /// - `smtps://user:password@host:port` — implicit TLS (port 465 by
    ///   default).
    ///
    /// `?timeout=N` sets the per-step [`SmtpConfig::timeout`] to `N` seconds
    /// (default 20).
    ///
    /// User and password are percent-decoded, so `@`, `:`, `/`, `?` and `#`
    /// in them must be written `%40`, `%3A`, `%2F`, `%3F` and `%23`. Errors
    /// never repeat the password.
    ///
    /// ```
    /// use chatkit_leads_smtp::{Security, SmtpConfig};
    ///
    /// let config = SmtpConfig::from_url("smtps://apikey:s%3Acret@mail.example.com").unwrap();
    /// assert_eq!((config.security, config.port), (Security::ImplicitTls, 465));
    /// assert_eq!(config.credentials.unwrap().user(), "apikey");
    ///
    /// let local = SmtpConfig::from_url("smtp://localhost:1025?tls=none").unwrap();
    /// assert_eq!((local.security, local.credentials), (Security::None, None));
    ///
    /// let error = SmtpConfig::from_url("imap://user:hunter2@example.com").unwrap_err();
    /// assert!(!error.to_string().contains("hunter2"));
    /// ```
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        let url = Url::parse(url.trim()).map_err(ConfigError::Url)?;
        let mut security = match url.scheme() {
            "smtp" => Security::StartTls,
            "smtps" => Security::ImplicitTls,
            other => return Err(ConfigError::Scheme(other.to_owned())),
        };
        let mut timeout = DEFAULT_TIMEOUT;
        for (name, value) in url.query_pairs() {
            match (name.as_ref(), value.as_ref(), security) {
                ("tls", "none", Security::StartTls) => security = Security::None,
                ("timeout", seconds, _) => match seconds.parse::<u64>() {
                    Ok(n) if n > 0 => timeout = Duration::from_secs(n),
                    _ => return Err(ConfigError::Parameter(name.into_owned())),
                },
                ("tls", "starttls" | "required", Security::StartTls)
                | ("tls", "implicit", Security::ImplicitTls) => {}
                _ => return Err(ConfigError::Parameter(name.into_owned())),
            }
        }
        let host = match url.host() {
            Some(Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(ConfigError::MissingHost),
        };
        if !matches!(url.path(), "" | "/") {
            return Err(ConfigError::Unexpected("path"));
        }
        if url.fragment().is_some() {
            return Err(ConfigError::Unexpected("fragment"));
        }
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            ("", Some(_)) => return Err(ConfigError::PasswordWithoutUser),
            (_, None) => return Err(ConfigError::UserWithoutPassword),
            (user, Some(password)) => Some(Credentials::new(decode(user)?, decode(password)?)),
        };
        Ok(Self {
            port: url.port().unwrap_or(security.default_port()),
            credentials,
            timeout,
            ..Self::new(host, security)
        })
    }

    /// Uses `port` instead of the default.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Authenticates with `credentials`.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets the per-step [`SmtpConfig::timeout`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Also trusts the CA certificate(s) in `pem`.
    pub fn with_tls_root(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root = Some(pem.into());
        self
    }

    /// Sends `name` with `EHLO` instead of the machine's host name.
    pub fn with_helo_name(mut self, name: impl Into<String>) -> Self {
        self.helo_name = Some(name.into());
        self
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field(
                "tls_root",
                &self
                    .tls_root
                    .as_ref()
                    .map(|pem| format!("{} bytes", pem.len())),
            )
            .field("helo_name", &self.helo_name)
            .finish()
    }
}

/// Percent-decodes a user name or password from the URL's userinfo.
fn decode(part: &str) -> Result<String, ConfigError> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| ConfigError::CredentialEncoding)
}

/// The SMTP configuration is unusable. No variant carries the password.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL could not be parsed at all.
    #[error("invalid SMTP URL: {0}")]
    Url(url::ParseError),
    /// The scheme is neither `smtp` nor `smtps`.
    #[error("unsupported SMTP URL scheme `{0}`: use smtp:// (STARTTLS) or smtps:// (implicit TLS)")]
    Scheme(String),
    /// A query parameter is unknown or has an unsupported value (only
    /// `tls=none` with `smtp://` changes anything).
    #[error("unsupported SMTP URL parameter `{0}` (only `tls=none` with smtp:// is supported)")]
    Parameter(String),
    /// The URL, or the configuration, has no host.
    #[error("the SMTP configuration has no host")]
    MissingHost,
    /// The URL has a part that means nothing here (a path or a fragment).
    #[error("the SMTP URL has an unexpected {0}; expected smtp://user:password@host:port")]
    Unexpected(&'static str),
    /// A password was given without a user.
    #[error("the SMTP URL has a password but no user")]
    PasswordWithoutUser,
    /// A user was given without a password.
    #[error("the SMTP URL has a user but no password")]
    UserWithoutPassword,
    /// User or password is not UTF-8 once percent-decoded.
    #[error("the SMTP user or password is not valid UTF-8 once percent-decoded")]
    CredentialEncoding,
    /// The timeout is zero.
    #[error("the SMTP timeout must be greater than zero")]
    ZeroTimeout,
    /// The `EHLO` name is not a domain name or IP address.
    #[error("the SMTP HELO name must be a domain name or an IP address")]
    HeloName,
    /// The extra CA certificate is not a PEM certificate.
    #[error("the extra TLS root is not a PEM certificate: {0}")]
    TlsRoot(String),
    /// The TLS client could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> SmtpConfig {
        SmtpConfig::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn smtp_scheme_means_starttls_required_on_587() {
        let config = parse("smtp://user:pass@mail.example.com");
        assert_eq!(config.security, Security::StartTls);
        assert_eq!(config.port, 587);
        assert_eq!(config.host, "mail.example.com");
        assert_eq!(config.credentials, Some(Credentials::new("user", "pass")));
        assert_eq!(config.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn smtps_scheme_means_implicit_tls_on_465() {
        let config = parse("smtps://user:pass@mail.example.com");
        assert_eq!((config.security, config.port), (Security::ImplicitTls, 465));
    }

    #[test]
    fn timeout_is_whole_seconds_above_zero() {
        let config = parse("smtp://localhost:1025?tls=none&timeout=3");
        assert_eq!(config.timeout, Duration::from_secs(3));
        assert_eq!(config.security, Security::None);
        for bad in ["0", "1.5", "soon"] {
            assert_eq!(
                SmtpConfig::from_url(&format!("smtp://localhost?timeout={bad}")),
                Err(ConfigError::Parameter("timeout".into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn explicit_port_wins() {
        assert_eq!(parse("smtp://mail.example.com:2525").port, 2525);
        assert_eq!(parse("smtps://mail.example.com:2465").port, 2465);
    }

    #[test]
    fn tls_none_turns_tls_off_for_smtp_only() {
        let config = parse("smtp://localhost:1025?tls=none");
        assert_eq!((config.security, config.port), (Security::None, 1025));
        assert_eq!(
            SmtpConfig::from_url("smtps://localhost?tls=none"),
            Err(ConfigError::Parameter("tls".into()))
        );
        assert_eq!(
            parse("smtp://localhost?tls=starttls").security,
            Security::StartTls
        );
    }

    #[test]
    fn user_and_password_are_percent_decoded() {
        let config = parse("smtp://leads%40shop.example:p%40ss%3Aw%2Frd%25@mail.example.com");
        let credentials = config.credentials.expect("credentials");
        assert_eq!(credentials.user(), "leads@shop.example");
        assert_eq!(credentials.password(), "p@ss:w/rd%");
    }

    #[test]
    fn no_userinfo_means_no_credentials() {
        assert_eq!(parse("smtp://mail.example.com/").credentials, None);
    }

    #[test]
    fn ip_hosts_are_accepted() {
        assert_eq!(parse("smtp://127.0.0.1:25").host, "127.0.0.1");
        assert_eq!(parse("smtp://[::1]:25").host, "::1");
    }

    #[test]
    fn malformed_urls_get_typed_errors() {
        let cases = [
            (
                "http://mail.example.com",
                ConfigError::Scheme("http".into()),
            ),
            (
                "smtp://mail.example.com?tls=maybe",
                ConfigError::Parameter("tls".into()),
            ),
            (
                "smtp://mail.example.com?pool=1",
                ConfigError::Parameter("pool".into()),
            ),
            (
                "smtp://mail.example.com/inbox",
                ConfigError::Unexpected("path"),
            ),
            (
                "smtp://mail.example.com#x",
                ConfigError::Unexpected("fragment"),
            ),
            (
                "smtp://:secret@mail.example.com",
                ConfigError::PasswordWithoutUser,
            ),
            (
                "smtp://user@mail.example.com",
                ConfigError::UserWithoutPassword,
            ),
            (
                "smtp://user:%FF@mail.example.com",
                ConfigError::CredentialEncoding,
            ),
            ("smtp://", ConfigError::MissingHost),
        ];
        for (url, expected) in cases {
            assert_eq!(SmtpConfig::from_url(url), Err(expected), "{url}");
        }
        assert!(matches!(
            SmtpConfig::from_url("not a url"),
            Err(ConfigError::Url(_))
        ));
        assert!(matches!(
            SmtpConfig::from_url("smtp://user:pw@host:99999"),
            Err(ConfigError::Url(_))
        ));
    }

    #[test]
    fn errors_never_echo_the_password() {
        let urls = [
            "ftp://user:hunter2@host",
            "smtp://user:hunter2@host/path",
            "smtp://user:hunter2@host:bad",
            "smtp://user:hunter2@host?hunter=1",
            "smtp://:hunter2@host",
            "smtp://user:hunter2@",
            "smtp://user:hunter2%FF@host",
        ];
        for url in urls {
            let error = SmtpConfig::from_url(url).expect_err(url);
            assert!(!error.to_string().contains("hunter2"), "{url}: {error}");
            assert!(
                !format!("{error:?}").contains("hunter2"),
                "{url}: {error:?}"
            );
        }
    }

    #[test]
    fn debug_redacts_the_password() {
        let config = parse("smtp://leads:hunter2@mail.example.com").with_tls_root(b"PEM".to_vec());
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(
            debug.contains("leads") && debug.contains("<redacted>"),
            "{debug}"
        );
        assert!(debug.contains("3 bytes"), "{debug}");
    }
}
