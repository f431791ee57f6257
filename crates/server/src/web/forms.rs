//! The parts every form is drawn with, after the GOV.UK design system:
//! what is wrong with a form ([`Errors`]) and the error summary at its top
//! ([`error_summary`]); labelled fields whose hint and error are tied to
//! the control (`label for`, `aria-describedby`, `aria-invalid`), each
//! error linked from the summary by the field's id ([`input`],
//! [`textarea`], [`checkbox`], [`radios`]); the hidden CSRF and
//! idempotency fields ([`token_fields`]); and moments in Japan's time
//! ([`date_time`]).
//!
//! A field's `name` is also its `id` (a group of radios: its first
//! radio's), so that `#name` in the summary moves the focus to it.

use chrono::{DateTime, FixedOffset, Utc};
use maud::{html, Markup};

use super::Lang;
use crate::access::random_token;

// ------------------------------------------------------------------- errors

/// What is wrong with a form: messages by field (the field's id) in the
/// order of the form, and a detail shown under them (the authority's, when
/// it refused). A field of `""` is a problem with the whole form (listed
/// without a link).
#[derive(Debug, Default)]
pub struct Errors {
    items: Vec<(String, String)>,
    detail: Option<String>,
}

impl Errors {
    /// No errors.
    pub fn new() -> Errors {
        Errors::default()
    }

    /// Adds a message for `field` (`""` for the form as a whole).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.items.push((field.to_owned(), message.into()));
    }

    /// Sets the detail shown under the messages.
    pub fn set_detail(&mut self, detail: Option<String>) {
        self.detail = detail;
    }

    /// Whether there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The first message for `field` (never one for the whole form).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(f, _)| !field.is_empty() && f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The error summary at the top of a form (`role="alert"`), titled
/// "There is a problem": each message links to its field; a message about
/// the whole form is listed without a link.
pub fn error_summary(lang: Lang, errors: &Errors) -> Markup {
    summary(lang, errors, lang.t("入力内容を確認してください", "There is a problem"))
}

/// [`error_summary`], but titled "This could not be done" when no message
/// is about a field (the service refused the form as a whole).
pub fn error_summary_or_refusal(lang: Lang, errors: &Errors) -> Markup {
    let title = if errors.items.iter().all(|(field, _)| field.is_empty()) {
        lang.t("処理できませんでした", "This could not be done")
    } else {
        lang.t("入力内容を確認してください", "There is a problem")
    };
    summary(lang, errors, title)
}

fn summary(lang: Lang, errors: &Errors, title: &str) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.error-summary role="alert" aria-labelledby="error-summary-title" tabindex="-1" {
                h2.error-summary__title #error-summary-title { (title) }
                ul {
                    @for (field, message) in &errors.items {
                        li {
                            @if field.is_empty() { (message) }
                            @else { a href=(format!("#{field}")) { (message) } }
                        }
                    }
                }
                @if let Some(detail) = &errors.detail {
                    p.hint { (lang.t("詳細：", "Details: ")) (detail) }
                }
            }
        }
    }
}

// ------------------------------------------------------------- field parts

/// The ids a control is described by (its hint, its error).
pub fn described_by(name: &str, hint: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{name}-hint"));
    }
    if error {
        ids.push(format!("{name}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// The error line of a field (`NAME-error`), if it has an error.
pub fn error_line(lang: Lang, name: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error {
            p.error-message id=(format!("{name}-error")) {
                span.visually-hidden { (lang.t("エラー：", "Error: ")) }
                (e)
            }
        }
    }
}

/// The classes of a field's wrapper: marked when it has an error.
pub fn field_class(error: bool) -> &'static str {
    if error {
        "field field--error"
    } else {
        "field"
    }
}

fn optional_mark(lang: Lang, optional: bool) -> Markup {
    html! {
        @if optional { span.hint { " " (lang.t("（任意）", "(optional)")) } }
    }
}

// ------------------------------------------------------------------ inputs

/// A text-like input of a form, built with [`Input::text`] and the
/// methods after it, drawn by [`input`].
#[derive(Debug, Clone)]
pub struct Input<'a> {
    name: &'a str,
    label: &'a str,
    hint: Option<&'a str>,
    value: &'a str,
    kind: &'static str,
    class: &'static str,
    required: bool,
    optional: bool,
    inputmode: Option<&'static str>,
    autocomplete: Option<&'static str>,
    maxlength: Option<u32>,
    no_spellcheck: bool,
}

