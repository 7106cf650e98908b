//! Glob matching.
//!
//! - [`matches()`]: names (`*`, `?`, `[...]`, `{a,b}`), as used by promotion policy
//!   `stageSelector.name: glob:...`. Names have no path separators, so `*` and `**` are the same.
//! - [`PathGlob`]: slash-separated paths with doublestar semantics (Go's
//!   `github.com/bmatcuk/doublestar/v4`, which Kargo uses for `glob:` path selectors): `*`, `?`
//!   and classes never cross a `/`, a `**` segment matches zero or more whole segments, `{a,b}`
//!   alternatives may nest and hold slashes, `\` escapes.

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    expand_braces(pattern)
        .iter()
        .any(|alternative| match_here(alternative.as_bytes(), name.as_bytes()))
}

fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_owned()];
    };
    let Some(close_rel) = pattern[open..].find('}') else {
        return vec![pattern.to_owned()];
    };
    let close = open + close_rel;
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    pattern[open + 1..close]
        .split(',')
        .flat_map(|choice| expand_braces(&format!("{head}{choice}{tail}")))
        .collect()
}

fn match_here(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative matcher with single-star backtracking.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    star = Some((p, n));
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class(&pattern[p..], name[n]) {
                        if matched {
                            p += next;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                byte if byte == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((star_p, star_n)) => {
                p = star_p;
                n = star_n + 1;
                star = Some((star_p, star_n + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Matches a `[...]` class at the start of `pattern`; returns (matched, length of the class).
fn class(pattern: &[u8], byte: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pattern.len() {
        if pattern[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']' {
            if (pattern[i]..=pattern[i + 2]).contains(&byte) {
                matched = true;
            }
            i += 3;
        } else {
            if pattern[i] == byte {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// Why a path glob is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// A `[` without its `]`.
    #[error("`[` is never closed")]
    UnclosedClass,
    /// A class that is empty, or has a `-` where no range can be (`[]`, `[-a]`, `[a-]`, `[a-b-c]`).
    #[error("malformed character class")]
    BadClass,
    /// A `{` without its `}`.
    #[error("`{{` is never closed")]
    UnclosedBrace,
    /// A `\` with nothing after it.
    #[error("the pattern ends with an escape (`\\`)")]
    TrailingEscape,
    /// Nested alternatives that would expand to more than [`MAX_ALTERNATIVES`] patterns.
    #[error("the `{{...}}` alternatives expand to more than {MAX_ALTERNATIVES} patterns")]
    TooManyAlternatives,
}

/// The most patterns a [`PathGlob`]'s `{a,b}` alternatives may expand to.
pub const MAX_ALTERNATIVES: usize = 1024;

/// A compiled doublestar pattern for slash-separated paths (see the module documentation).
///
/// ```
/// use gantry_core::glob::PathGlob;
/// let glob = PathGlob::new("apps/**/values-{dev,prod}.yaml").unwrap();
/// assert!(glob.matches("apps/values-dev.yaml"));
/// assert!(glob.matches("apps/a/b/values-prod.yaml"));
/// assert!(!glob.matches("apps/a/values-test.yaml"));
/// ```
#[derive(Clone, Debug)]
pub struct PathGlob {
    pattern: String,
    alternatives: Vec<Vec<Segment>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// `**`: zero or more whole segments.
    Any,
    /// Any other segment.
    Tokens(Vec<Token>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`
    One,
    /// `*`
    Run,
    /// `[...]`
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl PathGlob {
    /// Compiles `pattern`, or says why it is malformed.
    pub fn new(pattern: &str) -> Result<Self, GlobError> {
        let mut alternatives = Vec::new();
        for expanded in expand_path_braces(pattern)? {
            let mut segments: Vec<Segment> = Vec::new();
            for part in expanded.split('/') {
                let segment = if part == "**" {
                    Segment::Any
                } else {
                    Segment::Tokens(tokenize(part)?)
                };
                // `**/**` is the same as `**`, and cheaper to match once.
                if !(segment == Segment::Any && segments.last() == Some(&Segment::Any)) {
                    segments.push(segment);
                }
            }
            alternatives.push(segments);
        }
        Ok(Self {
            pattern: pattern.to_owned(),
            alternatives,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the whole of `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        self.alternatives
            .iter()
            .any(|segments| match_segments(segments, &parts))
    }
}

/// Expands `{a,b}` alternatives (nested ones too), honouring `\` escapes and ignoring braces
/// inside `[...]`.
fn expand_path_braces(pattern: &str) -> Result<Vec<String>, GlobError> {
    let chars: Vec<char> = pattern.chars().collect();
    let Some(open) = find_open_brace(&chars) else {
        return Ok(vec![pattern.to_owned()]);
    };
    // Find the matching `}` and the top-level commas.
    let mut depth = 0usize;
    let mut commas = Vec::new();
    let mut close = None;
    let mut index = open;
    while index < chars.len() {
        match chars[index] {
            '\\' => index += 1,
            '[' => index = skip_class(&chars, index),
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(index);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(index),
            _ => {}
        }
        index += 1;
    }
    let close = close.ok_or(GlobError::UnclosedBrace)?;
    let head: String = chars[..open].iter().collect();
    let tail: String = chars[close + 1..].iter().collect();
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for pair in bounds.windows(2) {
        let choice: String = chars[pair[0] + 1..pair[1]].iter().collect();
        for expanded in expand_path_braces(&format!("{head}{choice}{tail}"))? {
            out.push(expanded);
            if out.len() > MAX_ALTERNATIVES {
                return Err(GlobError::TooManyAlternatives);
            }
        }
    }
    Ok(out)
}

/// The index of the first `{` outside escapes and classes.
fn find_open_brace(chars: &[char]) -> Option<usize> {
    let mut index = 0;
    while index < chars.len() {
        match chars[index] {
            '\\' => index += 1,
            '[' => index = skip_class(chars, index),
            '{' => return Some(index),
            _ => {}
        }
        index += 1;
    }
    None
}

/// The index of the `]` closing the class that opens at `open` (or the last index when it is
/// never closed: tokenizing reports that).
fn skip_class(chars: &[char], open: usize) -> usize {
    let mut index = open + 1;
    if matches!(chars.get(index), Some('^' | '!')) {
        index += 1;
    }
    while index < chars.len() {
        match chars[index] {
            '\\' => index += 1,
            ']' => return index,
            _ => {}
        }
        index += 1;
    }
    chars.len().saturating_sub(1)
}

fn tokenize(segment: &str) -> Result<Vec<Token>, GlobError> {
    let chars: Vec<char> = segment.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let token = match chars[index] {
            '\\' => {
                index += 1;
                Token::Literal(*chars.get(index).ok_or(GlobError::TrailingEscape)?)
            }
            '*' => {
                if tokens.last() == Some(&Token::Run) {
                    index += 1;
                    continue;
                }
                Token::Run
            }
            '?' => Token::One,
            '[' => {
                let (token, next) = parse_class(&chars, index)?;
                index = next;
                tokens.push(token);
                continue;
            }
            c => Token::Literal(c),
        };
        tokens.push(token);
        index += 1;
    }
    Ok(tokens)
}

/// One class member with escapes resolved; `None` for an unescaped `-` or `]`.
fn class_member(chars: &[char], index: &mut usize) -> Result<Option<char>, GlobError> {
    match chars.get(*index) {
        None => Err(GlobError::UnclosedClass),
        Some('\\') => {
            *index += 1;
            let c = *chars.get(*index).ok_or(GlobError::UnclosedClass)?;
            *index += 1;
            Ok(Some(c))
        }
        Some('-' | ']') => Ok(None),
        Some(&c) => {
            *index += 1;
            Ok(Some(c))
        }
    }
}

/// Parses the class opening at `open`; returns it and the index after its `]`.
fn parse_class(chars: &[char], open: usize) -> Result<(Token, usize), GlobError> {
    let mut index = open + 1;
    let negated = matches!(chars.get(index), Some('^' | '!'));
    if negated {
        index += 1;
    }
    let mut ranges = Vec::new();
    loop {
        match chars.get(index) {
            None => return Err(GlobError::UnclosedClass),
            Some(']') if !ranges.is_empty() => {
                return Ok((Token::Class { negated, ranges }, index + 1));
            }
            _ => {}
        }
        let low = class_member(chars, &mut index)?.ok_or(GlobError::BadClass)?;
        if chars.get(index) == Some(&'-') {
            index += 1;
            let high = class_member(chars, &mut index)?.ok_or(GlobError::BadClass)?;
            if high < low {
                return Err(GlobError::BadClass);
            }
            ranges.push((low, high));
        } else {
            ranges.push((low, low));
        }
    }
}

fn match_segments(pattern: &[Segment], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::Any, rest)) => {
            (0..=path.len()).any(|skipped| match_segments(rest, &path[skipped..]))
        }
        Some((Segment::Tokens(tokens), rest)) => path
            .split_first()
            .is_some_and(|(first, tail)| match_tokens(tokens, first) && match_segments(rest, tail)),
    }
}

/// Matches one segment; a failed match backtracks to the most recent `*` only, which is
/// enough for globs.
fn match_tokens(tokens: &[Token], segment: &str) -> bool {
    let name: Vec<char> = segment.chars().collect();
    let (mut t, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let advanced = match tokens.get(t) {
            Some(Token::Run) => {
                star = Some((t + 1, n));
                t += 1;
                continue;
            }
            Some(Token::One) => true,
            Some(Token::Literal(c)) => *c == name[n],
            Some(Token::Class { negated, ranges }) => {
                ranges
                    .iter()
                    .any(|(low, high)| (*low..=*high).contains(&name[n]))
                    != *negated
            }
            None => false,
        };
        if advanced {
            t += 1;
            n += 1;
        } else if let Some((star_t, star_n)) = star {
            t = star_t;
            n = star_n + 1;
            star = Some((star_t, star_n + 1));
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|token| *token == Token::Run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(matches("*-dev", "frontend-dev"));
        assert!(matches("front*", "frontend-dev"));
        assert!(!matches("*-prod", "frontend-dev"));
        assert!(matches("{frontend,backend}-dev", "backend-dev"));
        assert!(matches("stage-?", "stage-1"));
        assert!(matches("stage-[0-9]", "stage-7"));
        assert!(!matches("stage-[!0-9]", "stage-7"));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
    }

    #[test]
    fn path_globs_follow_doublestar() {
        let cases = [
            ("abc", "abc", true),
            ("*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a?b", "a/b", false),
            ("a?b", "a\u{263a}b", true),
            ("ab[^c]", "abc", false),
            ("ab[!c]", "abd", true),
            ("ab[b-d]", "abc", true),
            ("[\\]a]", "]", true),
            ("[x\\-]", "-", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("a/**", "a", true),
            ("a/**", "a/b", true),
            ("a/**", "a/b/c", true),
            ("**/c", "c", true),
            ("**/c", "a/b/c", true),
            ("**/c", "a/b", false),
            ("**/c", "a/abc", false),
            ("a/**/b", "a/b", true),
            ("a/**/d", "a/b/c/d", true),
            ("a/**/**/d", "a/d", true),
            ("**", "a/b/c", true),
            ("ab{c,d}", "abc", true),
            ("ab{c,d,*}", "abcde", true),
            ("{apps,base}/**/*.yaml", "base/x/y.yaml", true),
            ("{a/b,c}/d", "a/b/d", true),
            ("x{a,{b,c}}y", "xcy", true),
            ("[{]x", "{x", true),
            ("abc**", "abc", true),
            ("**abc", "xabc", true),
            ("**abc", "x/abc", false),
            ("*.yaml", ".hidden.yaml", true),
        ];
        for (pattern, path, expected) in cases {
            let glob = PathGlob::new(pattern).unwrap();
            assert_eq!(glob.matches(path), expected, "{pattern} vs {path}");
        }
    }

    #[test]
    fn malformed_path_globs_are_refused() {
        for (pattern, error) in [
            ("[", GlobError::UnclosedClass),
            ("a[bc", GlobError::UnclosedClass),
            ("[]a]", GlobError::BadClass),
            ("[-]", GlobError::BadClass),
            ("[x-]", GlobError::BadClass),
            ("[-x]", GlobError::BadClass),
            ("[a-b-c]", GlobError::BadClass),
            ("[z-a]", GlobError::BadClass),
            ("\\", GlobError::TrailingEscape),
            ("ab{c,d", GlobError::UnclosedBrace),
        ] {
            assert_eq!(PathGlob::new(pattern).unwrap_err(), error, "{pattern}");
        }
        let explosive = "{a,b,c,d}".repeat(6);
        assert_eq!(
            PathGlob::new(&explosive).unwrap_err(),
            GlobError::TooManyAlternatives
        );
    }
}
