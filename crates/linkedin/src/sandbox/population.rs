//! The sandbox's people: a fixed universe of members generated from the world
//! seed, and searches that select from it.
//!
//! Member `i` is a pure function of `(world seed, i)`, so every sandbox account
//! with the same world seed sees the same people with the same ids, and a
//! search is a deterministic filter over the universe: the same URL always
//! yields the same people, and overlapping URLs share people.

use super::hash::{mix, mix_str, unit};
use super::vocab::{COMPANIES, FIRST_NAMES, LAST_NAMES, LOCATIONS, TITLES};
use crate::search_url::SearchQuery;
use crate::types::{Company, Person};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

/// Members in the simulated network.
pub const UNIVERSE_SIZE: u32 = 50_000;
/// LinkedIn caps classic searches at about 1,000 results and Sales Navigator at 2,500.
pub const CLASSIC_RESULT_CAP: usize = 1_000;
pub const SALES_NAVIGATOR_RESULT_CAP: usize = 2_500;
/// Searches kept in memory, so paging does not rescan the universe.
const SEARCH_CACHE_SIZE: usize = 64;

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The world: the universe of members and the searches over it.
pub struct Population {
    seed: u64,
    searches: Mutex<HashMap<String, Arc<Vec<u32>>>>,
}

/// The attributes of member `i`, before they are dressed as a [`Person`].
struct Member {
    first: &'static str,
    last: &'static str,
    title: &'static str,
    company: usize,
    location: usize,
}

impl Population {
    pub fn new(seed: u64) -> Self {
        Self { seed, searches: Mutex::new(HashMap::new()) }
    }

    fn member(&self, i: u32) -> Member {
        let h = mix(self.seed, u64::from(i));
        Member {
            first: FIRST_NAMES[(h % FIRST_NAMES.len() as u64) as usize],
            last: LAST_NAMES[((h >> 8) % LAST_NAMES.len() as u64) as usize],
            title: TITLES[((h >> 16) % TITLES.len() as u64) as usize],
            company: ((h >> 24) % COMPANIES.len() as u64) as usize,
            location: ((h >> 32) % LOCATIONS.len() as u64) as usize,
        }
    }

    /// `ACoAA` + 34 base64url characters: 6 encode the member number (masked
    /// by the seed), the rest are a checksum, so ids look like LinkedIn's and
    /// an id from another world or a typo is recognised as unknown.
    pub fn provider_id(&self, i: u32) -> String {
        let masked = u64::from(i) ^ (mix(self.seed, 0xA11CE) & 0xF_FFFF_FFFF);
        let mut id = String::from("ACoAA");
        for k in 0..6 {
            id.push(ID_ALPHABET[((masked >> (6 * k)) & 63) as usize] as char);
        }
        let mut check = mix(self.seed ^ 0x1D, u64::from(i));
        for k in 0..28 {
            if k % 10 == 0 {
                check = mix(check, k);
            }
            id.push(ID_ALPHABET[(check & 63) as usize] as char);
            check >>= 6;
        }
        id
    }

    /// The member behind a provider id or public identifier, if any.
    pub fn index_of(&self, identifier: &str) -> Option<u32> {
        if let Some(rest) = identifier.strip_prefix("ACoAA") {
            let bytes = rest.as_bytes();
            if bytes.len() != 34 {
                return None;
            }
            let mut masked = 0u64;
            for (k, b) in bytes[..6].iter().enumerate() {
                let v = ID_ALPHABET.iter().position(|c| c == b)? as u64;
                masked |= v << (6 * k);
            }
            let i = u32::try_from(masked ^ (mix(self.seed, 0xA11CE) & 0xF_FFFF_FFFF)).ok()?;
            return (i < UNIVERSE_SIZE && self.provider_id(i) == identifier).then_some(i);
        }
        // Public identifiers end in the member number in base 36.
        let tail = identifier.rsplit('-').next()?;
        let i = u32::from_str_radix(tail, 36).ok()?;
        (i < UNIVERSE_SIZE && self.public_identifier(i) == identifier).then_some(i)
    }

    pub fn public_identifier(&self, i: u32) -> String {
        let m = self.member(i);
        let slug = |s: &str| -> String {
            s.chars()
                .map(|c| match c {
                    'ü' => 'u',
                    'ö' => 'o',
                    'ä' => 'a',
                    c => c.to_ascii_lowercase(),
                })
                .filter(|c| c.is_ascii_alphanumeric())
                .collect()
        };
        format!("{}-{}-{}", slug(m.first), slug(m.last), radix36(i))
    }

