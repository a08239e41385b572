//! The reference part of `docs/configuration.md`, generated from the clap
//! definition so it cannot drift from the binary: every command, flag,
//! argument and environment variable, with its default and help text.
//!
//! The file keeps hand-written prose around a block between two markers; a
//! test regenerates the block and fails when the committed file differs.
//! `UPDATE_DOCS=1 cargo test -p sonarly-cli --bin sonarly docs` rewrites it.
//! (clap-markdown leaves environment variables out, hence this small walker.)

use clap::{Arg, ArgAction, Command};
use std::fmt::Write;

pub const BEGIN: &str = "<!-- BEGIN GENERATED REFERENCE (from the CLI definition; refresh with \
                         `UPDATE_DOCS=1 cargo test -p sonarly-cli --bin sonarly docs`) -->";
pub const END: &str = "<!-- END GENERATED REFERENCE -->";

/// The Markdown reference of `root` and all its subcommands.
pub fn reference(root: &Command) -> String {
    let mut out = String::new();
    let globals: Vec<&Arg> = root.get_arguments().filter(|a| shown(a) && a.is_global_set()).collect();
    let _ = writeln!(out, "### Global options\n");
    let _ = writeln!(
        out,
        "These go with any command, before or after it: `sonarly --database URL keys list` and \
         `sonarly keys list --database URL` are the same.\n"
    );
    table(&mut out, &globals);
    after_help(&mut out, root);
    for sub in root.get_subcommands() {
        command(&mut out, sub, root.get_name());
    }
    out
}

fn command(out: &mut String, cmd: &Command, parent: &str) {
    if cmd.get_name() == "help" || cmd.is_hide_set() {
        return;
    }
    let path = format!("{parent} {}", cmd.get_name());
    let args: Vec<&Arg> = cmd.get_arguments().filter(|a| shown(a)).collect();
    let has_subcommands = cmd.get_subcommands().any(|s| s.get_name() != "help");
    if !has_subcommands {
        let _ = writeln!(out, "\n### `{path}`\n");
        if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
            let _ = writeln!(out, "{}\n", sentence(&about.to_string()));
        }
        if args.is_empty() {
            let _ = writeln!(out, "No options of its own.");
        } else {
            table(out, &args);
        }
        after_help(out, cmd);
    } else if !args.is_empty() {
        // Options of a command that go with each of its subcommands (e.g. `sonarly api --json`).
        let _ = writeln!(out, "\n### `{path}` (options of every `{path} …` command)\n");
        if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
            let _ = writeln!(out, "{}\n", sentence(&about.to_string()));
        }
        table(out, &args);
    }
    for sub in cmd.get_subcommands() {
        command(out, sub, &path);
    }
}

/// Arguments a user can pass (not `--help`/`--version`, not hidden).
fn shown(arg: &Arg) -> bool {
    !arg.is_hide_set() && !matches!(arg.get_action(), ArgAction::Help | ArgAction::HelpLong | ArgAction::Version)
}

fn table(out: &mut String, args: &[&Arg]) {
    let _ = writeln!(out, "| flag or argument | environment | default | meaning |");
    let _ = writeln!(out, "|---|---|---|---|");
    for arg in args {
        let env = arg.get_env().map(|e| format!("`{}`", e.to_string_lossy())).unwrap_or_else(|| "none".into());
        let _ = writeln!(out, "| {} | {env} | {} | {} |", usage(arg), default(arg), cell(&meaning(arg)));
    }
}

fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
}

fn usage(arg: &Arg) -> String {
    match arg.get_long() {
        Some(long) if takes_value(arg) => format!("`--{long} {}`", value_name(arg)),
        Some(long) => format!("`--{long}`"),
        None => format!("`{}`", value_name(arg)),
    }
}

