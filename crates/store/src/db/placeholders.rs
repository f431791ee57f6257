//! SQL is written once, in SQLite's dialect with numbered placeholders
//! `?1 ?2 …`; PostgreSQL wants `$1 $2 …`.

/// Rewrites SQLite's numbered placeholders `?N` to PostgreSQL's `$N`.
///
/// String literals (`'…'`, with `''` as the escaped quote), quoted
/// identifiers (`"…"`), line comments (`-- …`) and block comments
/// (`/* … */`) are copied untouched. A `?` not followed by a digit is left as
/// it is: the store's SQL uses numbered placeholders only.
pub fn translate_placeholders(sql: &str) -> String {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Single,
        Double,
        Line,
        Block,
    }
    let bytes = sql.as_bytes();
    // Every delimiter is ASCII, and no byte of a multi-byte UTF-8 character
    // is, so scanning bytes and swapping one ASCII byte for another keeps
    // the text valid UTF-8.
    let mut out = bytes.to_vec();
    let mut state = State::Code;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        match state {
            State::Code => match b {
                b'\'' => state = State::Single,
                b'"' => state = State::Double,
                b'-' if next == Some(b'-') => {
                    state = State::Line;
                    i += 1;
                }
                b'/' if next == Some(b'*') => {
                    state = State::Block;
                    i += 1;
                }
                b'?' if next.is_some_and(|n| n.is_ascii_digit()) => out[i] = b'$',
                _ => {}
            },
            State::Single => {
                if b == b'\'' {
                    if next == Some(b'\'') {
                        i += 1;
                    } else {
                        state = State::Code;
                    }
                }
            }
            State::Double => {
                if b == b'"' {
                    if next == Some(b'"') {
                        i += 1;
                    } else {
                        state = State::Code;
                    }
                }
            }
            State::Line => {
                if b == b'\n' {
                    state = State::Code;
                }
            }
            State::Block => {
                if b == b'*' && next == Some(b'/') {
                    state = State::Code;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| sql.to_owned())
}

#[cfg(test)]
mod tests {
    use super::translate_placeholders as t;

    #[test]
    fn numbered_placeholders_become_dollars() {
        assert_eq!(
            t("SELECT a FROM x WHERE b = ?1 AND c IN (?2, ?10)"),
            "SELECT a FROM x WHERE b = $1 AND c IN ($2, $10)"
        );
        assert_eq!(t("VALUES (?1,?2)"), "VALUES ($1,$2)");
        assert_eq!(t("?1"), "$1");
    }

    #[test]
    fn literals_identifiers_and_comments_are_untouched() {
        assert_eq!(t("SELECT '?1', ?1"), "SELECT '?1', $1");
        assert_eq!(t("SELECT 'it''s ?2', ?2"), "SELECT 'it''s ?2', $2");
        assert_eq!(t("SELECT \"col?3\", ?3"), "SELECT \"col?3\", $3");
        assert_eq!(t("SELECT \"a\"\"?1\" FROM x"), "SELECT \"a\"\"?1\" FROM x");
        assert_eq!(t("SELECT ?1 -- not ?2\n, ?3"), "SELECT $1 -- not ?2\n, $3");
        assert_eq!(t("SELECT /* ?1 */ ?2"), "SELECT /* ?1 */ $2");
        assert_eq!(
            t("SELECT '住所 ?1', ?1 AS \"氏名\""),
            "SELECT '住所 ?1', $1 AS \"氏名\""
        );
    }

    #[test]
    fn bare_question_marks_and_unterminated_text_are_left_alone() {
        assert_eq!(t("SELECT ? , ?x"), "SELECT ? , ?x");
        assert_eq!(t("SELECT 'open ?1"), "SELECT 'open ?1");
        assert_eq!(t("SELECT ?"), "SELECT ?");
        assert_eq!(t(""), "");
    }
}
