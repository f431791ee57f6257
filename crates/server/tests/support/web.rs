//! The web pages read and driven as a browser does: requests with the
//! `Cookie` header, urlencoded form posts, redirects followed, and the
//! server-rendered HTML read back (a hidden field, the fields of a form,
//! the `h1`, the text between two markers).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};

use super::{Answer, As, TestApp};

// ---------------------------------------------------------------- requests

/// The `Cookie` header of a logged-in browser, in Japanese or English.
pub fn cookies(who: &As, english: bool) -> String {
    let session = who.cookie.clone().unwrap_or_default();
    if english {
        format!("{session}; mynacard_lang=en")
    } else {
        session
    }
}

/// A GET of `path` with the `Cookie` header `cookie` (none when empty).
pub fn get_request(path: &str, cookie: &str) -> Request<Body> {
    let mut request = Request::builder().method(Method::GET).uri(path);
    if !cookie.is_empty() {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).expect("request")
}

/// A POST of `fields` urlencoded, as a form sends them, with the `Cookie`
/// header `cookie` (none when empty).
pub fn form_request<K: AsRef<str>, V: AsRef<str>>(path: &str, cookie: &str, fields: &[(K, V)]) -> Request<Body> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
        .finish();
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if !cookie.is_empty() {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(body)).expect("request")
}

/// GETs a page.
pub async fn get_page(app: &TestApp, path: &str, cookie: &str) -> Answer {
    app.send(get_request(path, cookie)).await
}

/// POSTs a form.
pub async fn post_form<K: AsRef<str>, V: AsRef<str>>(
    app: &TestApp,
    path: &str,
    cookie: &str,
    fields: &[(K, V)],
) -> Answer {
    app.send(form_request(path, cookie, fields)).await
}

/// The `Location` of a redirect.
pub fn location(answer: &Answer) -> String {
    answer
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location ({}): {}", answer.status, answer.text))
        .to_owned()
}

/// Follows a redirect (303) with a GET.
pub async fn follow(app: &TestApp, answer: Answer, cookie: &str) -> Answer {
    let answer = answer.expect(StatusCode::SEE_OTHER);
    get_page(app, &location(&answer), cookie).await
}

// -------------------------------------------------------------------- HTML

/// HTML text with its entities read.
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The value of the attribute `name` in a tag's text.
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

/// The value of the (first) input `name` in a page, as the server wrote it
/// (`name="…" value="…"`: the hidden `_csrf` and `_key`).
pub fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} in the page: {html}"))
        + needle.len();
    let end = html[start..].find('"').expect("the end of the value");
    html[start..start + end].to_owned()
}

/// The hidden fields of the (first) form posting to `action`.
pub fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form posting to {action} in {html}"));
    let form = &html[start..start + html[start..].find("</form>").expect("the form's end")];
    form.split("<input")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value").unwrap_or_default())))
        .collect()
}

/// The hidden fields of the form posting to `action`, and `extra`.
pub fn filled(html: &str, action: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields = hidden_fields(html, action);
    fields.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    fields
}

/// The page's one `h1`.
pub fn h1(html: &str) -> String {
    let start = html.find("<h1").expect("an h1");
    let start = start + html[start..].find('>').expect("h1 tag") + 1;
    let end = start + html[start..].find("</h1>").expect("h1 end");
    assert!(!html[end..].contains("<h1"), "one h1 per page");
    html[start..end].to_owned()
}

/// The text between `before` and the next `after`, from the first `before`.
pub fn between<'t>(text: &'t str, before: &str, after: &str) -> &'t str {
    let start = text.find(before).unwrap_or_else(|| panic!("no {before:?} in {text}")) + before.len();
    let end = text[start..].find(after).expect("the end");
    &text[start..start + end]
}
