//! Promotion names: `<stage>.<ULID>.<first 7 characters of the Freight name>`, lowercased, as
//! Kargo generates them. The ULID makes lexical order equal creation order, which is the order
//! Promotions of one Stage run in.

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const MAX_NAME: usize = 253;
const ULID_LEN: usize = 26;
const FREIGHT_PREFIX: usize = 7;

/// A ULID from a millisecond Unix timestamp (48 bits used) and 80 random bits.
pub fn ulid(unix_millis: u64, random: u128) -> String {
    let value: u128 =
        (u128::from(unix_millis & 0xFFFF_FFFF_FFFF) << 80) | (random & ((1u128 << 80) - 1));
    (0..ULID_LEN)
        .map(|i| {
            let shift = 5 * (ULID_LEN - 1 - i);
            let digit = (value >> shift) & 31;
            CROCKFORD
                .iter()
                .zip(0u128..)
                .find(|(_, i)| *i == digit)
                .map_or('0', |(c, _)| char::from(*c))
        })
        .collect()
}

/// The Promotion name for a Stage, a ULID and a Freight name.
pub fn promotion_name(stage: &str, ulid: &str, freight: &str) -> String {
    let budget = MAX_NAME - 1 - ULID_LEN - 1 - FREIGHT_PREFIX;
    let mut stage: String = stage.chars().take(budget).collect();
    while stage.ends_with(['.', '-']) {
        stage.pop();
    }
    let freight: String = freight.chars().take(FREIGHT_PREFIX).collect();
    format!("{stage}.{ulid}.{freight}").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_are_26_crockford_characters_ordered_by_time() {
        let a = ulid(1_700_000_000_000, u128::MAX);
        let b = ulid(1_700_000_000_001, 0);
        assert_eq!(a.len(), 26);
        assert!(a < b, "{a} < {b}");
        assert_eq!(ulid(0, 0), "00000000000000000000000000");
        assert_eq!(&ulid(1_469_918_176_385, 0)[..10], "01ARYZ6S41");
    }

    #[test]
    fn promotion_names_follow_kargo() {
        let name = promotion_name("Dev", "01ARYZ6S41TSV4RRFFQ69G5FAV", "abcdef0123456789");
        assert_eq!(name, "dev.01aryz6s41tsv4rrffq69g5fav.abcdef0");
        let long = format!("{}-.", "s".repeat(230));
        let name = promotion_name(&long, "01ARYZ6S41TSV4RRFFQ69G5FAV", "abc");
        assert!(name.len() <= 253);
        assert!(name.starts_with(&"s".repeat(218)));
        assert!(!name.contains("-."));
    }
}
