//! Freight aliases: short `adjective-animal` names (`brave-otter`) that people can say out loud,
//! unique within a Project.
//!
//! Kargo draws an alias at random. gantry derives it from the Freight id instead: the same
//! Freight always gets the same first candidate, so re-running an offline discovery prints the
//! same alias, and two gantry installations agree. When the candidate is taken, the next
//! candidate comes from the id and a counter, so the probe sequence is deterministic too.

use sha1_smol::Sha1;

#[rustfmt::skip]
const ADJECTIVES: &[&str] = &[
    "agile", "amber", "ancient", "arctic", "ardent", "azure", "bashful", "bold", "brave", "breezy",
    "bright", "brisk", "bubbly", "calm", "candid", "careful", "cheerful", "chilly", "civic",
    "clever", "cloudy", "cosmic", "cozy", "crimson", "crisp", "curious", "dapper", "daring",
    "dashing", "deft", "dizzy", "dusty", "eager", "early", "earnest", "electric", "elegant",
    "epic", "fancy", "fearless", "feisty", "fierce", "fluffy", "frosty", "gentle", "giddy",
    "gleaming", "glossy", "golden", "graceful", "grumpy", "hardy", "hasty", "hazy", "hearty",
    "humble", "icy", "jolly", "jovial", "keen", "kind", "lively", "loyal", "lucky", "lunar",
    "mellow", "merry", "mighty", "misty", "modest", "nimble", "noble", "oaken", "olive", "patient",
    "peppy", "plucky", "polite", "proud", "quick", "quiet", "quirky", "radiant", "rapid", "rustic",
    "rusty", "sandy", "shiny", "silent", "silver", "sleepy", "slick", "snowy", "solar", "sparkly",
    "speedy", "spry", "steady", "stormy", "sturdy", "sunny", "swift", "tidy", "tiny", "tranquil",
    "trusty", "upbeat", "valiant", "velvet", "vivid", "wandering", "warm", "wary", "wild", "windy",
    "wise", "witty", "wobbly", "wonky", "zany", "zealous", "zesty",
];

#[rustfmt::skip]
const ANIMALS: &[&str] = &[
    "aardvark", "albatross", "alpaca", "antelope", "armadillo", "badger", "barracuda", "beaver",
    "bison", "bobcat", "buffalo", "butterfly", "camel", "capybara", "caribou", "cheetah",
    "chinchilla", "cobra", "condor", "cougar", "coyote", "crane", "cricket", "dingo", "dolphin",
    "donkey", "dragonfly", "eagle", "echidna", "eel", "egret", "elk", "falcon", "ferret", "finch",
    "flamingo", "fox", "gazelle", "gecko", "gerbil", "gibbon", "giraffe", "gopher", "gorilla",
    "grouse", "hamster", "hare", "hedgehog", "heron", "hippo", "hornet", "husky", "ibex", "iguana",
    "impala", "jackal", "jaguar", "jellyfish", "kangaroo", "kestrel", "kiwi", "koala", "lemur",
    "leopard", "llama", "lobster", "lynx", "macaw", "magpie", "manatee", "marmot", "meerkat",
    "mink", "mole", "mongoose", "moose", "narwhal", "newt", "ocelot", "octopus", "okapi",
    "opossum", "orca", "osprey", "ostrich", "otter", "owl", "panda", "panther", "parrot",
    "pelican", "penguin", "pheasant", "pika", "platypus", "puffin", "puma", "quail", "quokka",
    "rabbit", "raccoon", "raven", "reindeer", "salamander", "seahorse", "seal", "shrew", "skunk",
    "sloth", "sparrow", "squid", "stingray", "stork", "swan", "tapir", "tortoise", "toucan",
    "turtle", "urchin", "vulture", "walrus", "wallaby", "weasel", "wombat", "yak", "zebra",
];

/// How many distinct aliases exist.
pub const ALIAS_SPACE: usize = ADJECTIVES.len() * ANIMALS.len();

/// The `attempt`-th alias candidate for the Freight with this id (attempt 0 first).
pub fn candidate(freight_id: &str, attempt: u32) -> String {
    let mut hasher = Sha1::new();
    hasher.update(freight_id.as_bytes());
    hasher.update(&attempt.to_be_bytes());
    let digest = hasher.digest().bytes();
    let pick = |bytes: [u8; 4], len: usize| -> usize {
        // u32 → usize never truncates on the 32/64-bit targets gantry builds for.
        usize::try_from(u32::from_be_bytes(bytes)).map_or(0, |n| n % len)
    };
    let adjective = ADJECTIVES[pick(
        [digest[0], digest[1], digest[2], digest[3]],
        ADJECTIVES.len(),
    )];
    let animal = ANIMALS[pick([digest[4], digest[5], digest[6], digest[7]], ANIMALS.len())];
    format!("{adjective}-{animal}")
}

/// The first candidate alias that `taken` rejects not, or `None` when every one of a generous
/// number of attempts is taken (a Project with that many Freight should set aliases itself).
pub fn generate(freight_id: &str, taken: impl Fn(&str) -> bool) -> Option<String> {
    (0..4 * u32::try_from(ALIAS_SPACE).unwrap_or(u32::MAX))
        .map(|attempt| candidate(freight_id, attempt))
        .find(|alias| !taken(alias))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn word_lists_have_no_duplicates_and_only_lowercase_letters() {
        for list in [ADJECTIVES, ANIMALS] {
            let unique: BTreeSet<_> = list.iter().collect();
            assert_eq!(unique.len(), list.len());
            assert!(
                list.iter()
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
            );
        }
        const { assert!(ALIAS_SPACE > 10_000) };
    }

    #[test]
    fn the_same_freight_gets_the_same_alias() {
        let id = "452b9784cc35f56db92d6e4c1022502464951b72";
        assert_eq!(candidate(id, 0), candidate(id, 0));
        assert_ne!(candidate(id, 0), candidate(id, 1));
        let alias = generate(id, |_| false).expect("nothing is taken");
        assert_eq!(alias, candidate(id, 0));
        let (adjective, animal) = alias.split_once('-').expect("two words");
        assert!(ADJECTIVES.contains(&adjective) && ANIMALS.contains(&animal));
    }

    #[test]
    fn a_taken_alias_moves_on_to_the_next_candidate() {
        let id = "0000000000000000000000000000000000000001";
        let first = candidate(id, 0);
        let alias = generate(id, |a| a == first).expect("only one is taken");
        assert_ne!(alias, first);
        assert_eq!(alias, candidate(id, 1));
    }

    #[test]
    fn when_everything_is_taken_there_is_no_alias() {
        assert_eq!(generate("abc", |_| true), None);
    }

    #[test]
    fn aliases_of_different_freight_spread_over_the_space() {
        let distinct: BTreeSet<String> = (0..1000)
            .map(|n| candidate(&format!("{n:040x}"), 0))
            .collect();
        // 1,000 draws from ~16,000 names: a handful of birthday collisions at most.
        assert!(distinct.len() > 950, "{}", distinct.len());
    }
}
