//! JSON checked without being parsed into a tree: [`JsonText`], and the scanner behind it.
//!
//! The scanner accepts exactly what `serde_json::from_slice::<serde_json::Value>` accepts in
//! its default configuration (RFC 8259, nesting up to 127 deep, no lone surrogate escapes, no
//! number too large for an `f64`), so a store keeps the same values whichever representation
//! holds them. The fuzz target `json_text` checks the two agree. (With serde_json's
//! `arbitrary_precision` feature, which kv-native turns on, serde_json also takes numbers past
//! `f64::MAX`; so does the scanner when this crate's feature of that name is on.)

use alloc::string::String;
use core::fmt;

use smol_str::SmolStr;

/// How deep one JSON text may nest arrays and objects: a value the store accepts
/// ([`Limits::MAX_NESTING`](crate::Limits::MAX_NESTING), the one bound) inside one more level,
/// the snapshot's object. It is serde_json's limit too (its parser starts with a budget of 128
/// and refuses the container that spends the last of it), so both read what the store writes.
pub(crate) const MAX_DEPTH: u32 = crate::Limits::MAX_NESTING as u32 + 1;

/// Why text nested deeper than that is refused.
const TOO_DEEP: &str = "recursion limit exceeded";

/// One JSON value kept as its text, checked to be exactly one valid JSON value but not parsed.
///
/// For hosts that parse JSON themselves (a browser's `JSON.parse`): a store of `JsonText`
/// links no JSON parser, and a read hands back the stored text as it is. Texts up to 23 bytes
/// (a timestamp, a short string) are kept inline, without an allocation of their own.
///
/// Equality compares the text, not the value it means: `1` and `1.0` are different texts.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct JsonText(SmolStr);

impl JsonText {
    /// The value `text` holds, if it is exactly one JSON value; whitespace around it is
    /// allowed and dropped, whitespace inside it is kept (and counts toward
    /// [`max_value_bytes`](crate::Limits::max_value_bytes)).
    pub fn new(text: &str) -> Result<Self, InvalidJson> {
        Ok(Self(SmolStr::new(check(text, MAX_DEPTH)?)))
    }

    /// The JSON string that holds `text`, escaped as serde_json escapes it.
    pub fn string(text: &str) -> Self {
        let mut out = alloc::vec::Vec::with_capacity(text.len() + 2);
        write_string(&mut out, text);
        // Escaping only adds ASCII to valid UTF-8.
        Self(SmolStr::from(String::from_utf8(out).unwrap_or_default()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A value the scanner has already checked.
    pub(crate) fn checked(text: &str) -> Self {
        Self(SmolStr::new(text))
    }
}

impl From<u64> for JsonText {
    /// The JSON number `n`, in plain decimal digits.
    fn from(n: u64) -> Self {
        Self(SmolStr::new(Decimal::new(n).as_str()))
    }
}

/// An integer in plain decimal digits, for the core's messages and [`JsonText`] numbers.
///
/// Written by hand because `{}` on an integer links the standard library's padding and sign
/// handling (`Formatter::pad_integral`) into the browser build, which needs none of it.
pub(crate) struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    pub(crate) fn new(n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = n;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        Self { digits, start }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits were written.
        core::str::from_utf8(&self.digits[self.start..]).unwrap_or_default()
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JsonText").field(&self.as_str()).finish()
    }
}

/// Text that is not exactly one JSON value: where the scanner stopped, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidJson {
    /// The byte offset where scanning stopped.
    pub offset: usize,
    /// What was wrong there.
    pub reason: &'static str,
    /// Whether the text ended too early (it may be truncated).
    pub eof: bool,
    /// Which kind of fault it is.
    pub kind: InvalidJsonKind,
}

/// Why a text is not accepted as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidJsonKind {
    /// It is not JSON (RFC 8259), or holds what no UTF-8 string or `f64` can.
    Syntax,
    /// It nests arrays and objects deeper than the store reads back
    /// ([`Limits::MAX_NESTING`](crate::Limits::MAX_NESTING), one level more for a lone value).
    TooDeep,
}

