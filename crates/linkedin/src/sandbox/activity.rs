//! What sandbox members did recently: posts, comments, job changes, and their
//! company's job postings, news and funding rounds.
//!
//! Every event is a pure function of the world seed and a fixed calendar:
//! time is cut into weeks (quarters for funding), and a hash of (seed, person
//! or company, source, week) decides whether something happened that week,
//! when, and what it says. So a member's history is the same on every machine
//! and after every restart, events shared by a company are the same for all
//! its employees, and new events appear as the injected clock moves past them.
//! Only events dated before "now" and within [`WINDOW_MS`] are visible.

use super::hash::{between, mix, mix_str, unit};
use super::population::Population;
use super::vocab::{COMPANIES, LOCATIONS, TITLES};
use crate::types::{ActivityItem, Person};
use sonarly_domain::Timestamp;
use sonarly_domain::template::SignalSource;

const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
const QUARTER_MS: i64 = 13 * WEEK_MS;
/// How far back activity is visible (LinkedIn shows about six months of activity).
pub const WINDOW_MS: i64 = 180 * DAY_MS;
/// At most this many items are returned, newest first.
pub const MAX_ITEMS: usize = 40;
/// Job changes (a member's current role) start between this instant (2024-01-01) and 1,000 days later.
const ROLE_ANCHOR_MS: i64 = 1_704_067_200_000;

/// Salts, so each decision uses an independent hash.
const POSTS: u64 = 0x9057;
const COMMENTS: u64 = 0xC033;
const ROLE: u64 = 0x7013;
const HIRING: u64 = 0x41E1;
const NEWS_SALT: u64 = 0x4E35;
const FUNDING: u64 = 0xF0AD;

/// Broad job functions, each with the topics its people write about.
const FUNCTIONS: &[(&[&str], &[&str])] = &[
    (
        &["data", "machine learning"],
        &[
            "data pipelines with dbt and Airflow",
            "evaluating LLM features in production",
            "real-time analytics for product teams",
            "data quality monitoring",
            "building a feature store",
            "deploying machine learning models safely",
            "the modern data stack and its costs",
        ],
    ),
    (
        &["engineer", "devops", "reliability", "architect", "security"],
        &[
            "scaling our platform to millions of requests",
            "migrating a monolith to microservices",
            "Kubernetes cost optimisation",
            "developer productivity and faster CI pipelines",
            "on-call and incident response",
            "hiring senior backend engineers",
            "Rust in production",
            "observability and distributed tracing",
            "SOC 2 compliance for a growing startup",
            "AI coding assistants in our engineering workflow",
        ],
    ),
    (
        &["product", "designer", "ux"],
        &[
            "product discovery interviews",
            "pricing experiments",
            "product-led growth onboarding",
            "design systems that scale",
            "roadmap prioritisation",
            "user research at scale",
            "shipping AI features customers trust",
        ],
    ),
    (
        &["sales", "account executive", "business development"],
        &[
            "outbound prospecting that actually works",
            "shortening enterprise sales cycles",
            "sales pipeline forecasting",
            "social selling on LinkedIn",
            "CRM hygiene and sales operations",
            "hiring and ramping SDRs",
            "personalised outreach at scale",
        ],
    ),
    (
        &["marketing", "growth", "content"],
        &[
            "content marketing ROI",
            "demand generation for B2B SaaS",
            "brand positioning",
            "SEO for B2B companies",
            "community-led growth",
            "webinar funnels that convert",
            "marketing attribution",
        ],
    ),
    (
        &["customer success"],
        &[
            "customer retention and churn",
            "customer onboarding playbooks",
            "expansion revenue from existing accounts",
            "measuring customer health",
            "scaling a customer success team",
        ],
    ),
    (
        &["talent", "people", "operations"],
        &[
            "remote team culture",
            "hiring and onboarding at scale",
            "employee engagement",
            "compensation benchmarks",
            "building an internal recruiting team",
            "operational excellence in a scale-up",
        ],
    ),
    (
        &["founder", "ceo"],
        &[
            "fundraising lessons from our last round",
            "building a leadership team",
            "expanding into new markets",
            "company culture at 100 people",
            "profitable growth",
        ],
    ),
];

