//! The pattern language of PostgreSQL's `format()`: `%[n$][-][width]type` with type s, I or
//! L, `%%` for a percent sign, the width a number or `*` (`*n$`) taken from an argument, a
//! negative width meaning left-justified. The errors are PostgreSQL's, with its codes.

use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::common::{DataFusionError, Result};

fn invalid(message: impl Into<String>) -> DataFusionError {
    sql_error(sqlstate::INVALID_PARAMETER_VALUE, message)
}

/// A run of digits at `at`: its value and where it ends (None when there is none).
fn number(chars: &[char], at: usize) -> Result<Option<(usize, usize)>> {
    let end = (at..chars.len())
        .find(|&i| !chars[i].is_ascii_digit())
        .unwrap_or(chars.len());
    if end == at {
        return Ok(None);
    }
    let digits: String = chars[at..end].iter().collect();
    let value = digits
        .parse::<usize>()
        .ok()
        .filter(|v| *v <= i32::MAX as usize)
        .ok_or_else(|| invalid("number is out of range"))?;
    Ok(Some((value, end)))
}

/// The argument at 1-based `position`, or the error PostgreSQL gives.
fn argument<'a>(args: &[Option<&'a str>], position: usize) -> Result<Option<&'a str>> {
    if position == 0 {
        return Err(invalid(
            "format specifies argument 0, but arguments are numbered from 1",
        ));
    }
    args.get(position - 1)
        .copied()
        .ok_or_else(|| invalid("too few arguments for format()"))
}

/// `pattern` with its specifiers replaced by `args` (each a value's text, None for NULL).
pub fn format(pattern: &str, args: &[Option<&str>]) -> Result<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let unterminated = || invalid("unterminated format() type specifier");
    let mut out = String::with_capacity(pattern.len());
    let mut next = 1; // the argument a specifier without n$ takes
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        if chars.get(i) == Some(&'%') {
            out.push('%');
            i += 1;
            continue;
        }
        // n$: the argument's position.
        let mut position = None;
        if let Some((n, end)) = number(&chars, i)? {
            if chars.get(end) == Some(&'$') {
                position = Some(n);
                i = end + 1;
            }
        }
        let mut left = false;
        while chars.get(i) == Some(&'-') {
            left = true;
            i += 1;
        }
        let mut width = None;
        if chars.get(i) == Some(&'*') {
            i += 1;
            let from = match number(&chars, i)? {
                Some((n, end)) if chars.get(end) == Some(&'$') => {
                    i = end + 1;
                    n
                }
                Some(_) => return Err(unterminated()),
                None => {
                    let n = next;
                    next += 1;
                    n
                }
            };
            let w = match argument(args, from)? {
                None => 0,
                Some(text) => text
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| invalid(format!("invalid width \"{text}\" for format()")))?,
            };
            if w < 0 {
                left = true;
            }
            width = Some(w.unsigned_abs() as usize);
        } else if let Some((n, end)) = number(&chars, i)? {
            width = Some(n);
            i = end;
        }
        let Some(&kind) = chars.get(i) else {
            return Err(unterminated());
        };
        i += 1;
        let at = position.unwrap_or(next);
        next = at + 1;
        let value = match kind {
            's' | 'I' | 'L' => argument(args, at)?,
            other => {
                return Err(invalid(format!(
                    "unrecognized format() type specifier \"{other}\""
                )))
            }
        };
        let text = match (kind, value) {
            ('s', v) => v.unwrap_or("").to_string(),
            ('I', Some(v)) => super::quoting::quote_ident(v),
            ('I', None) => {
                return Err(sql_error(
                    sqlstate::NULL_VALUE_NOT_ALLOWED,
                    "null values cannot be formatted as an SQL identifier",
                ))
            }
            (_, Some(v)) => super::quoting::quote_literal(v),
            (_, None) => "NULL".to_string(),
        };
        let pad = width
            .unwrap_or(0)
            .saturating_sub(text.chars().count())
            .min(1 << 20);
        if left {
            out.push_str(&text);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&text);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::format;

    fn f(pattern: &str, args: &[Option<&str>]) -> String {
        format(pattern, args).expect("formats")
    }

    fn code(pattern: &str, args: &[Option<&str>]) -> String {
        match format(pattern, args) {
            Err(datafusion::common::DataFusionError::External(e)) => e
                .downcast_ref::<cip_udfs::error::SqlError>()
                .map(|e| e.sqlstate.to_string())
                .unwrap_or_default(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn formats_as_postgresql_does() {
        assert_eq!(f("Hello %s", &[Some("World")]), "Hello World");
        assert_eq!(f("%% %s", &[None]), "% ");
        assert_eq!(
            f("%I.%I", &[Some("public"), Some("My Table")]),
            "public.\"My Table\""
        );
        assert_eq!(f("%L, %L", &[Some("O'Neil"), None]), "'O''Neil', NULL");
        assert_eq!(f("%L", &[Some("a\\b")]), "E'a\\\\b'");
        assert_eq!(
            f("%2$s %1$s %s", &[Some("a"), Some("b"), Some("c")]),
            "b a b"
        );
        assert_eq!(
            f("|%10s|%-10s|", &[Some("x"), Some("y")]),
            "|         x|y         |"
        );
        assert_eq!(f("|%*s|", &[Some("-3"), Some("x")]), "|x  |");
        assert_eq!(f("|%-*2$s|", &[Some("x"), Some("3")]), "|x  |");
        assert_eq!(f("no args", &[]), "no args");
        assert_eq!(f("%I", &[Some("select")]), "\"select\"");
    }

    #[test]
    fn refuses_what_postgresql_refuses() {
        assert_eq!(code("%s %s", &[Some("a")]), "22023");
        assert_eq!(code("%x", &[Some("a")]), "22023");
        assert_eq!(code("ends with %", &[]), "22023");
        assert_eq!(code("%0$s", &[Some("a")]), "22023");
        assert_eq!(code("%I", &[None]), "22004");
        assert_eq!(code("%99999999999$s", &[Some("a")]), "22023");
    }
}
