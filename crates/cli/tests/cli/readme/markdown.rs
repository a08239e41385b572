//! Just enough Markdown and shell to read the README as a script: `##`
//! sections, fenced blocks with their language, the paragraph before each
//! block and the block right after it (the answer it shows), and shell blocks
//! split into commands the way bash would (quotes, `\` continuations,
//! `$( … )` spanning lines, comments).

/// One fenced block.
#[derive(Debug, Clone)]
pub struct Block {
    /// The `##` heading it sits under.
    pub section: String,
    /// The first word of the fence's info string (`sh`, `json`, `text`).
    pub lang: String,
    pub text: String,
    /// 1-based line of the block's first content line.
    pub line: usize,
    /// The last paragraph of prose before the block.
    pub prose: String,
    /// Index (in the block list) of a block that follows with only blank lines between: the answer shown.
    pub answer: Option<usize>,
}

pub fn blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks: Vec<Block> = Vec::new();
    let mut section = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut last_paragraph = String::new();
    // Only blank lines since the previous block ended.
    let mut adjacent_to: Option<usize> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if !paragraph.is_empty() {
                last_paragraph = paragraph.join("\n");
                paragraph.clear();
            }
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && lines[end].trim() != "```" {
                end += 1;
            }
            let index = blocks.len();
            if let Some(previous) = adjacent_to {
                blocks[previous].answer = Some(index);
            }
            blocks.push(Block {
                section: section.clone(),
                lang: info.split_whitespace().next().unwrap_or("").to_owned(),
                text: lines[start..end.min(lines.len())].join("\n"),
                line: start + 1,
                prose: std::mem::take(&mut last_paragraph),
                answer: None,
            });
            adjacent_to = Some(index);
            i = end + 1;
            continue;
        }
        if trimmed.is_empty() {
            if !paragraph.is_empty() {
                last_paragraph = paragraph.join("\n");
                paragraph.clear();
            }
        } else {
            adjacent_to = None;
            if let Some(title) = line.strip_prefix("## ") {
                section = title.trim().to_owned();
                last_paragraph.clear();
                paragraph.clear();
            } else {
                paragraph.push(line);
            }
        }
        i += 1;
    }
    blocks
}

/// One shell command of a block, as bash would group it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command, continuation lines included, without its trailing comment.
    pub text: String,
    /// A `# …` comment on the command's last line.
    pub comment: Option<String>,
    /// 1-based README line where the command starts.
    pub line: usize,
}

/// Splits a shell block into commands: a newline ends a command unless it is
/// inside quotes or `$( … )`, or follows a `\`. Whole-line comments are dropped.
pub fn commands(block: &str, first_line: usize) -> Vec<Command> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut comment = None;
    let mut start = first_line;
    let (mut single, mut double, mut depth) = (false, false, 0usize);
    for (n, line) in block.lines().enumerate() {
        let continuing = single || double || depth > 0 || text.ends_with("\\\n");
        if !continuing && text.is_empty() {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            start = first_line + n;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut k = 0;
        while k < chars.len() {
            let c = chars[k];
            if single {
                single = c != '\'';
            } else if c == '\\' && k + 1 < chars.len() {
                text.push(c);
                k += 1;
                text.push(chars[k]);
                k += 1;
                continue;
            } else if double {
                double = c != '"';
            } else {
                match c {
                    '\'' => single = true,
                    '"' => double = true,
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    '#' if text.is_empty() || text.ends_with(char::is_whitespace) => {
                        let rest: String = chars[k..].iter().collect();
                        if depth == 0 {
                            comment = Some(rest.trim_start_matches('#').trim().to_owned());
                        }
                        break;
                    }
                    _ => {}
                }
            }
            text.push(c);
            k += 1;
        }
        let open = single || double || depth > 0 || text.ends_with('\\');
        text.push('\n');
        if !open {
            let finished = text.trim().to_owned();
            if !finished.is_empty() {
                out.push(Command { text: finished, comment: comment.take(), line: start });
            }
            text.clear();
        }
    }
    if !text.trim().is_empty() {
        out.push(Command { text: text.trim().to_owned(), comment, line: start });
    }
    out
}

#[test]
fn shell_blocks_split_into_commands_like_bash() {
    let block = "# a comment\ncurl -s \"$BASE/x\" \\\n  -d '{\"a\":\n  1}'\nexport ID=6b09…   # data.id\n\
                 export P=$(for i in 1 2; do\n  echo \"$i\"\ndone)\necho '#not a comment' # but this is";
    let got = commands(block, 10);
    let texts: Vec<&str> = got.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "curl -s \"$BASE/x\" \\\n  -d '{\"a\":\n  1}'",
            "export ID=6b09…",
            "export P=$(for i in 1 2; do\n  echo \"$i\"\ndone)",
            "echo '#not a comment'"
        ]
    );
    assert_eq!(got[0].line, 11);
    assert_eq!(got[1].comment.as_deref(), Some("data.id"));
    assert_eq!(got[2].line, 15);
    assert_eq!(got[3].comment.as_deref(), Some("but this is"));
}

#[test]
fn blocks_know_their_section_prose_and_answer() {
    let md =
        "## One\n\nSome text.\nIs a 400 `X`:\n\n```sh\ncurl a\n```\n\n```json\n{}\n```\n\nOther.\n\n```sh\nb\n```\n";
    let got = blocks(md);
    assert_eq!(got.len(), 3);
    assert_eq!((got[0].section.as_str(), got[0].lang.as_str(), got[0].line), ("One", "sh", 7));
    assert_eq!(got[0].prose, "Some text.\nIs a 400 `X`:");
    assert_eq!(got[0].answer, Some(1));
    assert_eq!(got[1].answer, None, "prose separates the json block from the next one");
    assert_eq!(got[2].prose, "Other.");
}
