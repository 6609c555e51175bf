//! What Go's `encoding/json` decoder says about a malformed body, which Milvus passes on in its 1801 message
//! (`can only accept json format request, error: <decoder error>`): gin binds bodies with `json.NewDecoder`.
//!
//! The checks follow Go's scanner (`encoding/json/scanner.go`) state by state, so the offending byte and the
//! words after it are Go's: `invalid character 'x' looking for beginning of value`, `... after object key`,
//! and `unexpected EOF` for a body that ends inside a value. Like the decoder, it reads one value and ignores
//! what follows.

/// Where the scan stopped.
enum Stop {
    /// The body ended inside the value.
    Eof,
    /// A byte that cannot come here, and Go's words for where it was met.
    Invalid(u8, String),
}

type Scan = Result<(), Stop>;

/// Go's `maxNestingDepth`: its scanner refuses the 10,001st open container with "exceeded max depth".
const MAX_NESTING_DEPTH: usize = 10_000;

/// An open container of the value being scanned.
enum Container {
    Object,
    Array,
}

/// Go's `quoteChar`: the byte as a rune, quoted as `strconv.Quote` would, between single quotes.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => r"'\''".to_string(),
        b'"' => "'\"'".to_string(),
        b'\\' => r"'\\'".to_string(),
        0x07 => r"'\a'".to_string(),
        0x08 => r"'\b'".to_string(),
        0x0c => r"'\f'".to_string(),
        b'\n' => r"'\n'".to_string(),
        b'\r' => r"'\r'".to_string(),
        b'\t' => r"'\t'".to_string(),
        0x0b => r"'\v'".to_string(),
        0x00..=0x1f | 0x7f => format!(r"'\x{c:02x}'"),
        // C1 controls, the no-break space and the soft hyphen are not printable for Go.
        0x80..=0xa0 | 0xad => format!(r"'\u{c:04x}'"),
        _ => format!("'{}'", char::from(c)),
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Result<u8, Stop> {
        let c = self.peek().ok_or(Stop::Eof)?;
        self.at += 1;
        Ok(c)
    }

    /// The next byte that is not JSON white space.
    fn next_token(&mut self) -> Result<u8, Stop> {
        loop {
            match self.next()? {
                b' ' | b'\t' | b'\r' | b'\n' => {}
                c => return Ok(c),
            }
        }
    }

    /// One value from its first byte `c`. Containers are tracked on a heap stack, not by recursion, so that a
    /// body of a million `[` cannot exhaust the thread's stack; past Go's depth limit the scan stops as Go's does.
    fn value(&mut self, mut c: u8) -> Scan {
        let mut open: Vec<Container> = Vec::new();
        loop {
            // Read one value from its first byte `c`; a container that is not empty is opened and its first
            // member's first byte becomes `c`.
            match c {
                b'{' | b'[' if open.len() >= MAX_NESTING_DEPTH => {
                    return Err(Stop::Invalid(c, "exceeded max depth".into()));
                }
                b'{' => {
                    let first = self.next_token()?;
                    if first != b'}' {
                        self.object_key(first)?;
                        open.push(Container::Object);
                        c = self.next_token()?;
                        continue;
                    }
                }
                b'[' => {
                    let first = self.next_token()?;
                    if first != b']' {
                        open.push(Container::Array);
                        c = first;
                        continue;
                    }
                }
                _ => self.scalar(c)?,
            }
            // A value ended: what may follow it in the containers it closes.
            loop {
                match open.last() {
                    None => return Ok(()),
                    Some(Container::Array) => match self.next_token()? {
                        b',' => {
                            c = self.next_token()?;
                            break;
                        }
                        b']' => {
                            open.pop();
                        }
                        other => return Err(Stop::Invalid(other, "after array element".into())),
                    },
                    Some(Container::Object) => match self.next_token()? {
                        b',' => {
                            let key = self.next_token()?;
                            self.object_key(key)?;
                            c = self.next_token()?;
                            break;
                        }
                        b'}' => {
                            open.pop();
                        }
                        other => {
                            return Err(Stop::Invalid(other, "after object key:value pair".into()))
                        }
                    },
                }
            }
        }
    }

    /// A value that is not a container, from its first byte `c`.
    fn scalar(&mut self, c: u8) -> Scan {
        match c {
            b'"' => self.string(),
            b'-' => match self.next()? {
                b'0'..=b'9' => self.number(),
                c => Err(Stop::Invalid(c, "in numeric literal".into())),
            },
            b'0'..=b'9' => {
                self.at -= 1;
                self.number()
            }
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            c => Err(Stop::Invalid(c, "looking for beginning of value".into())),
        }
    }

    /// An object's key from its first byte `c`, and the colon after it.
    fn object_key(&mut self, c: u8) -> Scan {
        if c != b'"' {
            return Err(Stop::Invalid(
                c,
                "looking for beginning of object key string".into(),
            ));
        }
        self.string()?;
        match self.next_token()? {
            b':' => Ok(()),
            colon => Err(Stop::Invalid(colon, "after object key".into())),
        }
    }

    /// The rest of `literal`, whose first letter has been read.
    fn literal(&mut self, literal: &str) -> Scan {
        for &expected in &literal.as_bytes()[1..] {
            let c = self.next()?;
            if c != expected {
                let context = format!("in literal {literal} (expecting {})", quote_char(expected));
                return Err(Stop::Invalid(c, context));
            }
        }
        Ok(())
    }

    /// The rest of a string whose opening quote has been read. Go takes any byte from 0x20 up, valid UTF-8 or
    /// not.
    fn string(&mut self) -> Scan {
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let c = self.next()?;
                            if !c.is_ascii_hexdigit() {
                                return Err(Stop::Invalid(
                                    c,
                                    r"in \u hexadecimal character escape".into(),
                                ));
                            }
                        }
                    }
                    c => return Err(Stop::Invalid(c, "in string escape code".into())),
                },
                c if c < 0x20 => return Err(Stop::Invalid(c, "in string literal".into())),
                _ => {}
            }
        }
    }

    /// A number from its first digit. A number may end the body (Go completes it at the end of input).
    fn number(&mut self) -> Scan {
        let digits = |s: &mut Self| {
            while s.peek().is_some_and(|c| c.is_ascii_digit()) {
                s.at += 1;
            }
        };
        if self.next()? != b'0' {
            digits(self);
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            match self.next()? {
                b'0'..=b'9' => digits(self),
                c => {
                    return Err(Stop::Invalid(
                        c,
                        "after decimal point in numeric literal".into(),
                    ))
                }
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            let mut c = self.next()?;
            if c == b'+' || c == b'-' {
                c = self.next()?;
            }
            if !c.is_ascii_digit() {
                return Err(Stop::Invalid(c, "in exponent of numeric literal".into()));
            }
            digits(self);
        }
        Ok(())
    }
}

