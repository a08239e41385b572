//! Helpers that build SQL text both backends accept, and that read columns
//! holding one value of a closed set.

use sonarly_domain::state::UnknownValue;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A text column holding one value of a closed set (a status, a channel, a
/// type): a stored value `parse` refuses is a decoding error that names it.
pub(crate) fn one_of<T>(
    row: &AnyRow,
    column: &str,
    parse: fn(&str) -> Result<T, UnknownValue>,
) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    parse(&text).map_err(|e| sqlx::Error::Decode(format!("column {column}: {e}").into()))
}

/// [`one_of`] for a nullable column.
pub(crate) fn opt_one_of<T>(
    row: &AnyRow,
    column: &str,
    parse: fn(&str) -> Result<T, UnknownValue>,
) -> Result<Option<T>, sqlx::Error> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| parse(&t).map_err(|e| sqlx::Error::Decode(format!("column {column}: {e}").into()))).transpose()
}

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
