//! COPY's formats: the options of a COPY statement (CSV or PostgreSQL's text format, both
//! directions) and the text format's backslash escapes.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::sql::sqlparser::ast::{CopyLegacyCsvOption, CopyLegacyOption, CopyOption};

#[derive(Debug, Clone)]
pub struct CopyFormat {
    pub csv: bool,
    /// PostgreSQL's binary format (copy_binary.rs); the other options do not apply.
    pub binary: bool,
    pub header: bool,
    pub delimiter: u8,
    pub quote: u8,
    /// The text that stands for NULL: `\N` in text format, the empty field in CSV.
    pub null: String,
}

fn unsupported(what: impl std::fmt::Display) -> CipError {
    CipError::invalid(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("COPY option {what} is not supported"),
    )
}

impl CopyFormat {
    pub fn parse(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<Self> {
        let mut f = CopyFormat {
            csv: false,
            binary: false,
            header: false,
            delimiter: b'\t',
            quote: b'"',
            null: "\\N".to_string(),
        };
        let (mut delimiter, mut null) = (None, None);
        for o in options {
            match o {
                CopyOption::Format(x) => match x.value.to_ascii_lowercase().as_str() {
                    "csv" => f.csv = true,
                    "text" => f.csv = false,
                    "binary" => f.binary = true,
                    other => {
                        return Err(CipError::invalid(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            format!("COPY format {other} is not supported (csv, text, binary)"),
                        ))
                    }
                },
                CopyOption::Header(h) => f.header = *h,
                CopyOption::Delimiter(d) => delimiter = Some(*d),
                CopyOption::Null(n) => null = Some(n.clone()),
                CopyOption::Quote(q) if q.is_ascii() => f.quote = *q as u8,
                CopyOption::Encoding(e)
                    if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
                other => return Err(unsupported(other)),
            }
        }
        for o in legacy {
            match o {
                CopyLegacyOption::Csv(csv_opts) => {
                    f.csv = true;
                    for c in csv_opts {
                        match c {
                            CopyLegacyCsvOption::Header => f.header = true,
                            CopyLegacyCsvOption::Quote(q) if q.is_ascii() => f.quote = *q as u8,
                            other => return Err(unsupported(other)),
                        }
                    }
                }
                CopyLegacyOption::Binary => f.binary = true,
                CopyLegacyOption::Delimiter(d) => delimiter = Some(*d),
                CopyLegacyOption::Null(n) => null = Some(n.clone()),
                other => return Err(unsupported(other)),
            }
        }
        if f.binary && (f.csv || f.header || delimiter.is_some() || null.is_some()) {
            return Err(CipError::invalid(
                sqlstate::SYNTAX_ERROR,
                "COPY in binary format takes no CSV, HEADER, DELIMITER or NULL option",
            ));
        }
        if f.csv {
            f.delimiter = b',';
            f.null = String::new();
        }
        if let Some(d) = delimiter {
            if !d.is_ascii() {
                return Err(CipError::invalid(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    "COPY delimiter must be a single one-byte character",
                ));
            }
            f.delimiter = d as u8;
        }
        if let Some(n) = null {
            f.null = n;
        }
        Ok(f)
    }
}

/// A value of PostgreSQL's text COPY format with its backslash escapes undone: `\t`, `\n`,
/// `\r`, `\b`, `\f`, `\v`, `\\`, octal `\NNN`, hex `\xHH`; any other escaped character stands
/// for itself. The bytes must make UTF-8.
pub fn unescape_text(s: &str) -> Result<String, String> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' if bytes.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = 0u32;
                for _ in 0..2 {
                    match bytes.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} does not decode to UTF-8"))
}

/// A value escaped for PostgreSQL's text COPY format (the reverse of `unescape_text`).
pub fn escape_text(s: &str, delimiter: u8) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii() && c as u8 == delimiter => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `batch` with `f` applied to every non-NULL value of its text columns.
pub fn map_text(
    batch: &datafusion::arrow::record_batch::RecordBatch,
    f: impl Fn(&str) -> Result<String, String>,
) -> Result<datafusion::arrow::record_batch::RecordBatch, String> {
    use datafusion::arrow::array::{Array, ArrayRef, StringArray};
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for c in batch.columns() {
        match c.as_any().downcast_ref::<StringArray>() {
            Some(s) => {
                let mapped = s
                    .iter()
                    .map(|v| v.map(&f).transpose())
                    .collect::<Result<StringArray, String>>()?;
                columns.push(std::sync::Arc::new(mapped));
            }
            None => columns.push(c.clone()),
        }
    }
    datafusion::arrow::record_batch::RecordBatch::try_new(batch.schema(), columns)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::{escape_text, unescape_text};

    #[test]
    fn text_format_escapes_round_trip() {
        assert_eq!(unescape_text("a\\tb\\\\c\\nd").as_deref(), Ok("a\tb\\c\nd"));
        assert_eq!(unescape_text("\\101\\x42\\q").as_deref(), Ok("ABq"));
        assert_eq!(unescape_text("plain").as_deref(), Ok("plain"));
        assert!(unescape_text("\\xff").is_err());
        let s = "tab\there \\ new\nline";
        assert_eq!(unescape_text(&escape_text(s, b'\t')).as_deref(), Ok(s));
        assert_eq!(escape_text("a,b", b','), "a\\,b");
    }
}