const POST_TITLES: &[&str] = &[
    "{Topic}: what we learned",
    "Lessons from a year of {topic}",
    "Why {topic} matters more than ever",
    "A few thoughts on {topic}",
    "We got {topic} wrong. Here is what changed.",
    "{Topic}, one year later",
];

const OPENERS: &[&str] = &[
    "This quarter at {company} we spent a lot of time on {topic}.",
    "After a year of working on {topic}, a few notes.",
    "Quick reflection on {topic}.",
    "Three things I learned about {topic} this month.",
    "Our team at {company} just shipped a big change around {topic}.",
    "Everyone in {industry} is talking about {topic}, so here is our experience.",
];

const MIDDLES: &[&str] = &[
    "The biggest surprise was how much it depended on the team, not the tools.",
    "We measured everything, and the numbers moved faster than expected.",
    "It took longer than planned, but the results speak for themselves.",
    "The hardest part was getting everyone aligned on priorities.",
    "Small, boring improvements added up to a big difference.",
    "We are now hiring to double down on it.",
];

const CLOSINGS: &[&str] = &[
    "How are you approaching this?",
    "Curious how other teams in {industry} handle it.",
    "Happy to share our playbook if useful.",
    "What would you have done differently?",
    "Comments open, I read all of them.",
];

const REPLY_ASPECTS: &[&str] =
    &["the tooling", "how long it took", "team size and budget", "the results", "how to get started", "hiring for it"];

const COMMENTS_TEXT: &[&str] = &[
    "Great point about {topic}. We saw the same thing at {company}.",
    "Totally agree, {topic} is underrated.",
    "Interesting take. How did you measure the impact of {topic}?",
    "We tried this last year; {topic} made the biggest difference for us.",
    "Saving this. {Topic} is on our roadmap for next quarter.",
    "Strong disagree on one point: {topic} only works with leadership buy-in.",
];

const HEADLINES: &[&str] = &[
    "{company} launches a new platform for {industry} teams",
    "{company} opens a new office in {city}",
    "{company} named one of the best places to work this year",
    "{company} partners with {partner}",
    "{company} publishes its annual {industry} report",
    "{company} appoints a new Chief Technology Officer",
    "{company} crosses 1,000 customers",
];

const ROUNDS: &[(&str, i64, i64)] =
    &[("Seed round", 2, 6), ("Series A", 8, 25), ("Series B", 25, 80), ("Series C", 60, 200)];

const INVESTORS: &[&str] = &["Pinecrest Capital", "Northstar Ventures", "Blue Harbor Partners", "Alpine Growth Fund"];

/// Fills `{topic}` (and `{Topic}` capitalised), `{company}`, `{industry}`, `{city}`, `{partner}`.
fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
        let mut cap = name.chars();
        if let Some(first) = cap.next() {
            let capitalised: String = first.to_uppercase().chain(cap).collect();
            out = out.replace(&format!("{{{capitalised}}}"), &capitalise(value));
        }
    }
    out
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn pick<'a>(list: &'a [&'a str], h: u64) -> &'a str {
    list[(h % list.len() as u64) as usize]
}

/// A LinkedIn-shaped activity number (19 digits).
fn activity_number(h: u64) -> u64 {
    7_100_000_000_000_000_000 + h % 900_000_000_000_000_000
}

fn topics_for(title: &str) -> &'static [&'static str] {
    let title = title.to_lowercase();
    FUNCTIONS
        .iter()
        .find(|(keys, _)| keys.iter().any(|k| title.contains(k)))
        .map_or(FUNCTIONS[FUNCTIONS.len() - 1].1, |(_, topics)| *topics)
}

/// The weekly (or quarterly) buckets overlapping `[now - WINDOW_MS, now]`.
fn buckets(now: i64, size: i64) -> impl Iterator<Item = i64> {
    let first = (now - WINDOW_MS).div_euclid(size);
    let last = now.div_euclid(size);
    first..=last
}

/// An instant inside bucket `b`, or `None` when it is not in the visible window.
fn instant_in(b: i64, size: i64, h: u64, now: i64) -> Option<Timestamp> {
    let at = b * size + between(h, 0, size - 60_000);
    (at <= now && at > now - WINDOW_MS).then(|| Timestamp::from_millis(at))
}