fn default(arg: &Arg) -> String {
    let defaults: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
    if !takes_value(arg) {
        "off".into()
    } else if !defaults.is_empty() {
        format!("`{}`", defaults.join(","))
    } else if arg.is_required_set() {
        "required".into()
    } else {
        "none".into()
    }
}

fn meaning(arg: &Arg) -> String {
    let mut text = arg.get_long_help().or(arg.get_help()).map(|h| sentence(&h.to_string())).unwrap_or_default();
    if takes_value(arg) {
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| match v.get_help() {
                Some(help) => format!("`{}` ({})", v.get_name(), lowercase_first(&one_line(&help.to_string()))),
                None => format!("`{}`", v.get_name()),
            })
            .collect();
        if !values.is_empty() {
            let _ = write!(text, " One of: {}.", values.join(", "));
        }
    }
    if matches!(arg.get_action(), ArgAction::Append) && !text.contains("repeat") {
        text.push_str(" Repeat for several.");
    }
    text
}

/// The command's `after_long_help` (settings that are not flags, such as
/// environment-only variables), as a paragraph under its table.
fn after_help(out: &mut String, cmd: &Command) {
    if let Some(text) = cmd.get_after_long_help() {
        let _ = writeln!(out, "\n{}", text.to_string().trim());
    }
}

/// One line ending with a full stop (clap drops it from one-line doc comments).
fn sentence(text: &str) -> String {
    let mut line = one_line(text);
    if !line.ends_with(['.', '!', '?']) {
        line.push('.');
    }
    line
}

fn lowercase_first(text: &str) -> String {
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text.to_owned(),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// `document` with the block between [`BEGIN`] and [`END`] replaced by `generated`.
pub fn splice(document: &str, generated: &str) -> Option<String> {
    let start = document.find(BEGIN)? + BEGIN.len();
    let end = document[start..].find(END)? + start;
    Some(format!("{}\n{}\n{}", &document[..start], generated.trim_end(), &document[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");

    #[test]
    fn docs_configuration_md_lists_every_flag_as_the_binary_defines_it() {
        let current = std::fs::read_to_string(PATH).unwrap();
        let generated = reference(&crate::Cli::command());
        let updated = splice(&current, &generated).expect("docs/configuration.md has lost its generated-block markers");
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(PATH, &updated).unwrap();
            return;
        }
        assert!(
            current == updated,
            "docs/configuration.md is stale; review and refresh it with \
             `UPDATE_DOCS=1 cargo test -p sonarly-cli --bin sonarly docs`"
        );
    }

    #[test]
    fn every_command_and_argument_has_a_help_text() {
        fn walk(cmd: &Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments().filter(|a| shown(a)) {
                if arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {}", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&crate::Cli::command(), "sonarly", &mut missing);
        assert!(missing.is_empty(), "without a help text: {missing:?}");
    }

    #[test]
    fn the_reference_names_each_setting_with_its_environment_variable_and_default() {
        let generated = reference(&crate::Cli::command());
        for line in [
            "| `--database URL` | `SONARLY_DATABASE_URL` | `sqlite://sonarly.db` |",
            "| `--lease-ms MS` | `SONARLY_LEASE_MS` | `60000` |",
            "| `--no-demo` | none | off |",
            "| `--unipile-api-key KEY` | `SONARLY_UNIPILE_API_KEY` | none |",
            "| `--group ID` | none | required |",
        ] {
            assert!(generated.contains(line), "missing {line} in:\n{generated}");
        }
        for heading in
            ["### `sonarly groups set-plan`", "### `sonarly groups add-credits`", "### `sonarly linkedin connect`"]
        {
            assert!(generated.contains(heading), "missing {heading}");
        }
        assert!(splice("a\nb", &generated).is_none(), "no markers, no splice");
        let spliced = splice(&format!("intro\n{BEGIN}\nold\n{END}\noutro"), "new").unwrap();
        assert_eq!(spliced, format!("intro\n{BEGIN}\nnew\n{END}\noutro"));
    }
}
