//! Helpers that build SQL text both backends accept.

/// `$first, $first+1, …`: `count` numbered placeholders for an `IN (…)` list.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_from_the_first() {
        assert_eq!(placeholders(5, 3), "$5, $6, $7");
        assert_eq!(placeholders(1, 1), "$1");
        assert_eq!(placeholders(2, 0), "");
    }
}