/// Everything member `i` (and their company) did in the visible window before `now`, newest first.
pub fn recent(population: &Population, seed: u64, i: u32, now: Timestamp) -> Vec<ActivityItem> {
    let person = population.person(i, None);
    let now = now.as_millis();
    let mut items = Vec::new();
    posts(&mut items, &person, seed, i, now);
    comments(&mut items, &person, seed, i, now, population);
    job_change(&mut items, &person, seed, i, now);
    if let Some(company) = person.company.as_ref() {
        company_events(&mut items, &company.name, company.industry.as_deref().unwrap_or(""), seed, now);
    }
    items.sort_by(|a, b| b.occurred_at.cmp(&a.occurred_at).then(a.id.cmp(&b.id)));
    items.truncate(MAX_ITEMS);
    items
}

fn posts(items: &mut Vec<ActivityItem>, person: &Person, seed: u64, i: u32, now: i64) {
    let who = mix(seed ^ POSTS, u64::from(i));
    // About one person in three never posts (the same people `react_to_recent_post` finds no post for).
    if who.is_multiple_of(3) {
        return;
    }
    let rate = 0.12 + 0.5 * unit(mix(who, 1));
    let topics = topics_for(person.title.as_deref().unwrap_or(""));
    let company = person.company.as_ref().map_or("my company", |c| c.name.as_str());
    let industry = person.company.as_ref().and_then(|c| c.industry.as_deref()).unwrap_or("our industry");
    let industry = industry.to_lowercase();
    let audience = 1 + (mix(who, 2) % 40) as u32;
    for b in buckets(now, WEEK_MS) {
        let h = mix(who, b as u64);
        if unit(h) >= rate {
            continue;
        }
        let Some(at) = instant_in(b, WEEK_MS, mix(h, 3), now) else { continue };
        let topic = pick(topics, mix(h, 4));
        let vars = [("topic", topic), ("company", company), ("industry", industry.as_str())];
        let title = render(pick(POST_TITLES, mix(h, 5)), &vars);
        let text = [pick(OPENERS, mix(h, 6)), pick(MIDDLES, mix(h, 7)), pick(CLOSINGS, mix(h, 8))]
            .map(|t| render(t, &vars))
            .join(" ");
        let likes = (mix(h, 9) % u64::from(audience * 12 + 5)) as u32;
        let total_comments = (mix(h, 10) % u64::from(audience + 3)) as u32;
        let reply_summary = (total_comments > 0).then(|| {
            format!(
                "{total_comments} {}; people mostly asked about {} and shared their own experience with {topic}.",
                if total_comments == 1 { "reply" } else { "replies" },
                pick(REPLY_ASPECTS, mix(h, 11))
            )
        });
        let urn = format!("urn:li:activity:{}", activity_number(mix(h, 12)));
        items.push(ActivityItem {
            post_link: Some(format!("https://www.linkedin.com/feed/update/{urn}")),
            id: urn,
            source: SignalSource::LinkedinPosts,
            title: Some(title),
            text,
            occurred_at: at,
            total_likes: Some(likes),
            total_comments: Some(total_comments),
            reply_summary,
            comment_link: None,
            job_url: None,
            company_name: Some(company.to_owned()),
        });
    }
}

fn comments(items: &mut Vec<ActivityItem>, person: &Person, seed: u64, i: u32, now: i64, population: &Population) {
    let who = mix(seed ^ COMMENTS, u64::from(i));
    // About one person in five never comments.
    if who.is_multiple_of(5) {
        return;
    }
    let rate = 0.1 + 0.6 * unit(mix(who, 1));
    let topics = topics_for(person.title.as_deref().unwrap_or(""));
    let company = person.company.as_ref().map_or("my company", |c| c.name.as_str());
    for b in buckets(now, WEEK_MS) {
        let h = mix(who, b as u64);
        if unit(h) >= rate {
            continue;
        }
        let Some(at) = instant_in(b, WEEK_MS, mix(h, 3), now) else { continue };
        let topic = pick(topics, mix(h, 4));
        let author = population.person((mix(h, 5) % u64::from(super::UNIVERSE_SIZE)) as u32, None);
        let vars = [("topic", topic), ("company", company)];
        let post_urn = format!("urn:li:activity:{}", activity_number(mix(h, 6)));
        let comment_id = 7_200_000_000_000_000_000 + mix(h, 7) % 700_000_000_000_000_000;
        let post_number = post_urn.trim_start_matches("urn:li:activity:").to_owned();
        items.push(ActivityItem {
            id: format!("comment:{comment_id}"),
            source: SignalSource::LinkedinComments,
            title: Some(format!("{}'s post about {topic}", author.full_name())),
            text: render(pick(COMMENTS_TEXT, mix(h, 8)), &vars),
            occurred_at: at,
            post_link: Some(format!("https://www.linkedin.com/feed/update/{post_urn}")),
            total_likes: Some((mix(h, 9) % 25) as u32),
            total_comments: Some((mix(h, 10) % 4) as u32),
            reply_summary: None,
            comment_link: Some(format!(
                "https://www.linkedin.com/feed/update/{post_urn}?commentUrn=urn%3Ali%3Acomment%3A%28activity%3A{post_number}%2C{comment_id}%29"
            )),
            job_url: None,
            company_name: None,
        });
    }
}