impl<'a> Input<'a> {
    /// A text input named (and identified) `name`, showing `value`.
    pub fn text(name: &'a str, label: &'a str, value: &'a str) -> Input<'a> {
        Input {
            name,
            label,
            hint: None,
            value,
            kind: "text",
            class: "input",
            required: false,
            optional: false,
            inputmode: None,
            autocomplete: None,
            maxlength: None,
            no_spellcheck: false,
        }
    }

    /// A short date input (`YYYY-MM-DD`).
    pub fn date(name: &'a str, label: &'a str, value: &'a str) -> Input<'a> {
        Input {
            kind: "date",
            class: "input input--short",
            ..Input::text(name, label, value)
        }
    }

    /// The hint under the label.
    pub fn hint(self, hint: &'a str) -> Input<'a> {
        Input {
            hint: Some(hint),
            ..self
        }
    }

    /// `required`, and marked 必須 (required) in the label.
    pub fn required(self) -> Input<'a> {
        Input { required: true, ..self }
    }

    /// Marked 任意 (optional) in the label.
    pub fn optional(self) -> Input<'a> {
        Input { optional: true, ..self }
    }

    /// A short input (codes, numbers).
    pub fn short(self) -> Input<'a> {
        Input {
            class: "input input--short",
            ..self
        }
    }

    /// `inputmode="numeric"`.
    pub fn numeric(self) -> Input<'a> {
        Input {
            inputmode: Some("numeric"),
            ..self
        }
    }

    /// A password input.
    pub fn password(self) -> Input<'a> {
        Input {
            kind: "password",
            ..self
        }
    }

    /// `autocomplete`.
    pub fn autocomplete(self, value: &'static str) -> Input<'a> {
        Input {
            autocomplete: Some(value),
            ..self
        }
    }

    /// `maxlength`.
    pub fn maxlength(self, n: u32) -> Input<'a> {
        Input {
            maxlength: Some(n),
            ..self
        }
    }

    /// `spellcheck="false"` (names, codes: the browser has no word for them).
    pub fn no_spellcheck(self) -> Input<'a> {
        Input {
            no_spellcheck: true,
            ..self
        }
    }
}

/// Draws a labelled input with its hint and error.
pub fn input(lang: Lang, errors: &Errors, i: Input<'_>) -> Markup {
    let error = errors.get(i.name);
    html! {
        div class=(field_class(error.is_some())) {
            label.label for=(i.name) {
                (i.label)
                @if i.required { span.required { (lang.t("必須", "required")) } }
                (optional_mark(lang, i.optional))
            }
            @if let Some(h) = i.hint { p.hint id=(format!("{}-hint", i.name)) { (h) } }
            (error_line(lang, i.name, error))
            input class=(i.class) id=(i.name) name=(i.name) type=(i.kind) value=(i.value)
                required[i.required] inputmode=[i.inputmode] autocomplete=[i.autocomplete] maxlength=[i.maxlength]
                spellcheck=[i.no_spellcheck.then_some("false")]
                aria-describedby=[described_by(i.name, i.hint.is_some(), error.is_some())]
                aria-invalid=[error.map(|_| "true")];
        }
    }
}

/// Draws an optional textarea with its label, hint and error.
pub fn textarea(lang: Lang, errors: &Errors, name: &str, label: &str, hint: &str, value: &str) -> Markup {
    let error = errors.get(name);
    html! {
        div class=(field_class(error.is_some())) {
            label.label for=(name) { (label) (optional_mark(lang, true)) }
            p.hint id=(format!("{name}-hint")) { (hint) }
            (error_line(lang, name, error))
            textarea.textarea id=(name) name=(name) rows="4"
                aria-describedby=[described_by(name, true, error.is_some())]
                aria-invalid=[error.map(|_| "true")] { (value) }
        }
    }
}

