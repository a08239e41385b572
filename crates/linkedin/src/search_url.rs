//! Reading LinkedIn search URLs, classic and Sales Navigator: the grammar of LinkedIn's own URLs,
//! used to check a search before a job starts and by the sandbox to answer it.
//!
//! Classic: `https://www.linkedin.com/search/results/people/?keywords=…&titleFreeText=…
//! &company=…&geoUrn=["103035651"]`. Sales Navigator: `https://www.linkedin.com/sales/search/people?
//! query=(keywords%3Asoftware%20engineer)` (its facets sit inside the `query` parameter).

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    pub sales_navigator: bool,
    pub keywords: Vec<String>,
    pub titles: Vec<String>,
    pub companies: Vec<String>,
    pub first_names: Vec<String>,
    pub last_names: Vec<String>,
    pub geo_ids: Vec<String>,
    pub locations: Vec<String>,
}

impl SearchQuery {
    /// A canonical form: URLs that mean the same search share results.
    pub fn cache_key(&self) -> String {
        format!(
            "sn={}|k={}|t={}|c={}|f={}|l={}|g={}|loc={}",
            self.sales_navigator,
            self.keywords.join(" "),
            self.titles.join(","),
            self.companies.join(","),
            self.first_names.join(","),
            self.last_names.join(","),
            self.geo_ids.join(","),
            self.locations.join(",")
        )
    }
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

fn list(text: &str) -> Vec<String> {
    // Facets come as `a,b`, `["a","b"]` or `List(a,b)`.
    text.trim_start_matches("List(")
        .trim_end_matches(')')
        .split(',')
        .map(|s| s.trim_matches(|c: char| c == '[' || c == ']' || c == '"' || c.is_whitespace()).to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parses a people-search URL; `Err` says what is wrong with it.
pub fn parse_search_url(text: &str) -> Result<SearchQuery, String> {
    let url = Url::parse(text.trim()).map_err(|_| "is not a valid URL".to_owned())?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("must be an http(s) LinkedIn URL".into());
    }
    let host = url.host_str().unwrap_or("");
    if host != "linkedin.com" && !host.ends_with(".linkedin.com") {
        return Err("must be a linkedin.com URL".into());
    }
    let path = url.path().trim_end_matches('/');
    let mut query = SearchQuery::default();
    if path == "/search/results/people" {
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "keywords" => query.keywords = words(&value),
                "titleFreeText" | "title" => query.titles = list(&value),
                "company" | "companyFreeText" => query.companies = list(&value),
                "firstName" => query.first_names = list(&value),
                "lastName" => query.last_names = list(&value),
                "geoUrn" => query.geo_ids = list(&value),
                _ => {}
            }
        }
    } else if path == "/sales/search/people" {
        query.sales_navigator = true;
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "keywords" => query.keywords = words(&value),
                "query" => parse_sales_navigator_query(&value, &mut query),
                _ => {}
            }
        }
    } else {
        return Err("must be a LinkedIn people search (/search/results/people) or Sales Navigator lead search \
                    (/sales/search/people) URL"
            .into());
    }
    Ok(query)
}

/// Sales Navigator's `query=(keywords:cto,filters:List((type:CURRENT_TITLE,values:List((text:CTO)))))`:
/// we read keywords and the `text:` values of title, company and region filters.
fn parse_sales_navigator_query(value: &str, query: &mut SearchQuery) {
    if let Some(start) = value.find("keywords:") {
        let rest = &value[start + "keywords:".len()..];
        let end = rest.find([',', ')']).unwrap_or(rest.len());
        query.keywords = words(&rest[..end]);
    }
    for (filter, target) in [
        ("CURRENT_TITLE", &mut query.titles),
        ("CURRENT_COMPANY", &mut query.companies),
        ("REGION", &mut query.locations),
    ] {
        if let Some(start) = value.find(&format!("type:{filter}")) {
            let rest = &value[start..];
            let end = rest.find("type:").and_then(|_| rest[5..].find("type:").map(|e| e + 5)).unwrap_or(rest.len());
            let section = &rest[..end];
            let mut found = Vec::new();
            for part in section.split("text:").skip(1) {
                let stop = part.find([',', ')']).unwrap_or(part.len());
                let text = part[..stop].trim().to_lowercase();
                if !text.is_empty() {
                    found.push(text);
                }
            }
            *target = found;
        }
    }
}

/// Checks a post URL (`/posts/…` or `/feed/update/urn:li:activity:…`).
pub fn check_post_url(text: &str) -> Result<(), String> {
    let url = Url::parse(text.trim()).map_err(|_| "is not a valid URL".to_owned())?;
    let host = url.host_str().unwrap_or("");
    if host != "linkedin.com" && !host.ends_with(".linkedin.com") {
        return Err("must be a linkedin.com URL".into());
    }
    let path = url.path();
    if path.starts_with("/posts/") || path.starts_with("/feed/update/") {
        Ok(())
    } else {
        Err("must be a LinkedIn post URL (/posts/… or /feed/update/urn:li:activity:…)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_classic_urls() {
        let q = parse_search_url(
            "https://www.linkedin.com/search/results/people/?keywords=software%20engineer&geoUrn=%5B%22103035651%22%5D",
        )
        .unwrap();
        assert_eq!(q.keywords, ["software", "engineer"]);
        assert_eq!(q.geo_ids, ["103035651"]);
        assert!(!q.sales_navigator);
    }

    #[test]
    fn reads_sales_navigator_urls() {
        let q = parse_search_url(
            "https://www.linkedin.com/sales/search/people?query=(keywords%3Acto%2Cfilters%3AList((type%3ACURRENT_TITLE%2Cvalues%3AList((text%3AHead%20of%20Sales)))))",
        )
        .unwrap();
        assert!(q.sales_navigator);
        assert_eq!(q.keywords, ["cto"]);
        assert_eq!(q.titles, ["head of sales"]);
    }

    #[test]
    fn refuses_other_urls() {
        assert!(parse_search_url("https://example.com/search/results/people/?keywords=x").is_err());
        assert!(parse_search_url("https://www.linkedin.com/in/someone").is_err());
        assert!(parse_search_url("not a url").is_err());
        assert!(check_post_url("https://www.linkedin.com/posts/someone_activity-123").is_ok());
        assert!(check_post_url("https://www.linkedin.com/in/someone").is_err());
    }
}