impl InvalidJson {
    /// Whether the text was refused for nesting arrays and objects too deep, rather than for
    /// its syntax.
    pub fn is_too_deep(&self) -> bool {
        self.kind == InvalidJsonKind::TooDeep
    }
}

impl fmt::Display for InvalidJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at byte {}",
            self.reason,
            Decimal::new(self.offset as u64)
        )
    }
}

impl core::error::Error for InvalidJson {}

/// The one JSON value `text` holds, nested at most `depth` deep, without the whitespace
/// around it.
pub(crate) fn check(text: &str, depth: u32) -> Result<&str, InvalidJson> {
    let mut scanner = Scanner { text, pos: 0 };
    scanner.whitespace();
    let value = scanner.value(depth)?;
    scanner.end()?;
    Ok(value)
}

/// How deep `encoded` (JSON text) nests arrays and objects: 0 for a scalar.
pub(crate) fn nesting(encoded: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in encoded {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Appends `text` as a JSON string: `"` and `\` escaped, control characters as `\n`-style
/// escapes or `\u00XX`, everything else as it is.
pub(crate) fn write_string(out: &mut alloc::vec::Vec<u8>, text: &str) {
    out.push(b'"');
    let mut start = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        out.extend_from_slice(&text.as_bytes()[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        } else {
            out.extend_from_slice(escape.as_bytes());
        }
        start = i + 1;
    }
    out.extend_from_slice(&text.as_bytes()[start..]);
    out.push(b'"');
}

/// The smallest decimal significand, read as `0.d1d2d3... × 10^309`, that an `f64` cannot
/// hold: 2^1024 − 2^970, halfway between `f64::MAX` and 2^1024, which rounds (to even) up to
/// infinity. All 309 digits: it is an integer.
const OVERFLOW: &[u8] = concat!(
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475",
    "09466490179775872070963302864166928879109465555478519404026306574886715058206819",
    "08902000708383676273854845817711531764475730270069855571366959622842914819860834",
    "936475292719074168444365510704342711559699508093042880177904174497792",
)
.as_bytes();

/// A cursor over JSON text. Every position it stops at is an ASCII byte or the end, so slicing
/// the text there is always at a character boundary.
pub(crate) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn fail(&self, reason: &'static str) -> InvalidJson {
        InvalidJson {
            offset: self.pos,
            reason,
            eof: self.pos >= self.text.len(),
            kind: InvalidJsonKind::Syntax,
        }
    }

    pub(crate) fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Whether only whitespace is left; an error naming what is left otherwise.
    pub(crate) fn end(&mut self) -> Result<(), InvalidJson> {
        self.whitespace();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.fail("trailing characters")),
        }
    }

    /// Scans one value; returns its text.
    pub(crate) fn value(&mut self, depth: u32) -> Result<&'a str, InvalidJson> {
        let start = self.pos;
        match self.peek() {
            None => return Err(self.fail("EOF while parsing a value")),
            Some(b'{') => self.container(depth, b'}')?,
            Some(b'[') => self.container(depth, b']')?,
            Some(b'"') => self.string(None)?,
            Some(b't') => self.literal("true")?,
            Some(b'f') => self.literal("false")?,
            Some(b'n') => self.literal("null")?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.fail("expected value")),
        }
        Ok(&self.text[start..self.pos])
    }

    /// An array (`close` is `]`) or an object (`}`), from its opening bracket.
    fn container(&mut self, depth: u32, close: u8) -> Result<(), InvalidJson> {
        let Some(depth) = depth.checked_sub(1) else {
            return Err(InvalidJson {
                kind: InvalidJsonKind::TooDeep,
                ..self.fail(TOO_DEEP)
            });
        };
        self.pos += 1;
        self.whitespace();
        if self.eat(close) {
            return Ok(());
        }
        loop {
            if close == b'}' {
                self.key(None)?;
            }
            self.value(depth)?;
            if !self.next(close)? {
                return Ok(());
            }
        }
    }

    /// After an array element or object member: `true` at a `,` (another follows), `false`
    /// at `close` (the end).
    fn next(&mut self, close: u8) -> Result<bool, InvalidJson> {
        self.whitespace();
        if self.eat(b',') {
            self.whitespace();
            return Ok(true);
        }
        if self.eat(close) {
            return Ok(false);
        }
        Err(self.fail(match (self.peek(), close) {
            (None, _) => "EOF while parsing a list or an object",
            (_, b']') => "expected `,` or `]`",
            _ => "expected `,` or `}`",
        }))
    }

    /// The `{` that opens the top-level object, and the whitespace after it.
    pub(crate) fn open_object(&mut self) -> Result<(), InvalidJson> {
        if !self.eat(b'{') {
            return Err(self.fail("expected `{`"));
        }
        self.whitespace();
        Ok(())
    }

    /// After a member of the top-level object: whether another follows.
    pub(crate) fn next_member(&mut self) -> Result<bool, InvalidJson> {
        self.next(b'}')
    }

    /// An object key and the `:` after it; unescaped into `out` if given.
    pub(crate) fn key(&mut self, out: Option<&mut String>) -> Result<(), InvalidJson> {
        match self.peek() {
            Some(b'"') => self.string(out)?,
            None => return Err(self.fail("EOF while parsing an object")),
            Some(_) => return Err(self.fail("key must be a string")),
        }
        self.whitespace();
        if !self.eat(b':') {
            return Err(self.fail("expected `:`"));
        }
        self.whitespace();
        Ok(())
    }

    /// A string, from its opening quote; unescaped into `out` if given.
    fn string(&mut self, mut out: Option<&mut String>) -> Result<(), InvalidJson> {
        self.pos += 1;
        let mut run = self.pos;
        loop {
            let Some(byte) = self.peek() else {
                return Err(self.fail("EOF while parsing a string"));
            };
            match byte {
                b'"' | b'\\' => {
                    if let Some(out) = out.as_deref_mut() {
                        out.push_str(&self.text[run..self.pos]);
                    }
                    self.pos += 1;
                    if byte == b'"' {
                        return Ok(());
                    }
                    let c = self.escape()?;
                    if let Some(out) = out.as_deref_mut() {
                        out.push(c);
                    }
                    run = self.pos;
                }
                0..0x20 => return Err(self.fail("control character in a string")),
                _ => self.pos += 1,
            }
        }
    }

    /// The character an escape stands for, from after its `\`.
    fn escape(&mut self) -> Result<char, InvalidJson> {
        let Some(byte) = self.peek() else {
            return Err(self.fail("EOF while parsing a string"));
        };
        self.pos += 1;
        Ok(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex()?;
                let code = match unit {
                    0xd800..0xdc00 => {
                        if !(self.eat(b'\\') && self.eat(b'u')) {
                            return Err(self.fail("lone leading surrogate in hex escape"));
                        }
                        let low = self.hex()?;
                        if !(0xdc00..0xe000).contains(&low) {
                            return Err(self.fail("lone leading surrogate in hex escape"));
                        }
                        0x10000 + ((u32::from(unit) - 0xd800) << 10) + (u32::from(low) - 0xdc00)
                    }
                    0xdc00..0xe000 => {
                        return Err(self.fail("lone trailing surrogate in hex escape"));
                    }
                    _ => u32::from(unit),
                };
                char::from_u32(code).ok_or_else(|| self.fail("invalid escape"))?
            }
            _ => {
                self.pos -= 1;
                return Err(self.fail("invalid escape"));
            }
        })
    }

    fn hex(&mut self) -> Result<u16, InvalidJson> {
        let mut unit = 0u16;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                None => return Err(self.fail("EOF while parsing a string")),
                Some(_) => return Err(self.fail("invalid escape")),
            };
            unit = unit * 16 + u16::from(digit);
            self.pos += 1;
        }
        Ok(unit)
    }

    fn literal(&mut self, word: &'static str) -> Result<(), InvalidJson> {
        for &expected in word.as_bytes() {
            match self.peek() {
                Some(b) if b == expected => self.pos += 1,
                None => return Err(self.fail("EOF while parsing a value")),
                Some(_) => return Err(self.fail("expected ident")),
            }
        }
        Ok(())
    }

    /// A number: `-`, an integer part without leading zeros, an optional fraction, an optional
    /// exponent; refused if an `f64` cannot hold it (serde_json's "number out of range"),
    /// unless the `arbitrary_precision` feature is on.
    fn number(&mut self) -> Result<(), InvalidJson> {
        let start = self.pos;
        self.eat(b'-');
        let int_start = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            None => return Err(self.fail("EOF while parsing a value")),
            Some(_) => return Err(self.fail("invalid number")),
        }
        let int_end = self.pos;
        let mut frac_end = int_end;
        if self.eat(b'.') {
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.fail(if self.peek().is_none() {
                    "EOF while parsing a value"
                } else {
                    "invalid number"
                }));
            }
            self.digits();
            frac_end = self.pos;
        }
        let mut exponent: i64 = 0;
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            let negative = self.peek() == Some(b'-');
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.fail(if self.peek().is_none() {
                    "EOF while parsing a value"
                } else {
                    "invalid number"
                }));
            }
            while let Some(b @ b'0'..=b'9') = self.peek() {
                // Saturates: past a billion the number is out of range (or zero) either way.
                exponent = (exponent * 10 + i64::from(b - b'0')).min(1 << 32);
                self.pos += 1;
            }
            if negative {
                exponent = -exponent;
            }
        }
        let bytes = &self.text.as_bytes()[start..frac_end];
        if overflows(&bytes[int_start - start..], int_end - int_start, exponent)
            && !numbers_past_f64()
        {
            self.pos = start;
            return Err(self.fail("number out of range"));
        }
        Ok(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }
}

/// Whether numbers past `f64::MAX` are taken: when serde_json in this build takes them too
/// (its `arbitrary_precision` feature, which this crate's feature of that name turns on, but
/// which any crate in the build may turn on), so that every `JsonText` serde_json writes
/// (`JsonText::from_value`) is one the scanner accepts. Asked of serde_json's public API:
/// `Number::from_u128` holds a number past `u64::MAX` only with that feature. Never in the
/// browser's module, whose `JSON.parse` would read such a number as `Infinity`.
fn numbers_past_f64() -> bool {
    if cfg!(feature = "arbitrary_precision") {
        return true;
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::Number::from_u128(u128::MAX).is_some()
    }
    #[cfg(target_arch = "wasm32")]
    {
        false
    }
}

/// Whether the number with integer digits `mantissa[..int_len]`, then (after a `.`) fraction
/// digits, times 10^`exponent`, is too large for an `f64` (rounds to infinity).
fn overflows(mantissa: &[u8], int_len: usize, exponent: i64) -> bool {
    let digits = || {
        mantissa
            .iter()
            .enumerate()
            .filter(move |&(i, _)| i != int_len)
            .map(|(_, &d)| d)
    };
    let Some(lead) = digits().position(|d| d != b'0') else {
        return false; // zero
    };
    // The value is 0.d1d2... × 10^magnitude, d1 its first significant digit.
    let magnitude = int_len as i64 - lead as i64 + exponent;
    match magnitude.cmp(&309) {
        core::cmp::Ordering::Less => false,
        core::cmp::Ordering::Greater => true,
        core::cmp::Ordering::Equal => {
            let mut significant = digits().skip(lead);
            for &threshold in OVERFLOW {
                match significant.next() {
                    // The rest is zeros, and OVERFLOW ends in a digit that is not.
                    None => return false,
                    Some(d) if d != threshold => return d > threshold,
                    Some(_) => {}
                }
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> bool {
        check(text, MAX_DEPTH).is_ok()
    }

    #[test]
    fn surrounding_whitespace_is_dropped_and_inner_whitespace_kept() {
        let text = JsonText::new(" [1, 2] \n").expect("valid");
        assert_eq!(text.as_str(), "[1, 2]");
    }

    #[test]
    fn nesting_counts_brackets_outside_strings() {
        assert_eq!(nesting(b"1"), 0);
        assert_eq!(nesting(br#"[[1],{"a":[2]}]"#), 3);
        assert_eq!(nesting(br#"["[[[", "\"[["]"#), 1);
    }

    #[test]
    fn accepts_every_kind_of_value() {
        for text in [
            "null",
            " true ",
            "false",
            "0",
            "-0",
            "12.5e-3",
            "1E+2",
            "\"a\\\"b\\u00e9\\ud83d\\ude00\"",
            "[]",
            "{}",
            "[1, {\"a\": [null]}, \"x\"]",
            "\n{\"k\" : 1 }\n",
        ] {
            assert!(ok(text), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_one_value() {
        for text in [
            "",
            " ",
            "nul",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "[1] [2]",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\\x\"",
            "\"tab\there\"",
            "\"open",
            "NaN",
        ] {
            assert!(!ok(text), "{text:?}");
        }
        if !numbers_past_f64() {
            assert!(!ok("1e400") && !ok("-1e309"));
        }
    }

    #[test]
    fn nesting_stops_where_serde_json_stops() {
        let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
        assert!(ok(&deep(127)));
        assert!(!ok(&deep(128)), "serde_json refuses 128 levels");
        assert!(!ok(&alloc::format!(
            "{}{{}}{}",
            "[".repeat(127),
            "]".repeat(127)
        )));
        for n in [127, 128] {
            let text = deep(n);
            let theirs = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            assert_eq!(ok(&text), theirs, "{n} levels");
        }
    }

    #[test]
    fn numbers_past_f64_are_kept_with_arbitrary_precision() {
        if !numbers_past_f64() {
            return; // serde_json in this build refuses them: see the test above.
        }
        let big = alloc::format!("1{}", "0".repeat(400));
        for text in [&big[..], "1e400", "-1E+999999"] {
            assert_eq!(
                JsonText::new(text).map(|t| t.value()),
                Ok(serde_json::from_str::<serde_json::Value>(text).expect("serde_json takes it")),
                "{text}"
            );
        }
    }

    #[test]
    fn numbers_overflow_exactly_where_f64_does() {
        if numbers_past_f64() {
            return; // serde_json in this build takes them: see the test below.
        }
        assert!(ok("1.7976931348623157e308"));
        let halfway = core::str::from_utf8(OVERFLOW).expect("digits are ASCII");
        let below = alloc::format!("{}{}", &halfway[..308], "1");
        assert!(ok(&below), "one below halfway rounds down to f64::MAX");
        assert!(!ok(halfway), "halfway rounds to even: infinity");
        assert!(!ok(&alloc::format!("0.{halfway}1e309")));
        // Compared with Rust's correctly rounded `f64` parse, not with serde_json's, which
        // takes any number when `arbitrary_precision` is on in the build (kv-native's is).
        for text in [&below[..], halfway] {
            let finite = text.parse::<f64>().is_ok_and(f64::is_finite);
            assert_eq!(ok(text), finite, "{text}");
        }
        assert!(!ok("1.7976931348623159e308"));
        assert!(ok("1e-400"));
        assert!(ok("0.000e999999999999"));
        assert!(ok(&alloc::format!("1{}", "0".repeat(308))));
        assert!(!ok(&alloc::format!("1{}", "0".repeat(309))));
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        let text = "a\"b\\c\n\u{1}\u{7f}é😀";
        assert_eq!(
            JsonText::string(text).as_str(),
            serde_json::to_string(text).expect("a str serializes")
        );
    }

    #[test]
    fn integers_print_in_plain_digits() {
        for n in [0, 7, 10, 1_763_700_000, u64::MAX] {
            assert_eq!(JsonText::from(n).as_str(), alloc::format!("{n}"));
        }
    }
}
