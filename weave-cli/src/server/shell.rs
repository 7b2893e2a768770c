//! The HTML shells of the pages: the layout (left nav, a main area the page's script
//! fills in) with the page's title and heading rendered on the server, escaped. No data
//! goes into a script: the scripts read the URL and the JSON API.

use axum::response::Html;

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Which nav link a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Traces and a trace.
    Traces,
    /// Evaluations and comparisons.
    Evals,
    /// Ops.
    Ops,
    /// Threads.
    Threads,
    /// None (an error page).
    None,
}

const NAV: [(Section, &str, &str, &str); 4] = [
    (Section::Traces, "nav-traces", "/", "Traces"),
    (Section::Evals, "nav-evals", "/evals", "Evaluations"),
    (Section::Ops, "nav-ops", "/ops", "Ops"),
    (Section::Threads, "nav-threads", "/threads", "Threads"),
];

/// A page: `script` is the asset that renders it (`traces`, `trace`, …), `title` and
/// `heading` are escaped here.
pub fn page(section: Section, script: &str, title: &str, heading: &str) -> Html<String> {
    let mut nav = String::new();
    for (s, id, href, label) in NAV {
        let class = if s == section { " class=\"active\"" } else { "" };
        nav.push_str(&format!("<a id=\"{id}\" href=\"{href}\"{class}>{label}</a>"));
    }
    let script_tag = if script.is_empty() {
        String::new()
    } else {
        format!("<script src=\"/assets/{}.js\"></script>", escape(script))
    };
    Html(format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · weave</title>\n<link rel=\"icon\" href=\"/assets/favicon.svg\" type=\"image/svg+xml\">\n\
         <link rel=\"stylesheet\" href=\"/assets/app.css\">\n</head>\n<body data-page=\"{page}\">\n\
         <nav id=\"nav\"><a class=\"brand\" href=\"/\"><span class=\"logo\">◆</span> weave</a>{nav}\
         <div class=\"nav-foot\" id=\"nav-store\"></div></nav>\n\
         <main id=\"main\"><header class=\"page-head\"><h1 id=\"page-title\">{heading}</h1>\
         <div id=\"page-tools\"></div></header>\n<div id=\"content\"><noscript>The viewer needs JavaScript.</noscript></div></main>\n\
         <script src=\"/assets/app.js\"></script>\n{script_tag}\n</body>\n</html>\n",
        title = escape(title),
        heading = escape(heading),
        page = escape(script),
    ))
}

/// The page for an unknown address.
pub fn not_found_page(path: &str) -> Html<String> {
    page(Section::None, "", "Not found", &format!("Nothing at {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_in_content_and_attributes() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        let html = page(Section::Ops, "op", "<b>", "<img src=x onerror=alert(1)>").0;
        assert!(html.contains("<title>&lt;b&gt; · weave</title>"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!html.contains("<img"));
        assert!(html.contains("id=\"nav-ops\" href=\"/ops\" class=\"active\""));
    }
}
