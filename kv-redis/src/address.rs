//! The Redis URL a store is opened with, and how errors show it: never with its password.

use std::fmt;

/// Where a store's Redis is: `redis://[user:password@]host[:port][/db]`, `rediss://` for TLS
/// (feature `tls`), or `redis+unix:///path/to/socket`.
///
/// Its `Display` and `Debug` show the URL with the password replaced by `***`; the password
/// itself is kept only inside the client that connects.
pub(crate) struct Address {
    client: redis::Client,
    shown: String,
    /// The password as written and percent-decoded, to scrub from messages the client makes.
    secrets: Vec<String>,
}

impl Address {
    /// Parses `url`. The error names the URL with its password redacted.
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        Self::parse_with(url, None)
    }

    /// Parses `url`; a `rediss://` connection trusts `root_certificate` (PEM) instead of the
    /// system's root certificates when one is given.
    pub(crate) fn parse_with(url: &str, root_certificate: Option<&[u8]>) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|e| {
            format!("not a Redis URL ({e}); expected redis://[user:password@]host[:port][/db]")
        })?;
        let mut shown = parsed.clone();
        let mut secrets = Vec::new();
        if let Some(password) = parsed.password() {
            secrets.push(password.to_owned());
            if let Ok(decoded) = percent_decode(password) {
                secrets.push(decoded);
            }
            // Fails only for URLs that cannot hold a password, which this one does.
            let _ = shown.set_password(Some("***"));
        }
        secrets.retain(|s| !s.is_empty());
        let shown = String::from(shown);
        match parsed.scheme() {
            "redis" | "redis+unix" | "unix" => {}
            "rediss" if cfg!(feature = "tls") => {}
            "rediss" => {
                return Err(format!(
                    "{shown}: rediss:// needs kv-redis built with its feature `tls`"
                ));
            }
            other => {
                return Err(format!(
                    "{shown}: the scheme {other:?} is not redis://, rediss:// or redis+unix://"
                ));
            }
        }
        let client = client(parsed.as_str(), root_certificate).map_err(|e| {
            let detail = scrub(&e.to_string(), &secrets);
            format!("{shown}: not a Redis URL: {detail}")
        })?;
        Ok(Self {
            client,
            shown,
            secrets,
        })
    }

    /// The client that connects to this address.
    pub(crate) fn client(&self) -> &redis::Client {
        &self.client
    }

    /// `message` with every occurrence of the password replaced by `***`.
    pub(crate) fn scrub(&self, message: &str) -> String {
        scrub(message, &self.secrets)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Address").field(&self.shown).finish()
    }
}

#[cfg(feature = "tls")]
fn client(url: &str, root_certificate: Option<&[u8]>) -> redis::RedisResult<redis::Client> {
    match root_certificate {
        Some(pem) => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.to_vec()),
            },
        ),
        None => redis::Client::open(url),
    }
}

#[cfg(not(feature = "tls"))]
fn client(url: &str, _: Option<&[u8]>) -> redis::RedisResult<redis::Client> {
    redis::Client::open(url)
}

fn scrub(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_owned(), |m, secret| {
        m.replace(secret.as_str(), "***")
    })
}

/// `%XX` escapes decoded, as the client decodes a password before sending it.
fn percent_decode(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Address;

    #[test]
    fn the_password_is_redacted_in_display_and_debug() {
        let address = Address::parse("redis://bot:s3cr%21t@127.0.0.1:6390/2").unwrap();
        assert_eq!(address.to_string(), "redis://bot:***@127.0.0.1:6390/2");
        assert!(!format!("{address:?}").contains("s3cr"));
        assert_eq!(
            address.scrub("auth s3cr!t and s3cr%21t"),
            "auth *** and ***"
        );
    }

    #[test]
    fn a_bad_url_is_refused_without_echoing_it() {
        let e = Address::parse("not a url with hunter2").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        let e = Address::parse("http://u:hunter2@host/").unwrap_err();
        assert!(
            e.contains("http://u:***@host/") && !e.contains("hunter2"),
            "{e}"
        );
    }
}