/// The member's current role started on a fixed day; it is a job change while it is recent.
fn job_change(items: &mut Vec<ActivityItem>, person: &Person, seed: u64, i: u32, now: i64) {
    let h = mix(seed ^ ROLE, u64::from(i));
    let started = ROLE_ANCHOR_MS + between(h, 0, 1_000) * DAY_MS + between(mix(h, 1), 0, DAY_MS - 1);
    if started > now || started <= now - WINDOW_MS {
        return;
    }
    let (Some(title), Some(company)) = (person.title.as_deref(), person.company.as_ref()) else { return };
    let previous = pick(TITLES, mix(h, 2));
    let previous_company = COMPANIES[(mix(h, 3) % COMPANIES.len() as u64) as usize].0;
    items.push(ActivityItem {
        id: format!("position:{}", 2_000_000_000 + mix(h, 4) % 7_000_000_000),
        source: SignalSource::JobChanges,
        title: Some(title.to_owned()),
        text: format!(
            "Started a new position as {title} at {}, after working as {previous} at {previous_company}.",
            company.name
        ),
        occurred_at: Timestamp::from_millis(started),
        post_link: None,
        total_likes: None,
        total_comments: None,
        reply_summary: None,
        comment_link: None,
        job_url: Some(format!("https://www.linkedin.com/in/{}/details/experience/", person.public_identifier)),
        company_name: Some(company.name.clone()),
    });
}