/// Draws a checkbox (`value="on"`) with its label, hint and error.
pub fn checkbox(lang: Lang, errors: &Errors, name: &str, label: &str, hint: Option<&str>, checked: bool) -> Markup {
    let error = errors.get(name);
    html! {
        div class=(field_class(error.is_some())) {
            (error_line(lang, name, error))
            div.choice {
                input type="checkbox" id=(name) name=(name) value="on" checked[checked]
                    aria-describedby=[described_by(name, hint.is_some(), error.is_some())]
                    aria-invalid=[error.map(|_| "true")];
                label for=(name) { (label) }
            }
            @if let Some(h) = hint { p.hint id=(format!("{name}-hint")) { (h) } }
        }
    }
}

// ------------------------------------------------------------------ radios

/// One radio button.
#[derive(Debug, Clone, Copy)]
pub struct Choice<'a> {
    value: &'a str,
    label: &'a str,
    hint: Option<&'a str>,
}

impl<'a> Choice<'a> {
    /// The answer `label`, sending `value`.
    pub fn new(value: &'a str, label: &'a str) -> Choice<'a> {
        Choice {
            value,
            label,
            hint: None,
        }
    }

    /// A hint under the label.
    pub fn hint(self, hint: &'a str) -> Choice<'a> {
        Choice {
            hint: Some(hint),
            ..self
        }
    }
}

/// A group of radio buttons in a fieldset, built with [`Radios::new`],
/// drawn by [`radios`].
#[derive(Debug, Clone, Copy)]
pub struct Radios<'a> {
    name: &'a str,
    legend: &'a str,
    hint: Option<&'a str>,
    choices: &'a [Choice<'a>],
    selected: &'a str,
    inline: bool,
}

impl<'a> Radios<'a> {
    /// The question `legend`, answered by one of `choices` under `name`
    /// (the first radio's id, which the error summary links to), with
    /// `selected` checked.
    pub fn new(name: &'a str, legend: &'a str, choices: &'a [Choice<'a>], selected: &'a str) -> Radios<'a> {
        Radios {
            name,
            legend,
            hint: None,
            choices,
            selected,
            inline: false,
        }
    }

    /// The hint under the question.
    pub fn hint(self, hint: &'a str) -> Radios<'a> {
        Radios {
            hint: Some(hint),
            ..self
        }
    }

    /// Side by side (short answers).
    pub fn inline(self) -> Radios<'a> {
        Radios { inline: true, ..self }
    }
}

/// Draws a group of radio buttons; the first one carries the field's id.
pub fn radios(lang: Lang, errors: &Errors, r: Radios<'_>) -> Markup {
    let error = errors.get(r.name);
    html! {
        div class=(field_class(error.is_some())) {
            fieldset aria-describedby=[described_by(r.name, r.hint.is_some(), error.is_some())] {
                legend { (r.legend) }
                @if let Some(h) = r.hint { p.hint id=(format!("{}-hint", r.name)) { (h) } }
                (error_line(lang, r.name, error))
                div class=(if r.inline { "radios radios--inline" } else { "radios" }) {
                    @for (i, c) in r.choices.iter().enumerate() {
                        @let id = if i == 0 { r.name.to_owned() } else { format!("{}-{}", r.name, c.value) };
                        @let hint_id = format!("{id}-item-hint");
                        div.choice {
                            input type="radio" id=(id) name=(r.name) value=(c.value) checked[r.selected == c.value]
                                aria-describedby=[c.hint.map(|_| hint_id.as_str())];
                            label for=(id) {
                                (c.label)
                                @if let Some(h) = c.hint { br; span.hint id=(hint_id) { (h) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------ hidden, time

/// The hidden fields of a form: the CSRF token `csrf` and a fresh
/// idempotency key.
pub fn token_fields(csrf: &str) -> Markup {
    html! {
        input type="hidden" name="_csrf" value=(csrf);
        input type="hidden" name="_key" value=(random_token(18));
    }
}

/// A moment in Japan's time (JST), as staff read it:
/// `2026年11月29日 09:30` or `29 Nov 2026 09:30 JST`.
pub fn date_time(lang: Lang, at: DateTime<Utc>) -> String {
    let jst = FixedOffset::east_opt(9 * 3600).map(|o| at.with_timezone(&o));
    match (jst, lang) {
        (Some(t), Lang::Ja) => t.format("%Y年%-m月%-d日 %H:%M").to_string(),
        (Some(t), Lang::En) => t.format("%-d %b %Y %H:%M JST").to_string(),
        (None, _) => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}
