//! Query strings: `application/x-www-form-urlencoded` pairs, keys possibly repeated
//! (`attr=a%3D1&attr=b%3D2`).

/// The pairs of a query string, decoded.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a raw query string (without the `?`).
    pub fn parse(raw: Option<&str>) -> Params {
        let Some(raw) = raw else { return Params::default() };
        Params(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    /// The first value of `key`, if not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.as_str()).collect()
    }

    /// `key` as a number; a bad number is an error naming it.
    pub fn number(&self, key: &str, default: usize) -> Result<usize, super::error::ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| super::error::ApiError::bad_request(format!("{key}={v:?} is not a number"))),
        }
    }

    /// `key` as a flag: `1`, `true`, `yes` or `on`.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
    }
}

/// Decodes `+` and `%XX` (invalid escapes stay as they are).
fn decode(text: &str) -> String {
    crate::store::refs::decode(&text.replace('+', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_escapes() {
        let p = Params::parse(Some("attr=env%3Dprod&attr=x%3D1&text=a+b%26c&empty=&flag=1"));
        assert_eq!(p.all("attr"), ["env=prod", "x=1"]);
        assert_eq!(p.get("text"), Some("a b&c"));
        assert_eq!(p.get("empty"), None);
        assert_eq!(p.flag("flag"), Some(true));
        assert_eq!(p.flag("nope"), None);
        assert!(p.number("text", 0).is_err());
        assert_eq!(p.number("missing", 7).unwrap(), 7);
    }
}