/// Job postings, news and funding of a company: the same for every employee.
fn company_events(items: &mut Vec<ActivityItem>, company: &str, industry: &str, seed: u64, now: i64) {
    let key = mix_str(seed, company);
    let slug = company.to_ascii_lowercase().replace(' ', "-");
    let industry_lower = industry.to_lowercase();
    for b in buckets(now, WEEK_MS) {
        let h = mix(key ^ HIRING, b as u64);
        if unit(h) < 0.3
            && let Some(at) = instant_in(b, WEEK_MS, mix(h, 1), now)
        {
            let role = pick(TITLES, mix(h, 2));
            let city = LOCATIONS[(mix(h, 3) % LOCATIONS.len() as u64) as usize].0;
            let job = 3_900_000_000 + mix(h, 4) % 900_000_000;
            items.push(ActivityItem {
                id: format!("job:{job}"),
                source: SignalSource::Hiring,
                title: Some(role.to_owned()),
                text: format!(
                    "{company} is hiring a {role} in {city}. The team is growing to support new {industry_lower} customers."
                ),
                occurred_at: at,
                post_link: None,
                total_likes: None,
                total_comments: None,
                reply_summary: None,
                comment_link: None,
                job_url: Some(format!("https://www.linkedin.com/jobs/view/{job}")),
                company_name: Some(company.to_owned()),
            });
        }
        let h = mix(key ^ NEWS_SALT, b as u64);
        if unit(h) < 0.2
            && let Some(at) = instant_in(b, WEEK_MS, mix(h, 1), now)
        {
            let city = LOCATIONS[(mix(h, 2) % LOCATIONS.len() as u64) as usize].0;
            let partner = COMPANIES[(mix(h, 3) % COMPANIES.len() as u64) as usize].0;
            let partner = if partner == company { "a global systems integrator" } else { partner };
            let vars =
                [("company", company), ("industry", industry_lower.as_str()), ("city", city), ("partner", partner)];
            let headline = render(pick(HEADLINES, mix(h, 4)), &vars);
            let urn = format!("urn:li:activity:{}", activity_number(mix(h, 5)));
            items.push(ActivityItem {
                text: format!("{headline}. Read the full announcement on the {company} LinkedIn page."),
                title: Some(headline),
                post_link: Some(format!("https://www.linkedin.com/feed/update/{urn}")),
                id: urn,
                source: SignalSource::CompanyNews,
                occurred_at: at,
                total_likes: Some((mix(h, 6) % 800) as u32),
                total_comments: Some((mix(h, 7) % 60) as u32),
                reply_summary: None,
                comment_link: None,
                job_url: None,
                company_name: Some(company.to_owned()),
            });
        }
    }
    for b in buckets(now, QUARTER_MS) {
        let h = mix(key ^ FUNDING, b as u64);
        if unit(h) >= 0.12 {
            continue;
        }
        let Some(at) = instant_in(b, QUARTER_MS, mix(h, 1), now) else { continue };
        let (round, min, max) = ROUNDS[(mix(h, 2) % ROUNDS.len() as u64) as usize];
        let amount = between(mix(h, 3), min, max);
        let investor = pick(INVESTORS, mix(h, 4));
        let urn = format!("urn:li:activity:{}", activity_number(mix(h, 5)));
        items.push(ActivityItem {
            title: Some(format!("{company} raises ${amount}M {round}")),
            text: format!(
                "{company} raised ${amount}M in a {round} led by {investor} to accelerate growth and hiring in {industry_lower}."
            ),
            post_link: Some(format!("https://www.linkedin.com/company/{slug}/posts/?feedView=all#{urn}")),
            id: urn,
            source: SignalSource::Funding,
            occurred_at: at,
            total_likes: Some((mix(h, 6) % 2_000) as u32),
            total_comments: Some((mix(h, 7) % 150) as u32),
            reply_summary: None,
            comment_link: None,
            job_url: None,
            company_name: Some(company.to_owned()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    #[test]
    fn histories_are_stable_varied_and_before_now() {
        let population = Population::new(42);
        let now = Timestamp::from_millis(NOW);
        let mut sources = std::collections::HashSet::new();
        let mut sizes = std::collections::HashSet::new();
        for i in 0..200 {
            let items = recent(&population, 42, i, now);
            assert_eq!(items, recent(&population, 42, i, now), "stable for member {i}");
            assert!(items.len() <= MAX_ITEMS);
            for w in items.windows(2) {
                assert!(w[0].occurred_at >= w[1].occurred_at, "newest first");
            }
            for item in &items {
                assert!(item.occurred_at.as_millis() <= NOW && item.occurred_at.as_millis() > NOW - WINDOW_MS);
                assert!(!item.text.contains('{'), "{}", item.text);
                sources.insert(item.source);
            }
            sizes.insert(items.len());
        }
        assert_eq!(sources.len(), SignalSource::ALL.len(), "every source appears somewhere");
        assert!(sizes.len() > 10, "histories differ in size: {sizes:?}");
    }

    #[test]
    fn time_reveals_new_items_and_keeps_old_ones() {
        let population = Population::new(7);
        let earlier = recent(&population, 7, 11, Timestamp::from_millis(NOW));
        let later = recent(&population, 7, 11, Timestamp::from_millis(NOW + 14 * DAY_MS));
        let cutoff = NOW + 14 * DAY_MS - WINDOW_MS;
        for item in earlier.iter().filter(|i| i.occurred_at.as_millis() > cutoff) {
            assert!(later.contains(item), "{item:?} disappeared");
        }
    }

    #[test]
    fn colleagues_share_company_events() {
        let population = Population::new(42);
        let now = Timestamp::from_millis(NOW);
        let company = |i: u32| population.person(i, None).company.unwrap().name;
        let a = 0;
        let b = (1..5_000).find(|&j| company(j) == company(a)).unwrap();
        let shared = |i: u32| -> Vec<ActivityItem> {
            recent(&population, 42, i, now)
                .into_iter()
                .filter(|x| {
                    matches!(x.source, SignalSource::Hiring | SignalSource::CompanyNews | SignalSource::Funding)
                })
                .collect()
        };
        let (sa, sb) = (shared(a), shared(b));
        // Both lists are truncated newest first, so compare what both kept.
        let common = sa.len().min(sb.len());
        assert_eq!(sa[..common], sb[..common]);
    }
}
