//! `Link` headers (RFC 8288) as registries use them for tag-list pagination:
//! `</v2/app/tags/list?last=v9&n=100>; rel="next"`. The target may be relative or absolute;
//! the caller resolves it against the URL of the page it came from.

/// The target of the first `rel="next"` link in a `Link` header value, if any. Malformed links
/// are skipped; nothing panics on any input.
pub fn next_link(header: &str) -> Option<&str> {
    let mut rest = header;
    loop {
        let open = rest.find('<')?;
        let after_open = &rest[open + 1..];
        let close = after_open.find('>')?;
        let target = &after_open[..close];
        let after_target = &after_open[close + 1..];
        // parameters run until the next link (a comma outside quotes followed by `<`)
        let params_end = next_link_start(after_target);
        let params = &after_target[..params_end];
        if is_next(params) {
            return Some(target.trim());
        }
        rest = &after_target[params_end..];
        if rest.is_empty() {
            return None;
        }
    }
}

/// Where the next `<` that starts a link is (a `<` outside quotes), or the end.
fn next_link_start(text: &str) -> usize {
    let mut quoted = false;
    for (index, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => return index,
            _ => {}
        }
    }
    text.len()
}

/// Whether `; rel="next"` (or `rel=next`, or a space-separated list holding `next`) is among
/// the parameters.
fn is_next(params: &str) -> bool {
    params.split(';').any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("rel")
            && value
                .trim()
                .trim_end_matches(',')
                .trim()
                .trim_matches('"')
                .split_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("next"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn relative_and_absolute_next_links_are_found() {
        assert_eq!(
            next_link(r#"</v2/app/tags/list?last=b&n=2>; rel="next""#),
            Some("/v2/app/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r"<https://r.example/v2/app/tags/list?last=b>;rel=next"),
            Some("https://r.example/v2/app/tags/list?last=b")
        );
    }

    #[test]
    fn the_next_link_is_picked_among_others() {
        let header = r#"<https://r/first>; rel="first", <https://r/x?a=1,2>; rel="prev next"; title="a;b", <https://r/last>; rel="last""#;
        assert_eq!(next_link(header), Some("https://r/x?a=1,2"));
        assert_eq!(next_link(r#"<https://r/prev>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("<unclosed; rel=next"), None);
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(header in "\\PC{0,80}") {
            let _ = next_link(&header);
        }

        #[test]
        fn bracket_heavy_headers_never_panic(header in "[<>;=\", a-z]{0,60}") {
            let _ = next_link(&header);
        }
    }
}
