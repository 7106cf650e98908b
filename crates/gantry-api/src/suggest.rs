//! "Did you mean" suggestions.

/// The candidate most similar to `word`, if any is close enough: an exact match ignoring case
/// and `-`/`_`, else the best Jaro-Winkler score of at least 0.8.
pub fn similar<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let folded = fold(word);
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        if fold(candidate) == folded {
            return Some(candidate);
        }
        let score = strsim::jaro_winkler(&word.to_lowercase(), &candidate.to_lowercase());
        if score >= 0.8 && best.is_none_or(|(best_score, _)| score > best_score) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

fn fold(word: &str) -> String {
    word.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(similar("repoUrl", ["repoURL", "branch"]), Some("repoURL"));
        assert_eq!(
            similar("yaml-updte", ["yaml-update", "yaml-parse"]),
            Some("yaml-update")
        );
        assert_eq!(similar("zzz", ["repoURL", "branch"]), None);
    }
}