    /// Member `i` as a person, seen by a viewer whose connection degree to them is `degree`.
    pub fn person(&self, i: u32, degree: Option<u8>) -> Person {
        let m = self.member(i);
        let (company_name, industry, domain) = COMPANIES[m.company];
        let public_identifier = self.public_identifier(i);
        let company_slug = company_name.to_ascii_lowercase().replace(' ', "-");
        Person {
            provider_id: self.provider_id(i),
            profile_url: format!("https://www.linkedin.com/in/{public_identifier}"),
            public_identifier,
            first_name: m.first.to_owned(),
            last_name: m.last.to_owned(),
            headline: Some(format!("{} at {company_name}", m.title)),
            title: Some(m.title.to_owned()),
            company: Some(Company {
                name: company_name.to_owned(),
                linkedin_identifier: Some(company_slug.clone()),
                linkedin_url: Some(format!("https://www.linkedin.com/company/{company_slug}")),
                industry: Some(industry.to_owned()),
                website: Some(format!("https://{domain}")),
            }),
            location: Some(LOCATIONS[m.location].0.to_owned()),
            about: Some(format!("{} in {} working on {}.", m.title, LOCATIONS[m.location].0, industry.to_lowercase())),
            photo_url: None,
            connection_degree: degree,
        }
    }

    /// A professional email for member `i`, found for about `rate` of people.
    pub fn email(&self, i: u32, rate: f64) -> Option<String> {
        if unit(mix(self.seed ^ 0xE4A1, u64::from(i))) >= rate {
            return None;
        }
        let m = self.member(i);
        let clean = |s: &str| s.to_lowercase().chars().filter(|c| c.is_ascii_alphabetic()).collect::<String>();
        Some(format!("{}.{}@{}", clean(m.first), clean(m.last), COMPANIES[m.company].2))
    }

    /// The members matching `query`, in a stable per-query order, capped like LinkedIn.
    pub fn search(&self, query: &SearchQuery) -> Arc<Vec<u32>> {
        let key = query.cache_key();
        if let Some(hit) = self.searches.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return hit.clone();
        }
        let vocabulary = vocabulary();
        let order_salt = mix_str(self.seed, &key);
        let mut matches: Vec<u32> = (0..UNIVERSE_SIZE).filter(|&i| self.matches(i, query, vocabulary)).collect();
        matches.sort_by_key(|&i| mix(order_salt, u64::from(i)));
        let cap = if query.sales_navigator { SALES_NAVIGATOR_RESULT_CAP } else { CLASSIC_RESULT_CAP };
        matches.truncate(cap);
        let result = Arc::new(matches);
        let mut cache = self.searches.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= SEARCH_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(key, result.clone());
        result
    }

    fn matches(&self, i: u32, query: &SearchQuery, vocabulary: &HashSet<String>) -> bool {
        let m = self.member(i);
        let (company, industry, _) = COMPANIES[m.company];
        let (location, geo_id) = LOCATIONS[m.location];
        let text = format!("{} {} {} {} {} {}", m.first, m.last, m.title, company, industry, location).to_lowercase();
        let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        for token in &query.keywords {
            let known = vocabulary.contains(token.as_str());
            let hit = if known {
                words.iter().any(|w| w.starts_with(token.as_str()))
            } else {
                // Words our vocabulary lacks still find a stable slice of people,
                // as free-text search on LinkedIn would.
                mix_str(u64::from(i) ^ self.seed, token).is_multiple_of(40)
            };
            if !hit {
                return false;
            }
        }
        let contains_any = |field: &str, wanted: &[String]| {
            wanted.is_empty() || wanted.iter().any(|w| field.to_lowercase().contains(w.as_str()))
        };
        contains_any(m.title, &query.titles)
            && contains_any(company, &query.companies)
            && contains_any(m.first, &query.first_names)
            && contains_any(m.last, &query.last_names)
            && (query.geo_ids.is_empty() || query.geo_ids.iter().any(|g| g == geo_id))
            && (query.locations.is_empty() || contains_any(location, &query.locations))
    }

    /// Between 20 and 150 members who commented on the post at `post_url`.
    pub fn post_commenters(&self, post_url: &str) -> Vec<u32> {
        let h = mix_str(self.seed, post_url);
        let count = 20 + (h % 131) as u32;
        let mut seen = HashSet::new();
        (0..count * 2)
            .map(|k| (mix(h, u64::from(k)) % u64::from(UNIVERSE_SIZE)) as u32)
            .filter(|i| seen.insert(*i))
            .take(count as usize)
            .collect()
    }

    /// A lead list: 30 to 90 members chosen by the list id.
    pub fn lead_list(&self, list_id: &str) -> Vec<u32> {
        self.post_commenters(&format!("lead-list:{list_id}")).into_iter().take(90).collect()
    }
}

fn radix36(mut n: u32) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Every lowercased word the generator can produce.
fn vocabulary() -> &'static HashSet<String> {
    static WORDS: OnceLock<HashSet<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut all: Vec<&str> = Vec::new();
        all.extend(FIRST_NAMES);
        all.extend(LAST_NAMES);
        all.extend(TITLES);
        all.extend(COMPANIES.iter().flat_map(|(n, i, _)| [*n, *i]));
        all.extend(LOCATIONS.iter().map(|(l, _)| *l));
        let mut words = HashSet::new();
        for phrase in all {
            for word in phrase.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                // Prefixes count too, so "eng" finds engineers.
                for end in 1..=word.chars().count() {
                    words.insert(word.chars().take(end).collect::<String>());
                }
            }
        }
        words
    })
}

/// First and last names, for naming the connected account itself.
pub const NAME_PARTS: [&[&str]; 2] = [FIRST_NAMES, LAST_NAMES];
