//! How answers and failures leave the program.
//!
//! Every answer is one struct that serialises to a single JSON object and
//! also lists its bilingual text lines (`日本語 / English: value`), so the two
//! renderings cannot drift apart. Every failure becomes exactly one line on
//! stderr (`mynacard: what is wrong`), plus, with `--json`, an
//! `{"error":{"code":…,"message":…}}` object on stdout.

use std::error::Error as _;
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use mynacard_rules::RuleError;
use serde::Serialize;

/// A Japanese term and its English gloss, shown as `ja / en` (and as
/// `{"ja":…,"en":…}` where an answer carries one in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Phrase {
    pub ja: &'static str,
    pub en: &'static str,
}

impl Phrase {
    pub const fn new(ja: &'static str, en: &'static str) -> Phrase {
        Phrase { ja, en }
    }
}

impl fmt::Display for Phrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.ja, self.en)
    }
}

/// One line of a text answer: a bilingual label and a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    label: Phrase,
    value: String,
}

/// A text line `label.ja / label.en: value`.
pub fn line(label: Phrase, value: impl fmt::Display) -> Line {
    Line {
        label,
        value: value.to_string(),
    }
}

/// An answer of a subcommand: one JSON object, or bilingual text lines.
pub trait Answer: Serialize {
    /// The text rendering, one line per fact.
    fn lines(&self) -> Vec<Line>;
}

/// The text rendering of `lines`, each ending in a newline.
pub fn render_text(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| format!("{} / {}: {}\n", l.label.ja, l.label.en, one_line(&l.value)))
        .collect()
}