/// Go's decoder error for `bytes`, if its scanner rejects them; `None` when Go would read a value (some bodies
/// serde refuses and Go takes: invalid UTF-8 or lone surrogates in strings, numbers beyond f64).
pub fn syntax_error(bytes: &[u8]) -> Option<String> {
    let mut scanner = Scanner { bytes, at: 0 };
    let scanned = scanner.next_token().and_then(|c| scanner.value(c));
    match scanned {
        Ok(()) => None,
        Err(Stop::Eof) => Some("unexpected EOF".into()),
        Err(Stop::Invalid(c, context)) => {
            Some(format!("invalid character {} {context}", quote_char(c)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::syntax_error;

    #[test]
    fn syntax_errors_read_as_go_words_them() {
        let cases: &[(&[u8], &str)] = &[
            // The example of Milvus's own handler tests.
            (
                br#"{"collectionName": "book", "dbName"}"#,
                "invalid character '}' after object key",
            ),
            (
                b"{oops",
                "invalid character 'o' looking for beginning of object key string",
            ),
            (br#"{"userName": "a","#, "unexpected EOF"),
            (b"   {", "unexpected EOF"),
            (b"-", "unexpected EOF"),
            (
                br#"{"a": "b" "c"}"#,
                "invalid character '\"' after object key:value pair",
            ),
            (
                br#"{"a": tru}"#,
                "invalid character '}' in literal true (expecting 'e')",
            ),
            (br#"{"a": nul"#, "unexpected EOF"),
            (
                br#"{"a": fx}"#,
                "invalid character 'x' in literal false (expecting 'a')",
            ),
            (
                br#"{"a": "\q"}"#,
                "invalid character 'q' in string escape code",
            ),
            (
                b"{\"a\": \"\x01\"}",
                r"invalid character '\x01' in string literal",
            ),
            (
                b"{\"a\": \"\n\"}",
                r"invalid character '\n' in string literal",
            ),
            (
                br#"{"a": "\u12x4"}"#,
                r"invalid character 'x' in \u hexadecimal character escape",
            ),
            (
                b"\xff",
                "invalid character '\u{ff}' looking for beginning of value",
            ),
            (
                b"\x85",
                r"invalid character '\u0085' looking for beginning of value",
            ),
            (
                br#"{"a": 01}"#,
                "invalid character '1' after object key:value pair",
            ),
            (
                br#"{"a": 1.}"#,
                "invalid character '}' after decimal point in numeric literal",
            ),
            (
                br#"{"a": 1e}"#,
                "invalid character '}' in exponent of numeric literal",
            ),
            (br#"{"a": -x}"#, "invalid character 'x' in numeric literal"),
            (
                br#"{"a": [1 2]}"#,
                "invalid character '2' after array element",
            ),
            (
                br#"{"a": [1,]}"#,
                "invalid character ']' looking for beginning of value",
            ),
            (
                br#"{"a": 1,}"#,
                "invalid character '}' looking for beginning of object key string",
            ),
            (
                b"{'a': 1}",
                r"invalid character '\'' looking for beginning of object key string",
            ),
            (
                br#"{"a": x}"#,
                "invalid character 'x' looking for beginning of value",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                syntax_error(body).as_deref(),
                Some(*want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        for fine in [
            &br#"{"a": [1, -2.5e+3, true, false, null, "\u00e9\n"]} trailing"#[..],
            br#"{"a": {"b": {}, "c": [[], {"d": [1, {"e": null}]}]}, "f": ""}"#,
            b"{\"a\": \"\xff\"}",
            b"7",
        ] {
            assert_eq!(syntax_error(fine), None);
        }
    }

    /// Go stops at its depth limit with its own words; deeper bodies are scanned without recursion, so a million
    /// open brackets (the body limit allows them) neither overflow the stack nor take long.
    #[test]
    fn nesting_is_bounded_as_go_bounds_it() {
        let at_limit = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(syntax_error(at_limit.as_bytes()), None);
        let objects = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
        assert_eq!(syntax_error(objects.as_bytes()), None);
        for body in [
            "[".repeat(10_001),
            "[".repeat(30_000),
            "[".repeat(1_000_000),
        ] {
            assert_eq!(
                syntax_error(body.as_bytes()).as_deref(),
                Some("invalid character '[' exceeded max depth")
            );
        }
        let deep_object = format!("{}{{", r#"{"a":"#.repeat(10_000));
        assert_eq!(
            syntax_error(deep_object.as_bytes()).as_deref(),
            Some("invalid character '{' exceeded max depth")
        );
        assert_eq!(
            syntax_error("[".repeat(9_999).as_bytes()).as_deref(),
            Some("unexpected EOF")
        );
    }
}
