//! A store file's whitespace between tokens, dropped before its values are read.
//!
//! `Kv` holds each value as its JSON text, so that a number keeps its spelling; a file that
//! Python's `json.dump` wrote (`{"a": [1, 2]}`) would then keep `[1, 2]` inside a value, and
//! every compaction would write a file half in one layout, half in another. Dropping the
//! whitespace first gives each value the compact text every other write stores. Written by
//! hand: no crate does this one thing without parsing into a tree.

use kv_core::{Corrupt, Stored};

/// `bytes` without whitespace next to `{ } [ ] , :` outside strings; `None` if it has none
/// but around the whole text (which the decoder reads past: kv-native's own files end with a
/// line feed). Whitespace between two other tokens (`1 2`, only in a text that is not JSON) is
/// kept, so the text does not become JSON by losing it.
pub(crate) fn compact(bytes: &[u8]) -> Option<Vec<u8>> {
    let structural = |b: u8| matches!(b, b'{' | b'}' | b'[' | b']' | b',' | b':');
    let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = bytes.iter().position(|&b| !space(b))?;
    let end = bytes
        .iter()
        .rposition(|&b| !space(b))
        .map_or(start, |last| last + 1);
    let bytes = &bytes[start..end];
    let mut out: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if space(b) {
            let end = bytes[i..]
                .iter()
                .position(|&b| !space(b))
                .map_or(bytes.len(), |n| i + n);
            let before = bytes[..i].last().copied();
            let after = bytes.get(end).copied();
            if before.is_none_or(structural) || after.is_none_or(structural) {
                out.get_or_insert_with(|| bytes[..i].to_vec());
                i = end;
                continue;
            }
        }
        if let Some(out) = &mut out {
            out.push(b);
        }
        i += 1;
    }
    out
}

/// Decodes `stored` (with `decode`) with its snapshot compacted. A snapshot that does not
/// decode is decoded again as it was, so the error's line and column are the file's own.
pub(crate) fn decode_compacted<T>(
    stored: Stored,
    mut decode: impl FnMut(Stored) -> Result<T, Corrupt>,
) -> Result<T, Corrupt> {
    let snapshot = match &stored {
        Stored::Snapshot(bytes)
        | Stored::Journaled {
            snapshot: Some(bytes),
            ..
        } => bytes,
        _ => return decode(stored),
    };
    let Some(compacted) = compact(snapshot) else {
        return decode(stored);
    };
    let with = |bytes: Vec<u8>| match &stored {
        Stored::Journaled { changes, .. } => Stored::Journaled {
            snapshot: Some(bytes),
            changes: changes.clone(),
        },
        _ => Stored::Snapshot(bytes),
    };
    match decode(with(compacted)) {
        Ok(decoded) => Ok(decoded),
        Err(_) => decode(stored),
    }
}

/// `bytes` compacted, for a test's comparison.
#[cfg(test)]
fn compacted(bytes: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    match compact(bytes.as_bytes()) {
        Some(out) => Cow::Owned(String::from_utf8(out).unwrap_or_default()),
        None => Cow::Borrowed(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::compacted;

    #[test]
    fn whitespace_between_tokens_goes_and_inside_strings_stays() {
        assert_eq!(
            compacted("\n{ \"a b\" : [1, 2,\n\t{}],\r\n \"c\":\"x \\\" y\" }\n"),
            "{\"a b\":[1,2,{}],\"c\":\"x \\\" y\"}"
        );
        assert_eq!(compacted("{\"a\":1}"), "{\"a\":1}");
        // Around the text only: nothing to copy.
        assert!(super::compact(b"{\"a\":1}\n").is_none());
        assert!(super::compact(b" \n").is_none());
    }

    #[test]
    fn text_that_is_not_json_does_not_become_json() {
        assert_eq!(compacted("{\"a\": 1 2}"), "{\"a\":1 2}");
        assert_eq!(compacted("{\"a\": tr ue}"), "{\"a\":tr ue}");
        assert_eq!(compacted("{\"a\": \"x\" \"y\"}"), "{\"a\":\"x\" \"y\"}");
    }
}