/// Prints `answer` on stdout: pretty JSON with `json`, else bilingual text.
pub fn emit<A: Answer>(answer: &A, json: bool) -> Result<(), Failure> {
    let text = if json {
        let mut text =
            serde_json::to_string_pretty(answer).map_err(|e| Failure::internal(format!("cannot render JSON: {e}")))?;
        text.push('\n');
        text
    } else {
        render_text(&answer.lines())
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        // The reader stopped reading (`… | head`): nothing is wrong with the answer.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::internal(format!("cannot write the answer: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// Exit status for bad input: a usage error, an unparsable value.
pub const EXIT_USAGE: u8 = 2;
/// Exit status for facts the rules engine refuses.
pub const EXIT_RULE: u8 = 1;

/// Input that the command line layer (not the engine) refuses, e.g. a
/// malformed `--at` time. Carried through clap as a value-parser error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

/// Why the program stops without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    exit: u8,
    code: String,
    message: String,
}

#[derive(Serialize)]
struct ErrorDocument<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

impl Failure {
    /// A usage error (exit 2) with a stable `code`.
    pub fn usage(code: &str, message: impl Into<String>) -> Failure {
        Failure {
            exit: EXIT_USAGE,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// An error of the rules engine. Text that does not parse (a date, a
    /// number, a policy) is bad input, exit 2; facts the rules refuse, exit 1.
    pub fn rule(err: &RuleError) -> Failure {
        let exit = match err {
            RuleError::BadDate { .. } | RuleError::BadPolicy(_) | RuleError::BadNumber(_) => EXIT_USAGE,
            _ => EXIT_RULE,
        };
        Failure {
            exit,
            code: err.code().to_owned(),
            message: err.to_string(),
        }
    }

    /// A failure with an explicit exit status and code.
    pub fn from_parts(exit: u8, code: &str, message: String) -> Failure {
        Failure {
            exit,
            code: code.to_owned(),
            message,
        }
    }

    /// Something that should not happen (an unwritable stdout, say): exit 1.
    pub fn internal(message: String) -> Failure {
        Failure {
            exit: EXIT_RULE,
            code: "internal".to_owned(),
            message,
        }
    }

    /// Prefixes the message with the flags it concerns.
    pub fn context(mut self, prefix: &str) -> Failure {
        self.message = format!("{prefix}: {}", self.message);
        self
    }

    /// Turns a clap parse error into one line, keeping what names the
    /// offending flag or value and dropping the usage dump.
    ///
    /// `redact` lists argument values that must never be shown (PINs).
    pub fn from_clap(err: &clap::Error, redact: &[String]) -> Failure {
        let mut failure = Failure::from_clap_unredacted(err);
        for secret in redact.iter().filter(|s| !s.is_empty()) {
            failure.message = failure.message.replace(&format!("'{secret}'"), "'<redacted>'");
        }
        failure
    }

    fn from_clap_unredacted(err: &clap::Error) -> Failure {
        if err.kind() == ErrorKind::ValueValidation {
            if let Some(source) = err.source() {
                let flag = match err.get(ContextKind::InvalidArg) {
                    Some(ContextValue::String(arg)) => arg.split_whitespace().next().unwrap_or(arg).to_owned(),
                    _ => "input".to_owned(),
                };
                let value = match err.get(ContextKind::InvalidValue) {
                    Some(ContextValue::String(value)) => value.as_str(),
                    _ => "",
                };
                if let Some(rule) = source.downcast_ref::<RuleError>() {
                    let failure = Failure {
                        exit: EXIT_USAGE,
                        ..Failure::rule(rule)
                    };
                    let message = match rule {
                        // The engine's message already starts with the value.
                        RuleError::BadDate { .. } => format!("{flag} {rule}"),
                        _ => format!("{flag} {value}: {rule}"),
                    };
                    return Failure { message, ..failure };
                }
                if let Some(input) = source.downcast_ref::<InputError>() {
                    return Failure::usage(input.code, format!("{flag} {value}: {input}"));
                }
            }
        }
        Failure::usage("usage", clap_one_line(&err.render().to_string()))
    }

    /// Prints the failure (one line on stderr; with `json`, also an error
    /// object on stdout) and gives the exit status.
    pub fn report(&self, json: bool) -> ExitCode {
        // Nothing sensible is left to do if stderr or stdout are closed.
        let _ = writeln!(io::stderr().lock(), "mynacard: {}", one_line(&self.message));
        if json {
            let doc = ErrorDocument {
                error: ErrorBody {
                    code: &self.code,
                    message: &self.message,
                },
            };
            if let Ok(text) = serde_json::to_string_pretty(&doc) {
                let _ = writeln!(io::stdout().lock(), "{text}");
            }
        }
        ExitCode::from(self.exit)
    }
}

/// Folds any line breaks so that a value or a message stays on one line.
pub fn one_line(text: &str) -> String {
    if text.contains(['\n', '\r']) {
        text.split(['\n', '\r'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text.to_owned()
    }
}

/// The message of a rendered clap error on one line: the error and its
/// details (missing arguments, possible values, tips), without the usage
/// section and the "For more information" hint.
fn clap_one_line(rendered: &str) -> String {
    let mut out = String::new();
    for raw in rendered.lines() {
        let part = raw.trim();
        if part.starts_with("Usage:") || part.starts_with("For more information") {
            break;
        }
        if part.is_empty() {
            continue;
        }
        let part = part.strip_prefix("error: ").unwrap_or(part);
        if !out.is_empty() {
            out.push_str(if part.starts_with("tip:") { "; " } else { " " });
        }
        out.push_str(part);
    }
    if out.is_empty() {
        "invalid command line (try --help)".to_owned()
    } else {
        out
    }
}

/// Formats yen with thousands separators: 1000 → "1,000".
pub fn yen(amount: u32) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yen_groups_thousands() {
        assert_eq!(yen(0), "0");
        assert_eq!(yen(800), "800");
        assert_eq!(yen(1000), "1,000");
        assert_eq!(yen(1234567), "1,234,567");
    }

    #[test]
    fn clap_errors_fold_to_one_line() {
        let rendered = "error: the following required arguments were not provided:\n  --planned-move-out <DATE>\n\nUsage: mynacard rules lapse --card-expiry <DATE>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_one_line(rendered),
            "the following required arguments were not provided: --planned-move-out <DATE>"
        );
        let rendered =
            "error: unexpected argument '--bron' found\n\n  tip: a similar argument exists: '--born'\n\nUsage: x\n";
        assert_eq!(
            clap_one_line(rendered),
            "unexpected argument '--bron' found; tip: a similar argument exists: '--born'"
        );
    }

    #[test]
    fn text_lines_are_bilingual_and_single() {
        let text = render_text(&[line(Phrase::new("手数料", "Fee"), "a\nb")]);
        assert_eq!(text, "手数料 / Fee: a b\n");
    }
}
