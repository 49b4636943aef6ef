//! Web addresses in a line of chat, found so the UI can make them links: the text is never read
//! as HTML, only `http://` and `https://` addresses become links.

/// A piece of a line: plain text, or an address to link to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// Punctuation that ends a sentence around an address rather than belonging to it.
const TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', '\'', '"', ']', '}', '>', '*'];

/// The line as text and links, in order.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut done = 0; // text before this is in `out`
    let mut from = 0; // where the next address is looked for
    while let Some(start) = next_address(text, from) {
        let tail = &text[start..];
        let end = tail.find(|c: char| c.is_whitespace() || c == '<').unwrap_or(tail.len());
        let address = trim(&tail[..end]);
        let host = address.split_once("//").map_or("", |(_, h)| h);
        if !host.starts_with(|c: char| c.is_alphanumeric()) {
            from = start + 4; // a scheme alone is no address
            continue;
        }
        if start > done {
            out.push(Piece::Text(&text[done..start]));
        }
        out.push(Piece::Link(address));
        done = start + address.len();
        from = done;
    }
    if done < text.len() {
        out.push(Piece::Text(&text[done..]));
    }
    out
}

/// An address without the punctuation after it (a `)` stays when the address opened it).
fn trim(mut address: &str) -> &str {
    loop {
        let mut t = address.trim_end_matches(TRAILING);
        if t.ends_with(')') && t.matches(')').count() > t.matches('(').count() {
            t = &t[..t.len() - 1];
        }
        if t == address {
            return t;
        }
        address = t;
    }
}

/// Where the next `http://` or `https://` at a word's start begins, from byte `from` on.
fn next_address(text: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = text.get(at..)?.find(['h', 'H']).map(|i| i + at) {
        let rest = &text.as_bytes()[i..];
        let scheme = |s: &str| rest.len() >= s.len() && rest[..s.len()].eq_ignore_ascii_case(s.as_bytes());
        let at_word = text[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        if at_word && (scheme("https://") || scheme("http://")) {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::Piece::{Link, Text};
    use super::*;

    #[test]
    fn addresses_become_links_and_the_rest_stays_text() {
        assert_eq!(
            pieces("see https://example.com/a?b=1, then (http://x.org/wiki/A_(b)) ok."),
            vec![
                Text("see "),
                Link("https://example.com/a?b=1"),
                Text(", then ("),
                Link("http://x.org/wiki/A_(b)"),
                Text(") ok."),
            ]
        );
    }

    #[test]
    fn no_address_no_link_and_never_markup() {
        assert_eq!(
            pieces("<b>hi</b> javascript:alert(1) xhttp://a.b"),
            vec![Text("<b>hi</b> javascript:alert(1) xhttp://a.b")]
        );
        assert_eq!(pieces("http:// alone"), vec![Text("http:// alone")]);
        assert_eq!(pieces("HTTPS://Up.example"), vec![Link("HTTPS://Up.example")]);
        assert_eq!(pieces(""), Vec::<Piece<'_>>::new());
        assert_eq!(pieces("용사 https://예.kr!"), vec![Text("용사 "), Link("https://예.kr"), Text("!")]);
    }
}
