//! Where a store lives in Redis: its hash, its sequence counter and its announcement channel.

use std::fmt::Write;

/// The Redis names of one store, derived from its name (see docs/design.md, "Redis").
///
/// A store named `NAME` is the hash `kv:{NAME}` (field = key, value = the key's JSON text),
/// the counter `kv:{NAME}:seq` (commits so far), and the channel `kv:{NAME}`. In `NAME`,
/// `%`, `{`, `}` and control characters are written `%XX`, so the first `}` ends the name:
/// no store's names can equal or begin another's, and the braces are a Redis Cluster hash
/// tag that keeps a store's keys on one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) name: String,
    pub(crate) hash: String,
    pub(crate) seq: String,
    pub(crate) channel: String,
}

impl Layout {
    /// The layout of the store `name`; an empty name is refused.
    pub(crate) fn new(name: &str) -> Result<Self, String> {
        if name.is_empty() {
            return Err("a store name cannot be empty".to_owned());
        }
        let hash = format!("kv:{{{}}}", escape(name));
        Ok(Self {
            name: name.to_owned(),
            seq: format!("{hash}:seq"),
            channel: hash.clone(),
            hash,
        })
    }
}

fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '%' | '{' | '}') || c.is_control() {
            let mut buf = [0; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Layout;

    #[test]
    fn a_store_is_one_hash_one_counter_and_one_channel() {
        let layout = Layout::new("seen ids").unwrap();
        assert_eq!(layout.hash, "kv:{seen ids}");
        assert_eq!(layout.seq, "kv:{seen ids}:seq");
        assert_eq!(layout.channel, "kv:{seen ids}");
    }

    #[test]
    fn no_name_reaches_another_stores_keys() {
        let names = ["a", "a}:seq", "a}", "{a}", "a%7D", "a:seq", "a\n", "%", "é"];
        let layouts: Vec<Layout> = names.iter().map(|n| Layout::new(n).unwrap()).collect();
        for (i, a) in layouts.iter().enumerate() {
            assert_eq!(a.hash.find('}'), Some(a.hash.len() - 1), "{}", a.hash);
            assert!(!a.hash.contains('\n'), "{}", a.hash);
            for b in &layouts[i + 1..] {
                for x in [&a.hash, &a.seq] {
                    for y in [&b.hash, &b.seq] {
                        assert_ne!(x, y, "{:?} and {:?}", a.name, b.name);
                    }
                }
            }
        }
        assert_eq!(Layout::new("a}:seq").unwrap().hash, "kv:{a%7D:seq}");
        assert!(Layout::new("").is_err());
    }
}
